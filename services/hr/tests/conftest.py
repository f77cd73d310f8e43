"""Fixtures of the hr service's tests: a fresh migrated database, and the service itself
served over real HTTP on real Kafka, with a clock the tests control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from club_contracts import (
    AttendanceClocked,
    ComplaintOpened,
    ComplaintResolved,
    FollowupCompleted,
    IncidentReported,
    ServiceDelivered,
    SurveySubmitted,
    VisitCompleted,
)
from club_platform.clock import FixedClock
from club_platform.kafka import KafkaConnection, partitions_of
from club_platform.migrations import upgrade_async
from club_platform.testing import client, serve_app, start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name

from club_hr.app import build_app
from club_hr.handlers import consumer
from club_hr.settings import HrSettings

SERVICE_ROOT = Path(__file__).resolve().parents[1]

CLUB_ZONE_NAME = "Asia/Shanghai"
CLUB_ZONE = ZoneInfo(CLUB_ZONE_NAME)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_database(database_factory) -> str:
    url = await database_factory.create("hr")
    await upgrade_async(SERVICE_ROOT, url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_settings(hr_database, kafka_connection, jwt_secret) -> HrSettings:
    group = unique_name("hr-test")
    await start_group_at_end(kafka_connection, group, consumer.topics)
    return HrSettings(
        database_url=hr_database,
        kafka_bootstrap_servers=kafka_connection.bootstrap_servers,
        jwt_secret=jwt_secret,
        consumer_group=group,
        environment="test",
        # The club keeps China Standard Time: periods are its local days (UTC+8), whatever
        # CLUB_TIME_ZONE the machine running the tests has.
        club_time_zone=CLUB_ZONE_NAME,
        relay_poll_interval_ms=200,
        consumer_retry_backoff_ms=20,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clock() -> FixedClock:
    return FixedClock()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_app(hr_settings, clock):
    return build_app(hr_settings, clock=clock)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_url(hr_app) -> AsyncIterator[str]:
    async with serve_app(hr_app) as url:
        yield url


class Hr:
    """The hr service as a test talks to it: over HTTP with a token per role, plus the
    running app's clock for moving time."""

    def __init__(self, url: str, make_token, clock: FixedClock) -> None:
        self.url = url
        self._token = make_token
        self.clock = clock

    def today(self) -> date:
        """The club's date now (its periods and templates are in club days), which is not
        the UTC date for eight hours of every day in Asia/Shanghai."""
        return self.clock.now().astimezone(CLUB_ZONE).date()

    def as_(self, role: str, subject: UUID | None = None) -> httpx.AsyncClient:
        return client(self.url, self._token(role, subject=subject))

    async def call(self, role: str, method: str, path: str, *, subject: UUID | None = None,
                   expect: int | None = None, **kwargs) -> httpx.Response:
        async with self.as_(role, subject) as http:
            response = await http.request(method, path, **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response

    async def hire(self, role: str = "attendant", **fields) -> dict:
        body = {"display_name": fields.pop("display_name", f"Test {role}"), "role": role,
                **fields}
        return (await self.call("hr_admin", "POST", "/staff", json=body, expect=201)).json()

    async def shift(self, staff_id: UUID | str, starts_at: datetime, hours: float = 8) -> dict:
        body = {"staff_id": str(staff_id), "starts_at": starts_at.isoformat(),
                "ends_at": (starts_at + timedelta(hours=hours)).isoformat()}
        return (await self.call("head", "POST", "/shifts", json=body, expect=201)).json()

    async def review_and_publish(self, assessment_id: str, *, review: dict | None = None,
                                 reviewer: UUID | None = None) -> dict:
        """The head's review (as given, or with nothing adjusted) and the publication."""
        await self.call("head", "POST", f"/assessments/{assessment_id}/review",
                        subject=reviewer, json=review or {}, expect=200)
        return (await self.call("head", "POST", f"/assessments/{assessment_id}/publish",
                                subject=reviewer, expect=200)).json()

    async def poll(self, role: str, path: str, until, *, subject: UUID | None = None,
                   params: dict | None = None, timeout: float = 20.0, what: str = "") -> object:
        """GET `path` until `until(json)` holds; returns that json."""
        found = None

        async def check() -> bool:
            nonlocal found
            response = await self.call(role, "GET", path, subject=subject, params=params)
            assert response.status_code == 200, response.text
            found = response.json()
            return bool(until(found))

        await wait_for(check, timeout=timeout, interval=0.1, what=what or f"GET {path}")
        return found


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr(hr_url, token, clock) -> Hr:
    return Hr(hr_url, token, clock)


def day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def consumer_lag(connection: KafkaConnection, group: str, topics: list[str]) -> int:
    """How many records of `topics` the consumer group has not committed yet."""
    reader = AIOKafkaConsumer(**connection.client_args(), group_id=None,
                              enable_auto_commit=False)
    await reader.start()
    try:
        partitions = await partitions_of(reader, topics)
        starts = await reader.beginning_offsets(partitions)
        ends = await reader.end_offsets(partitions)
    finally:
        await reader.stop()
    admin = AIOKafkaAdminClient(**connection.client_args())
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    lag = 0
    for tp in partitions:
        # Nothing committed yet: the group starts where the log starts, which is not offset 0
        # once old records are gone (retention, or deleted).
        done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else (
            starts[tp])
        lag += max(0, ends[tp] - done)
    return lag


async def caught_up(connection: KafkaConnection, group: str, *, timeout: float = 60.0) -> None:
    """Wait until the group has handled everything on the hr service's topics so far."""

    async def no_lag() -> bool:
        return await consumer_lag(connection, group, consumer.topics) == 0

    await wait_for(no_lag, timeout=timeout, interval=0.2, what=f"{group} caught up")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_caught_up(hr_url, hr_settings, kafka_connection):
    """`await hr_caught_up()`: the running service has handled every event published so far
    (or another instance's group: `await hr_caught_up(group, timeout=…)`)."""

    async def wait(group: str | None = None, timeout: float = 60.0) -> None:
        await caught_up(kafka_connection, group or hr_settings.group_id, timeout=timeout)

    return wait


@pytest_asyncio.fixture
async def another_hr(database_factory, kafka_connection, jwt_secret, token, clock):
    """`await another_hr(run_relay=False)`: a second instance of the service on a fresh, empty
    database, with a new consumer group that reads every topic from offset 0."""
    async with AsyncExitStack() as stack:

        async def start(**overrides) -> tuple[Hr, HrSettings]:
            url = await database_factory.create("hr")
            await upgrade_async(SERVICE_ROOT, url)
            settings = HrSettings(**{
                "database_url": url,
                "kafka_bootstrap_servers": kafka_connection.bootstrap_servers,
                "jwt_secret": jwt_secret, "consumer_group": unique_name("hr-replay"),
                "environment": "test", "consumer_retry_backoff_ms": 20,
                "club_time_zone": CLUB_ZONE_NAME, **overrides})
            base = await stack.enter_async_context(serve_app(build_app(settings, clock=clock)))
            return Hr(base, token, clock), settings

        yield start


class Events:
    """Contract events as the other services (and door systems) publish them."""

    @staticmethod
    def visit(host: UUID, at: datetime, staff_ids=(), served_by=()) -> VisitCompleted:
        return VisitCompleted(
            visit_id=uuid4(), customer_id=uuid4(), location_id=uuid4(), host_staff_id=host,
            staff_ids=[host, *staff_ids],
            services=[ServiceDelivered(service_code="massage", staff_id=s,
                                       started_at=at - timedelta(hours=1), ended_at=at)
                      for s in served_by],
            checked_in_at=at - timedelta(hours=1, minutes=10), completed_at=at)

    @staticmethod
    def survey(staff_ids: list[UUID], csat: int, at: datetime) -> SurveySubmitted:
        return SurveySubmitted(response_id=uuid4(), customer_id=uuid4(), visit_id=uuid4(),
                               staff_ids=staff_ids, csat=csat, submitted_at=at)

    @staticmethod
    def complaint_opened(subject_staff_ids: list[UUID], at: datetime) -> ComplaintOpened:
        return ComplaintOpened(
            complaint_id=uuid4(), customer_id=uuid4(), subject_staff_ids=subject_staff_ids,
            category="service", severity="medium", channel="phone", opened_at=at,
            sla_due_at=at + timedelta(days=2))

    @staticmethod
    def complaint_resolved(subject_staff_ids: list[UUID], *, upheld: bool, at: datetime,
                           handled_by: UUID | None = None, hours: float = 20,
                           within_sla: bool = True) -> ComplaintResolved:
        return ComplaintResolved(
            complaint_id=uuid4(), customer_id=uuid4(), handled_by=handled_by or uuid4(),
            subject_staff_ids=subject_staff_ids, upheld=upheld, resolution="explained",
            opened_at=at - timedelta(hours=hours), resolved_at=at, within_sla=within_sla)

    @staticmethod
    def followup(staff_id: UUID, *, due_at: datetime, completed_at: datetime,
                 reason: str = "post_visit", outcome: str = "satisfied",
                 complaint_id: UUID | None = None) -> FollowupCompleted:
        return FollowupCompleted(
            followup_id=uuid4(), customer_id=uuid4(), reason=reason,
            complaint_id=(complaint_id or uuid4()) if reason == "post_complaint" else None,
            visit_id=uuid4() if reason == "post_visit" else None, staff_id=staff_id,
            due_at=due_at, completed_at=completed_at, outcome=outcome)

    @staticmethod
    def incident(reported_by: UUID, at: datetime) -> IncidentReported:
        return IncidentReported(
            incident_id=uuid4(), category="facility", severity="low", location_id=uuid4(),
            reported_by=reported_by, occurred_at=at - timedelta(minutes=3), reported_at=at)

    @staticmethod
    def door(staff_id: UUID, direction: str, at: datetime) -> AttendanceClocked:
        return AttendanceClocked(staff_id=staff_id, direction=direction, at=at,
                                 device_id=uuid4())


@pytest.fixture
def events() -> type[Events]:
    return Events
