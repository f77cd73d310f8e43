"""Fixtures of the fault tests beyond tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from club_platform.testing import forget_history
from club_platform.testing.infrastructure import broker_control


@pytest_asyncio.fixture
async def flooded_topics(club_infrastructure, kafka_connection) -> AsyncIterator[set[str]]:
    """Topics a test floods with tens of thousands of records (and poison). Afterwards, on
    the project's own broker, their history is deleted up to their end: topics are kept
    forever, and every later rebuild from offset 0 (services/hr/tests/test_replay.py, a new
    replica's first start) would otherwise read the flood again, session after session.
    A broker that is not ours to manage (a shared cluster) is left alone."""
    topics: set[str] = set()
    yield topics
    if topics and broker_control(club_infrastructure) is not None:
        await forget_history(kafka_connection, sorted(topics))
