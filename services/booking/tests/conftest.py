"""Fixtures of the booking service's tests: a fresh migrated database, and the service itself
served over real HTTP on real Kafka, with a clock the tests control."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from club_platform.clock import FixedClock
from club_platform.migrations import upgrade_async
from club_platform.testing import serve_app, start_group_at_end
from club_platform.testing.plugin import unique_name

from club_booking.app import build_app
from club_booking.handlers import consumer
from club_booking.settings import BookingSettings

SERVICE_ROOT = Path(__file__).resolve().parents[1]


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
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def clock() -> FixedClock:
    return FixedClock()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking_app(booking_settings, clock):
    return build_app(booking_settings, clock=clock)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def booking_url(booking_app) -> AsyncIterator[str]:
    async with serve_app(booking_app) as url:
        yield url
