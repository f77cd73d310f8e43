"""Fixtures of the cross-service tests: the four services as real processes (`python -m
club_<service>`), each on a fresh migrated database of its own, with a consumer group of its
own that starts at the end of its topics, all on the real broker."""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from club_platform.migrations import upgrade_async
from club_platform.testing import start_group_at_end
from club_platform.testing.plugin import unique_name
from club_platform.testing.processes import ServiceProcess, stop_all
from playwright.async_api import Browser, async_playwright

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / ".local" / "test-logs"

Spawn = Callable[..., Awaitable[ServiceProcess]]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def spawn(database_factory, kafka_connection, jwt_secret) -> AsyncIterator[Spawn]:
    """`await spawn("booking")` → a started ServiceProcess. Pass `database_url` and `group`
    to start another process of the same service on the same data (a replica, a restart)."""
    started: list[ServiceProcess] = []

    async def make(service: str, *, database_url: str | None = None, group: str | None = None,
                   env: dict[str, str] | None = None, start: bool = True,
                   name: str | None = None) -> ServiceProcess:
        prefix = service.upper()
        if database_url is None:
            database_url = await database_factory.create(service)
            await upgrade_async(ROOT / "services" / service, database_url)
        if group is None:
            group = unique_name(f"{service}-e2e")
            consumer = importlib.import_module(f"club_{service}.handlers").consumer
            if consumer.topics:
                await start_group_at_end(kafka_connection, group, consumer.topics)
        process = ServiceProcess(service, {
            f"{prefix}_DATABASE_URL": database_url,
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": kafka_connection.bootstrap_servers,
            f"{prefix}_JWT_SECRET": jwt_secret,
            f"{prefix}_CONSUMER_GROUP": group,
            f"{prefix}_ENVIRONMENT": "test",
            f"{prefix}_RELAY_POLL_INTERVAL_MS": "200",
            **service_defaults(service),
            **(env or {}),
        }, LOGS, name=name)
        process.database_url = database_url
        process.group = group
        started.append(process)
        if start:
            await process.start()
        return process

    make.started = started  # type: ignore[attr-defined]
    yield make
    await stop_all(started, strict=False)


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def _stop_what_the_test_started(request) -> AsyncIterator[None]:
    """The processes a test started itself are stopped when it ends; those of wider fixtures
    (an e2e club, a module's services) live as long as their fixture. Left running, a test's
    services would go on consuming every later test's traffic: thousands of records of a
    flood, and events of their own published into the next test's topics."""
    if "spawn" not in request.fixturenames:
        yield
        return
    started = request.getfixturevalue("spawn").started
    before = len(started)  # wider fixtures are set up before this one
    yield
    await stop_all(started[before:], strict=False)


def service_defaults(service: str) -> dict[str, str]:
    """Settings a service needs beyond the shared ones, for test processes."""
    values = {}
    if service == "crm":
        key = os.environ.get("CRM_FIELD_ENCRYPTION_KEYS")
        if key:
            values["CRM_FIELD_ENCRYPTION_KEYS"] = key
    return values


# The cluster tests' rows go to a report of their own, so `make test-cluster` after
# `make test` leaves the suite's report in place.
REPORT = ROOT / ".local" / ("fault-report-cluster.md" if os.environ.get("CLUB_INFRA_PROFILE")
                            == "cluster" else "fault-report.md")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fault_report() -> AsyncIterator[Callable[..., None]]:
    """Fault tests record what they did and found; the table is written at the end of the
    session to .local/fault-report.md (docs/reliability.md carries a copy)."""
    rows: list[dict] = []

    def record(scenario: str, load: str, fault: str, *, lost: int, duplicated: int,
               server_errors: int, note: str = "") -> None:
        rows.append({"scenario": scenario, "load": load, "fault": fault, "lost": lost,
                     "duplicated": duplicated, "5xx": server_errors, "note": note})

    yield record
    if rows:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        lines = ["| scenario | load | fault | lost | duplicated | 5xx | note |",
                 "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['scenario']} | {r['load']} | {r['fault']} | {r['lost']} | "
                  f"{r['duplicated']} | {r['5xx']} | {r['note']} |" for r in rows]
        REPORT.write_text("\n".join(lines) + "\n")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """A real browser for the session: Debian's chromium, headless, driven by Playwright
    (tests/browser.py opens offline contexts in it). Playwright's own browser builds cannot be
    downloaded here, so it is never `playwright install`ed; `make test` installs chromium and
    the CJK fonts (deploy/local/browser.py). Missing, the tests that need it fail, never skip."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: run `python3 deploy/local/browser.py install` "
                    "(as root; `make test` does it)", pytrace=False)
    async with async_playwright() as playwright:
        # --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
        browser = await playwright.chromium.launch(executable_path=path, headless=True,
                                                   args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()
