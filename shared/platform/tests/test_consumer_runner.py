"""The consumer runner (docs/reliability.md): effects once, offsets after the transaction, bounded
retries with backoff, dead letters with their reasons, and replay — on real Kafka and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from club_contracts import CustomerErased, CustomerRegistered
from club_platform.cli import replay_dead_letters
from club_platform.consumer import (
    CONSUMED,
    REPLAY_HEADER,
    ConsumerRunner,
    EventConsumer,
    Unprocessable,
)
from club_platform.envelope import encode, envelope_for
from club_platform.kafka import TopicSpec, ensure_topics, partitions_of
from club_platform.testing import start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name

TOPICS = ["customer.registered", "customer.erased"]


def registered() -> CustomerRegistered:
    return CustomerRegistered(customer_id=uuid4(), tier="gold", registered_at=datetime.now(UTC))


def recording_consumer(name: str, before: Callable[[object], None] | None = None) -> EventConsumer:
    """A consumer whose effect is a row in `effects`; `before` may raise to simulate failure."""
    consumer = EventConsumer(name)

    @consumer.handles(CustomerRegistered, CustomerErased)
    async def record(session, event, envelope):
        if before:
            before(event)
        await session.execute(
            sa.text("INSERT INTO effects (event_id, consumer, payload) VALUES (:e, :c, :p)"),
            {"e": envelope.id, "c": name, "p": str(event.customer_id)},
        )

    return consumer


@asynccontextmanager
async def running(consumer: EventConsumer, database, kafka, group: str,
                  **options) -> AsyncIterator[ConsumerRunner]:
    await ensure_topics(kafka, [TopicSpec(f"{group}.dlq")])
    runner = ConsumerRunner(consumer, database, kafka, group_id=group, retry_backoff_ms=10,
                            **options)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def new_group(kafka) -> str:
    group = unique_name("platform-test")
    await start_group_at_end(kafka, group, TOPICS)
    return group


def consumed(group: str, topic: str, outcome: str) -> float:
    return CONSUMED.labels(group, topic, outcome)._value.get()


async def test_an_event_delivered_twice_has_its_effect_once(
    clean_database, kafka_connection, event_publisher
, count_effects):
    group = await new_group(kafka_connection)
    consumer = recording_consumer(group)
    event = registered()
    envelope = envelope_for(event)
    async with running(consumer, clean_database, kafka_connection, group):
        await event_publisher.publish(event, envelope=envelope)
        await event_publisher.publish(event, envelope=envelope)  # a producer retry: same ce_id
        await wait_for(lambda: consumed(group, "customer.registered", "duplicate") == 1,
                       what="the repeat seen")
    assert await count_effects(clean_database, payload=str(event.customer_id)) == 1


async def test_a_crash_after_the_effect_before_the_offset_commit_changes_nothing(
    clean_database, kafka_connection, event_publisher
, count_effects):
    group = await new_group(kafka_connection)
    # Where the group stood before the event: a crash before the commit leaves it here.
    probe = AIOKafkaConsumer(**kafka_connection.client_args(), group_id=group,
                             enable_auto_commit=False)
    await probe.start()
    partitions = await partitions_of(probe, ["customer.registered"])
    before = {tp: (await probe.committed(tp)) for tp in partitions}
    await probe.stop()

    event = registered()
    async with running(recording_consumer(group), clean_database, kafka_connection, group):
        await event_publisher.publish(event)
        await wait_for(lambda: count_effects(clean_database, payload=str(event.customer_id)),
                       what="the effect")

    rewind = AIOKafkaConsumer(**kafka_connection.client_args(), group_id=group,
                              enable_auto_commit=False)
    await rewind.start()
    rewind.assign(partitions)
    await rewind.commit(before)  # as if the offset commit never happened
    await rewind.stop()

    async with running(recording_consumer(group), clean_database, kafka_connection, group):
        await wait_for(lambda: consumed(group, "customer.registered", "duplicate") >= 1,
                       what="the redelivery")
    assert await count_effects(clean_database, payload=str(event.customer_id)) == 1


async def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(
    clean_database, kafka_connection, event_publisher, kafka_tap
, count_effects):
    group = await new_group(kafka_connection)
    good = registered()
    key = str(good.customer_id).encode()  # same key, same partition: order matters
    _, value, headers = encode(good, envelope_for(good))
    schema_invalid = value.replace(b'"gold"', b'"GOLD TIER!"')
    async with running(recording_consumer(group), clean_database, kafka_connection, group), \
            kafka_tap(f"{group}.dlq") as dead_letters:
        await event_publisher.send_raw("customer.registered", b"{not json", key=key,
                                       headers=encode(good, envelope_for(good))[2])
        await event_publisher.send_raw("customer.registered", schema_invalid, key=key,
                                       headers=encode(good, envelope_for(good))[2])
        await event_publisher.send_raw("customer.registered", value, key=key, headers=[])
        await event_publisher.send_raw("customer.registered", value, key=key,
                                       headers=[*headers[:2], ("ce_source", b"\xff\xfe"),
                                                *headers[3:]])
        await event_publisher.send_raw("customer.registered", value, key=key, headers=headers)
        letters = await dead_letters.wait_for(lambda s: True, count=4)
        await wait_for(lambda: count_effects(clean_database, payload=str(good.customer_id)),
                       what="the good event after the poison")

    reasons = [s.headers["dlq_reason"] for s in letters]
    assert reasons == ["undecodable", "schema_invalid", "undecodable", "undecodable"]
    errors = [s.headers["dlq_error"] for s in letters]
    assert "JSON" in errors[0] or "json" in errors[0]
    assert "tier" in errors[1]
    assert "missing CloudEvents headers" in errors[2]
    assert "UTF-8" in errors[3]
    first = letters[0]
    assert first.record.value == b"{not json"
    assert first.key == str(good.customer_id)
    assert first.headers["ce_type"] == "club.customer.registered.v1"  # original headers kept
    assert first.headers["dlq_original_topic"] == "customer.registered"
    assert first.headers["dlq_consumer_group"] == group
    assert await count_effects(clean_database, payload=str(good.customer_id)) == 1


async def test_transient_failures_are_retried_and_the_effect_happens_once(
    clean_database, kafka_connection, event_publisher
, count_effects):
    group = await new_group(kafka_connection)
    attempts: list[str] = []

    def flaky(event):
        attempts.append(str(event.customer_id))
        if len(attempts) < 3:
            raise ConnectionAbortedError("the downstream hiccupped") from ValueError()

    event = registered()
    async with running(recording_consumer(group, flaky), clean_database, kafka_connection,
                       group, max_attempts=5):
        await event_publisher.publish(event)
        await wait_for(lambda: count_effects(clean_database, payload=str(event.customer_id)),
                       what="the effect after retries")
    assert len(attempts) == 3
    assert await count_effects(clean_database, payload=str(event.customer_id)) == 1


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_bounded_retries_then_replayed(
    clean_database, kafka_connection, event_publisher, kafka_tap
, count_effects):
    group = await new_group(kafka_connection)
    broken = {"on": True}
    calls: list[str] = []

    def until_fixed(event):
        calls.append(str(event.customer_id))
        if broken["on"]:
            raise ValueError("tier table not loaded")

    failing, after = registered(), registered()
    async with running(recording_consumer(group, until_fixed), clean_database,
                       kafka_connection, group, max_attempts=3), \
            kafka_tap(f"{group}.dlq") as dead_letters:
        await event_publisher.publish(failing)
        (letter,) = await dead_letters.wait_for(lambda s: True)
        broken["on"] = False
        await event_publisher.publish(after)
        await wait_for(lambda: count_effects(clean_database, payload=str(after.customer_id)),
                       what="the next event processed")
        assert letter.headers["dlq_reason"] == "handler_failed"
        assert letter.headers["dlq_attempts"] == "3"
        assert "ValueError: tier table not loaded" in letter.headers["dlq_error"]
        assert calls.count(str(failing.customer_id)) == 3
        assert await count_effects(clean_database, payload=str(failing.customer_id)) == 0

        # The fix is in: replaying the dead letters processes the event, once.
        assert await replay_dead_letters(kafka_connection, group) == 1
        await wait_for(lambda: count_effects(clean_database, payload=str(failing.customer_id)),
                       what="the replayed event")
    assert await count_effects(clean_database, payload=str(failing.customer_id)) == 1


async def test_a_replay_of_letters_that_fail_again_ends_and_sends_each_once(
    clean_database, kafka_connection, event_publisher, kafka_tap
):
    # Nothing was fixed for this event: it comes back to the dead-letter topic while the
    # replay still reads it. The replay sends what was there when it began, and ends; it
    # must not chase the letters its own replay brings (which never ends, and floods the
    # topic).
    group = await new_group(kafka_connection)

    def refuse(event):
        raise Unprocessable("customer belongs to another club")

    async with running(recording_consumer(group, refuse), clean_database, kafka_connection,
                       group), kafka_tap(f"{group}.dlq") as dead_letters:
        await event_publisher.publish(registered())
        await dead_letters.wait_for(lambda s: True)
        sent = await asyncio.wait_for(replay_dead_letters(kafka_connection, group), 30)
        await dead_letters.wait_for(lambda s: REPLAY_HEADER in s.headers)
        seen = await dead_letters.settle(3)
    assert sent == 1
    assert len(seen) == 2  # the letter, and the same letter once more after the replay


async def test_a_replay_is_for_its_group_only(clean_database, kafka_connection, event_publisher,
                                              kafka_tap, count_effects):
    group, bystander = await new_group(kafka_connection), await new_group(kafka_connection)

    def refuse(event):
        raise Unprocessable("customer belongs to another club")

    event = registered()
    async with running(recording_consumer(group, refuse), clean_database, kafka_connection,
                       group), kafka_tap(f"{group}.dlq") as dead_letters:
        await event_publisher.publish(event)
        (letter,) = await dead_letters.wait_for(lambda s: True)
    assert letter.headers["dlq_reason"] == "unprocessable"
    assert letter.headers["dlq_attempts"] == "1"  # no pointless retries

    async with running(recording_consumer(group), clean_database, kafka_connection, group), \
            running(recording_consumer(bystander), clean_database, kafka_connection, bystander):
        await replay_dead_letters(kafka_connection, group)
        await wait_for(lambda: count_effects(clean_database, consumer=group), what="replayed")
        await wait_for(lambda: consumed(bystander, "customer.registered", "skipped_replay") >= 1,
                       what="the bystander skipping the replay")
    assert await count_effects(clean_database, consumer=group) == 1
    # The bystander processes the original event (it had no problem with it) and skips the
    # replay meant for the other group: once in all.
    assert await count_effects(clean_database, consumer=bystander) == 1


async def test_a_batch_handler_gets_each_new_event_once_and_a_bad_one_is_singled_out(
    clean_database, kafka_connection, event_publisher, kafka_tap, count_effects
):
    group = await new_group(kafka_connection)
    consumer = EventConsumer(group)
    calls: list[int] = []

    @consumer.handles_batch(CustomerRegistered)
    async def record_all(session, items):
        calls.append(len(items))
        for event, _ in items:
            if event.tier == "poisoned":
                raise ValueError("this one cannot be stored")
        await session.execute(
            sa.text("INSERT INTO effects (event_id, consumer, payload) "
                    "SELECT unnest(CAST(:e AS uuid[])), :c, unnest(CAST(:p AS text[]))"),
            {"e": [envelope.id for _, envelope in items], "c": group,
             "p": [str(event.customer_id) for event, _ in items]})

    events = [registered() for _ in range(40)]
    bad = CustomerRegistered(customer_id=uuid4(), tier="poisoned",
                             registered_at=datetime.now(UTC))
    envelopes = [envelope_for(e) for e in events]
    # All on the topic before the group starts, so they arrive as one batch.
    for event, envelope in zip(events[:20], envelopes[:20], strict=True):
        await event_publisher.publish(event, envelope=envelope)
    await event_publisher.publish(bad)
    for event, envelope in zip(events[20:], envelopes[20:], strict=True):
        await event_publisher.publish(event, envelope=envelope)
    await event_publisher.publish(events[0], envelope=envelopes[0])  # a repeat
    await ensure_topics(kafka_connection, [TopicSpec(f"{group}.dlq")])
    async with kafka_tap(f"{group}.dlq") as dead_letters, \
            running(consumer, clean_database, kafka_connection, group, max_attempts=2):
        (letter,) = await dead_letters.wait_for(lambda s: True)
        await wait_for(lambda: _at_least(count_effects(clean_database, consumer=group), 40),
                       what="every good event stored")
        await asyncio.sleep(0.5)
    assert await count_effects(clean_database, consumer=group) == 40  # each once
    assert letter.headers["dlq_reason"] == "handler_failed"
    assert max(calls) > 1  # they really came in batches
    # The bad one was found by splitting, not by calling the handler once per event.
    assert len(calls) < 40, calls


async def _at_least(count, n: int) -> bool:
    return await count >= n


async def test_another_major_on_a_consumed_topic_is_ignored_not_dead_lettered(
    clean_database, kafka_connection, event_publisher, count_effects
):
    group = await new_group(kafka_connection)
    event = registered()
    key, _value, headers = encode(event, envelope_for(event))
    v2 = [(k, b"club.customer.registered.v2" if k == "ce_type" else v) for k, v in headers]
    after = registered()
    async with running(recording_consumer(group), clean_database, kafka_connection, group):
        await event_publisher.send_raw("customer.registered", b'{"shape": "of v2"}', key=key,
                                       headers=v2)
        await event_publisher.publish(after)
        await wait_for(lambda: count_effects(clean_database, payload=str(after.customer_id)),
                       what="the v1 event after the v2 one")
    assert consumed(group, "customer.registered", "ignored_type") == 1
    assert consumed(group, "customer.registered", "dead_letter_undecodable") == 0
