"""Fixtures of the hr service's tests: a fresh migrated database, and the service itself
served over real HTTP on real Kafka, with a clock the tests control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import pytest_asyncio
from club_platform.clock import FixedClock
from club_platform.migrations import upgrade_async
from club_platform.testing import client, serve_app, start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name

from club_hr.app import build_app
from club_hr.handlers import TOPICS
from club_hr.settings import HrSettings

SERVICE_ROOT = Path(__file__).resolve().parents[1]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_database(database_factory) -> str:
    url = await database_factory.create("hr")
    await upgrade_async(SERVICE_ROOT, url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hr_settings(hr_database, kafka_connection, jwt_secret) -> HrSettings:
    group = unique_name("hr-test")
    await start_group_at_end(kafka_connection, group, TOPICS)
    return HrSettings(
        database_url=hr_database,
        kafka_bootstrap_servers=kafka_connection.bootstrap_servers,
        jwt_secret=jwt_secret,
        consumer_group=group,
        environment="test",
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
