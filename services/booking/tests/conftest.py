"""Fixtures of the booking service's tests: a fresh migrated database, and the service itself
served over real HTTP on real Kafka, with a clock the tests control.

The club's clock starts on Monday 2030-01-07 at 08:00 in Asia/Shanghai (00:00 UTC) and only
moves forward. Every test makes its own resources and services, and computes its times from
`club.at(...)`, so tests do not see each other's bookings whatever the clock says.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from club_platform.auth import Role
from club_platform.clock import FixedClock
from club_platform.migrations import upgrade_async
from club_platform.testing import client, serve_app, start_group_at_end
from club_platform.testing.plugin import unique_name

from club_booking.app import build_app
from club_booking.handlers import consumer
from club_booking.settings import BookingSettings

SERVICE_ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
EVERY_DAY = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking_database(database_factory) -> str:
    url = await database_factory.create("booking")
    await upgrade_async(SERVICE_ROOT, url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking_settings(booking_database, kafka_connection, jwt_secret) -> BookingSettings:
    group = unique_name("booking-test")
    if consumer.topics:
        await start_group_at_end(kafka_connection, group, consumer.topics)
    return BookingSettings(
        database_url=booking_database,
        kafka_bootstrap_servers=kafka_connection.bootstrap_servers,
        jwt_secret=jwt_secret,
        consumer_group=group,
        environment="test",
        relay_poll_interval_ms=200,
        consumer_retry_backoff_ms=20,
        consumer_max_attempts=2,
        timezone="Asia/Shanghai",
        minimum_notice_minutes=60,
        booking_horizon_days=30,
        cancellation_cutoff_hours=24,
        no_show_grace_minutes=15,
        # The sweep runs once at start-up; tests run it themselves with `runtime.run_job`.
        no_show_sweep_seconds=3600,
        slot_step_minutes=15,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clock() -> FixedClock:
    return FixedClock(START)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking_app(booking_settings, clock):
    return build_app(booking_settings, clock=clock)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking_url(booking_app) -> AsyncIterator[str]:
    async with serve_app(booking_app) as url:
        yield url


class Club:
    """The test's view of the club: clients per role, and resources and services made fresh
    for each test through the public API."""

    def __init__(self, url: str, token: Callable[..., str], clock: FixedClock, app) -> None:
        self.url = url
        self._token = token
        self.clock = clock
        self.app = app
        self.head_id = uuid4()
        self.attendant_id = uuid4()

    @property
    def runtime(self):
        return self.app.state.runtime

    def as_role(self, role: Role | str, subject: UUID | None = None) -> httpx.AsyncClient:
        return client(self.url, self._token(role, subject=subject))

    def head(self) -> httpx.AsyncClient:
        return self.as_role(Role.HEAD, self.head_id)

    def desk(self) -> httpx.AsyncClient:
        return self.as_role(Role.ATTENDANT, self.attendant_id)

    def member(self, customer_id: UUID) -> httpx.AsyncClient:
        return self.as_role(Role.MEMBER, customer_id)

    def today(self) -> date:
        return self.clock.now().astimezone(ZONE).date()

    def at(self, days: int, clock_time: str) -> datetime:
        """A local time `days` after today, as an aware datetime."""
        hours, minutes = (int(p) for p in clock_time.split(":"))
        return datetime.combine(self.today() + timedelta(days=days), time(hours, minutes),
                                tzinfo=ZONE)

    async def resource(self, *, kind: str = "court", capacity: int = 4,
                       hours: tuple[str, str] = ("08:00", "22:00"),
                       days: tuple[str, ...] = EVERY_DAY, name: str | None = None) -> dict:
        body = {"name": name or unique_name(kind), "kind": kind, "capacity": capacity,
                "location": "level 2",
                "opening_hours": [{"weekday": d, "opens_at": hours[0], "closes_at": hours[1]}
                                  for d in days]}
        async with self.head() as http:
            answer = await http.post("/resources", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def service(self, *, kinds: tuple[str, ...] = ("court",), minutes: int = 60,
                      before: int = 0, after: int = 0) -> dict:
        body = {"code": f"svc-{secrets.token_hex(4)}", "name": "A game of tennis",
                "duration_minutes": minutes, "buffer_before_minutes": before,
                "buffer_after_minutes": after, "resource_kinds": list(kinds)}
        async with self.head() as http:
            answer = await http.post("/services", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def book(self, resource: dict, service: dict, starts_at: datetime, *,
                   customer_id: UUID | None = None, party_size: int = 1,
                   expect: int = 201, **extra) -> dict:
        """A member books online for themselves (a fresh member unless `customer_id`)."""
        customer_id = customer_id or uuid4()
        body = {"resource_id": resource["id"], "service_code": service["code"],
                "starts_at": starts_at.isoformat(), "party_size": party_size, **extra}
        async with self.member(customer_id) as http:
            answer = await http.post("/bookings", json=body)
        assert answer.status_code == expect, answer.text
        return answer.json()

    async def book_offline(self, resource: dict, service: dict, starts_at: datetime, *,
                           customer_id: UUID | None = None, via: str = "phone",
                           expect: int = 201, **extra) -> dict:
        body = {"resource_id": resource["id"], "service_code": service["code"],
                "starts_at": starts_at.isoformat(), "customer_id": str(customer_id or uuid4()),
                "offline_channel": via, **extra}
        async with self.desk() as http:
            answer = await http.post("/bookings", json=body)
        assert answer.status_code == expect, answer.text
        return answer.json()

    async def booking(self, booking_id: str) -> dict:
        async with self.head() as http:
            answer = await http.get(f"/bookings/{booking_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest_asyncio.fixture(loop_scope="session")
async def club(booking_url, token, clock, booking_app) -> Club:
    return Club(booking_url, token, clock, booking_app)
