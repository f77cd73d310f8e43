"""Rebuilding a projection from offset 0 (docs/reliability.md, "Replay"): rewind the group, forget
the table and the inbox rows of its topics, consume again — and the table comes back equal."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from club_contracts import CustomerErased, CustomerRegistered
from club_platform.consumer import ConsumerRunner, EventConsumer
from club_platform.kafka import TopicSpec, ensure_topics, partitions_of
from club_platform.projections import GroupInUse, forget, rewind_group
from club_platform.testing import start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name


def tiering_consumer(name: str) -> EventConsumer:
    consumer = EventConsumer(name)

    @consumer.handles(CustomerRegistered)
    async def keep_tier(session, event, envelope):
        await session.execute(sa.text(
            "INSERT INTO effects (event_id, consumer, payload) VALUES (:e, :c, :p)"),
            {"e": envelope.id, "c": name, "p": f"{event.customer_id}:{event.tier}"})

    @consumer.handles(CustomerErased)
    async def note_erasure(session, event, envelope):
        pass  # on another topic: its inbox rows must survive a rebuild of the tiers

    consumer.projection("tiers", topics=("customer.registered",), tables=("effects",))
    return consumer


async def test_a_rebuilt_projection_equals_the_live_one(clean_database, kafka_connection,
                                                        event_publisher):
    group = unique_name("projection")
    topics = ["customer.registered", "customer.erased"]
    await start_group_at_end(kafka_connection, group, topics)
    start = await committed(kafka_connection, group, "customer.registered")
    await ensure_topics(kafka_connection, [TopicSpec(f"{group}.dlq")])
    consumer = tiering_consumer(group)

    async def rows() -> list[str]:
        async with clean_database.transaction() as session:
            return sorted((await session.scalars(sa.text(
                "SELECT payload FROM effects WHERE consumer = :c"), {"c": group})).all())

    runner = ConsumerRunner(consumer, clean_database, kafka_connection, group_id=group)
    await runner.start()
    sent = [CustomerRegistered(customer_id=uuid4(), tier=tier, registered_at=datetime.now(UTC))
            for tier in ("gold", "silver", "standard", "gold")]
    erased = CustomerErased(customer_id=uuid4(), erased_at=datetime.now(UTC))
    for event in sent:
        await event_publisher.publish(event)
    await event_publisher.publish(erased)
    await wait_for(lambda: _count(rows, 4), what="the live projection")
    live = await rows()
    with pytest.raises(GroupInUse):  # a running service is never rewound under its feet
        await rewind_group(kafka_connection, group, ["customer.registered"])
    await runner.stop()

    # Where the group started (a real rebuild goes to offset 0; other tests share the topic).
    await rewind_group(kafka_connection, group, ["customer.registered"],
                       to=start)
    async with clean_database.transaction() as session:
        assert await forget(session, consumer.name, consumer.projections["tiers"]) == 4
        kept = await session.scalar(sa.text(
            "SELECT count(*) FROM inbox WHERE consumer = :c AND topic = 'customer.erased'"),
            {"c": group})
    assert await rows() == []
    assert kept == 1  # the other topic's inbox rows stay

    runner = ConsumerRunner(consumer, clean_database, kafka_connection, group_id=group)
    await runner.start()
    try:
        await wait_for(lambda: _count(rows, 4), what="the rebuilt projection")
    finally:
        await runner.stop()
    assert await rows() == live


async def _count(rows, n: int) -> bool:
    return len(await rows()) >= n



async def committed(kafka, group: str, topic: str) -> dict:
    client = AIOKafkaConsumer(**kafka.client_args(), group_id=group, enable_auto_commit=False)
    await client.start()
    try:
        return {tp: await client.committed(tp)
                for tp in await partitions_of(client, [topic])}
    finally:
        await client.stop()
