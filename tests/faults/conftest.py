"""Fixtures of the fault tests beyond tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from club_platform.kafka import KafkaConnection, partitions_of
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


async def forget_history(kafka: KafkaConnection, topics: list[str]) -> None:
    """Delete every record of `topics` written so far (Kafka's delete-records)."""
    consumer = AIOKafkaConsumer(**kafka.client_args(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(await partitions_of(consumer, topics))
    finally:
        await consumer.stop()
    admin = AIOKafkaAdminClient(**kafka.client_args())
    await admin.start()
    try:
        await admin.delete_records({tp: RecordsToDelete(end) for tp, end in ends.items()},
                                   timeout_ms=30_000)
    finally:
        await admin.close()
