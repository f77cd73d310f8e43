"""Fixtures of the reception service's tests: a fresh migrated database, and the service itself
served over real HTTP on real Kafka, with a clock the tests control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest_asyncio
from club_contracts import BookingCreated, StaffHired
from club_platform.clock import FixedClock
from club_platform.migrations import upgrade_async
from club_platform.testing import EventPublisher, client, serve_app, start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name
from prometheus_client import REGISTRY
from sqlalchemy import text

from club_reception.app import build_app
from club_reception.handlers import consumer
from club_reception.settings import ReceptionSettings

SERVICE_ROOT = Path(__file__).resolve().parents[1]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reception_database(database_factory) -> str:
    url = await database_factory.create("reception")
    await upgrade_async(SERVICE_ROOT, url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reception_settings(reception_database, kafka_connection, jwt_secret) -> ReceptionSettings:
    group = unique_name("reception-test")
    if consumer.topics:
        await start_group_at_end(kafka_connection, group, consumer.topics)
    return ReceptionSettings(
        database_url=reception_database,
        kafka_bootstrap_servers=kafka_connection.bootstrap_servers,
        jwt_secret=jwt_secret,
        consumer_group=group,
        environment="test",
        # the club's time zone, shared by every service (CLUB_TIME_ZONE): these tests keep
        # their days in UTC, which also shows reception honouring the shared setting
        club_time_zone="UTC",
        relay_poll_interval_ms=200,
        consumer_retry_backoff_ms=20,
        # The overdue follow-up runs once at start-up; tests run it with `runtime.run_job`.
        task_check_seconds=3600,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clock() -> FixedClock:
    return FixedClock()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reception_app(reception_settings, clock):
    return build_app(reception_settings, clock=clock)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def reception_url(reception_app) -> AsyncIterator[str]:
    async with serve_app(reception_app) as url:
        yield url


# ---------------------------------------------------------------- helpers for the tests


class Desk:
    """The reception service as its users see it: HTTP clients per role, and the events other
    services would publish (staff from HR, bookings from booking), waited for until visible."""

    def __init__(self, url: str, token, publisher: EventPublisher, clock: FixedClock,
                 app) -> None:
        self.url = url
        self._token = token
        self.publisher = publisher
        self.clock = clock
        self.runtime = app.state.runtime
        self.head_id = uuid4()

    def as_role(self, role: str, subject: UUID | None = None) -> httpx.AsyncClient:
        return client(self.url, self._token(role, subject=subject))

    def head(self) -> httpx.AsyncClient:
        return self.as_role("head", self.head_id)

    async def wait_until(self, path: str, check=lambda body: True,
                         what: str | None = None) -> dict:
        """GET `path` as the head until it answers 200 and `check(body)` holds."""
        found: dict = {}

        async def ready() -> bool:
            async with self.head() as http:
                answer = await http.get(path)
            if answer.status_code == 200 and check(answer.json()):
                found["body"] = answer.json()
                return True
            return False

        await wait_for(ready, timeout=20, what=what or f"GET {path}")
        return found["body"]

    async def hire(self, name: str = "Ana", role: str = "attendant",
                   days_ago: int = 30) -> UUID:
        staff_id = uuid4()
        await self.publisher.publish(StaffHired(
            staff_id=staff_id, display_name=name, role=role, department="service",
            hired_at=self.clock.now() - timedelta(days=days_ago)))
        await self.wait_until(f"/staff/{staff_id}", lambda s: s["status"] == "active")
        return staff_id

    async def location(self, name: str | None = None, capacity: int | None = None,
                       kind: str = "room") -> UUID:
        async with self.head() as http:
            answer = await http.post("/locations", json={
                "name": name or f"Room {uuid4().hex[:8]}", "kind": kind, "capacity": capacity})
        assert answer.status_code == 201, answer.text
        return UUID(answer.json()["location_id"])

    def booking(self, *, starts_in: timedelta = timedelta(minutes=30),
                length: timedelta = timedelta(hours=1), party_size: int = 1,
                booking_id: UUID | None = None,
                customer_id: UUID | None = None) -> BookingCreated:
        starts_at = self.clock.now() + starts_in
        return BookingCreated(
            booking_id=booking_id or uuid4(), customer_id=customer_id or uuid4(),
            resource_id=uuid4(), service_code="spa.massage", channel="online",
            starts_at=starts_at, ends_at=starts_at + length, party_size=party_size,
            staff_id=None, created_by=uuid4(), created_at=self.clock.now() - timedelta(days=1))

    async def expect(self, booking: BookingCreated | None = None) -> BookingCreated:
        """Publish a booking.created as the booking service would, and wait until reception
        expects the customer."""
        booking = booking or self.booking()
        await self.publisher.publish(booking)
        await self.wait_until(f"/arrivals/{booking.booking_id}")
        return booking

    async def check_in(self, booking: BookingCreated, location_id: UUID,
                       host_id: UUID) -> dict:
        async with self.as_role("attendant") as http:
            answer = await http.post("/visits/check-in", json={
                "booking_id": str(booking.booking_id), "location_id": str(location_id),
                "host_staff_id": str(host_id)})
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def walk_in(self, location_id: UUID, host_id: UUID,
                      customer_id: UUID | None = None) -> dict:
        async with self.as_role("attendant") as http:
            answer = await http.post("/visits/walk-in", json={
                "customer_id": str(customer_id or uuid4()), "location_id": str(location_id),
                "host_staff_id": str(host_id)})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def service(self, staff_id: UUID, *, code: str = "spa.massage", minutes_ago: int = 30,
                minutes: int = 20, notes: str | None = None) -> dict:
        started = self.clock.now() - timedelta(minutes=minutes_ago)
        return {"service_code": code, "staff_id": str(staff_id),
                "started_at": started.isoformat(),
                "ended_at": (started + timedelta(minutes=minutes)).isoformat(),
                "notes": notes}

    def consumed(self, topic: str, outcome: str) -> float:
        """How many records of `topic` this service's consumer finished with `outcome`
        (handled, duplicate, dead_letter_…), from its Prometheus counter."""
        return REGISTRY.get_sample_value("club_consumer_events_total", {
            "group": self.runtime.settings.group_id, "topic": topic, "outcome": outcome}) or 0

    async def settled(self, topic: str, *, handled: float, duplicate: float) -> None:
        """Wait until the consumer has handled or skipped that many records of `topic`."""
        await wait_for(lambda: self.consumed(topic, "handled") >= handled
                       and self.consumed(topic, "duplicate") >= duplicate,
                       timeout=20, what=f"{topic}: {handled} handled, {duplicate} duplicates")

    async def rows(self, query: str, **params) -> list[dict]:
        async with self.runtime.database.transaction() as session:
            result = await session.execute(text(query), params)
            return [dict(r._mapping) for r in result]


@pytest_asyncio.fixture(loop_scope="session")
async def desk(reception_url, reception_app, token, event_publisher, clock) -> Desk:
    return Desk(reception_url, token, event_publisher, clock, reception_app)


@pytest_asyncio.fixture(loop_scope="session")
async def staffed(desk) -> tuple[UUID, UUID, UUID]:
    """A location and two active staff members, Ana and Bo."""
    return await desk.location(), await desk.hire("Ana"), await desk.hire("Bo")
