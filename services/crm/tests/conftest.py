"""Fixtures of the crm service's tests: a fresh migrated database, and the service itself
served over real HTTP on real Kafka, with a clock the tests control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import pytest
import pytest_asyncio
from club_contracts import ServiceDelivered, StaffChanged, StaffHired, VisitCompleted
from club_platform.auth import Role
from club_platform.clock import FixedClock
from club_platform.db import asyncpg_dsn
from club_platform.migrations import upgrade_async
from club_platform.testing import client, serve_app, start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name

from club_crm.app import build_app
from club_crm.fieldcrypt import generate_key
from club_crm.handlers import consumer
from club_crm.settings import CrmSettings

SERVICE_ROOT = Path(__file__).resolve().parents[1]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def crm_database(database_factory) -> str:
    url = await database_factory.create("crm")
    await upgrade_async(SERVICE_ROOT, url)
    return url


@pytest.fixture(scope="session")
def field_key() -> str:
    return generate_key()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def crm_settings(crm_database, kafka_connection, jwt_secret, field_key,
                       mailpit) -> CrmSettings:
    group = unique_name("crm-test")
    await start_group_at_end(kafka_connection, group, consumer.topics)
    return CrmSettings(
        database_url=crm_database,
        kafka_bootstrap_servers=kafka_connection.bootstrap_servers,
        jwt_secret=jwt_secret,
        field_encryption_keys=field_key,
        consumer_group=group,
        environment="test",
        relay_poll_interval_ms=200,
        consumer_retry_backoff_ms=20,
        survey_link_base_url="https://club.example",
        # The SLA job runs once at startup; tests drive it with runtime.run_job(name, now).
        sla_check_interval_seconds=3600,
        # Messages go to the real SMTP server; tests run the sender with run_job(name, now).
        smtp_host=mailpit.smtp_host,
        smtp_port=mailpit.smtp_port,
        smtp_timeout_seconds=3,
        notify_interval_seconds=3600,
        club_name="Harbour Club",
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clock() -> FixedClock:
    return FixedClock()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def crm_app(crm_settings, clock):
    return build_app(crm_settings, clock=clock)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def crm_url(crm_app) -> AsyncIterator[str]:
    async with serve_app(crm_app) as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def runtime(crm_app, crm_url):
    """The running service's runtime (after startup): run its jobs with `run_job`."""
    return crm_app.state.runtime


@pytest_asyncio.fixture(loop_scope="session")
async def sql(crm_database) -> AsyncIterator[asyncpg.Connection]:
    """A raw connection to the service's database, to check what is really stored."""
    connection = await asyncpg.connect(asyncpg_dsn(crm_database))
    yield connection
    await connection.close()


# ------------------------------------------------------------------ helpers


class Crm:
    """The service as its users see it: HTTP calls with a role's token, and the events
    other services would publish."""

    def __init__(self, url: str, token, publisher, clock: FixedClock, field_key: str) -> None:
        self.url, self.token, self.publisher, self.clock = url, token, publisher, clock
        self.settings_key = field_key      # the service's field encryption key
        self.other_key = generate_key()    # a key the service does not know

    def as_(self, role: Role | str, subject: UUID | None = None):
        return client(self.url, self.token(role, subject=subject))

    async def register(self, *, full_name: str = "Wang Fang", phone: str | None = None,
                       email: str | None = None, tier: str = "gold",
                       preferences: dict | None = None, customer_id: UUID | None = None) -> UUID:
        body = {"full_name": full_name, "tier": tier, "preferences": preferences or {}}
        if phone:
            body["phone"] = phone
        if email:
            body["email"] = email
        if customer_id:
            body["customer_id"] = str(customer_id)
        async with self.as_(Role.CRM_SPECIALIST) as http:
            response = await http.post("/customers", json=body)
        assert response.status_code == 201, response.text
        return UUID(response.json()["customer_id"])

    async def hire_specialist(self, staff_id: UUID | None = None) -> UUID:
        staff_id = staff_id or uuid4()
        await self.publisher.publish(StaffHired(
            staff_id=staff_id, display_name=f"Specialist {str(staff_id)[:4]}",
            role="crm_specialist", department="service", hired_at=self.clock.now()))
        return staff_id

    async def set_status(self, staff_id: UUID, status: str, role: str = "crm_specialist",
                         at_offset: timedelta = timedelta(seconds=1)) -> None:
        await self.publisher.publish(StaffChanged(
            staff_id=staff_id, role=role, status=status,
            effective_at=self.clock.now() + at_offset))

    async def complete_visit(self, customer_id: UUID, *, staff: list[UUID] | None = None,
                             services: list[tuple[str, UUID]] | None = None,
                             visit_id: UUID | None = None,
                             completed_at=None) -> VisitCompleted:
        host = (staff or [uuid4()])[0]
        done = completed_at or self.clock.now()
        event = VisitCompleted(
            visit_id=visit_id or uuid4(), booking_id=None, customer_id=customer_id,
            location_id=uuid4(), host_staff_id=host, staff_ids=staff or [host],
            services=[ServiceDelivered(service_code=code, staff_id=by,
                                       started_at=done - timedelta(minutes=50),
                                       ended_at=done - timedelta(minutes=5))
                      for code, by in (services or [])],
            checked_in_at=done - timedelta(hours=1), completed_at=done)
        await self.publisher.publish(event)
        return event

    async def followups_of_visit(self, visit_id: UUID) -> list[dict]:
        async with self.as_(Role.HEAD) as http:
            response = await http.get("/followups", params={"visit_id": str(visit_id)})
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_for_visit(self, visit_id: UUID) -> dict:
        """The post-visit follow-up, once the consumer has handled visit.completed."""
        found = await wait_for(lambda: self.followups_of_visit(visit_id),
                               what=f"the follow-up of visit {visit_id}")
        return found[0]

    async def staff_known(self, sql: asyncpg.Connection, staff_id: UUID, status: str) -> None:
        async def known() -> bool:
            return await sql.fetchval("SELECT status FROM staff WHERE staff_id = $1",
                                      staff_id) == status
        await wait_for(known, what=f"staff {staff_id} {status}")


@pytest_asyncio.fixture(loop_scope="session")
async def crm(crm_url, token, event_publisher, clock, field_key) -> Crm:
    return Crm(crm_url, token, event_publisher, clock, field_key)
