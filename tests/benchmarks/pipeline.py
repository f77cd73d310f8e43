"""The platform's two engines beside raw aiokafka, in the same run:

- relay: N events committed to the outbox → published by `OutboxRelay`, against a raw
  aiokafka producer sending the same records with the same settings (idempotent, acks=all);
- relay latency: events committed one per transaction at a steady 1,000/s, from each commit
  to the event reaching a consumer of the topic, p50/p99; beside the raw producer's send to
  the same consumer at the same rate;
- runner: N events on a topic → handled by `ConsumerRunner` (envelope decode, validation,
  inbox, offset commits) with a batch handler (one insert per poll) and with a per-event
  handler (one insert per event), against a raw aiokafka consumer that only counts, and one
  that inserts the same rows with asyncpg in batches (no inbox).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import orjson
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from club_contracts import AttendanceClocked
from club_platform.consumer import ConsumerRunner, EventConsumer
from club_platform.db import Database, asyncpg_dsn, install_platform_schema, outbox
from club_platform.envelope import encode, envelope_for
from club_platform.kafka import KafkaConnection, TopicSpec, ensure_topics, reliable_producer
from club_platform.outbox import OutboxRelay, outbox_row
from club_platform.testing import start_group_at_end
from club_platform.testing.databases import DatabaseFactory

from tests.benchmarks.common import Figure, median, percentile


class BenchClocked(AttendanceClocked):
    """A clock-in on a topic of its own, so benchmarks never feed a real consumer."""

    topic = "bench.attendance.clocked"


RELAY_TOPIC = "bench.relay"


def clock_in() -> BenchClocked:
    return BenchClocked(staff_id=uuid4(), direction="in", at=datetime.now(UTC),
                        device_id=uuid4())


async def _fresh_database(factory: DatabaseFactory) -> Database:
    database = Database(await factory.create("bench"), pool_size=4)
    async with database.engine.begin() as connection:
        await connection.run_sync(install_platform_schema)
        await connection.execute(sa.text(
            "CREATE TABLE clocks (event_id uuid PRIMARY KEY, staff_id uuid NOT NULL, "
            "at timestamptz NOT NULL)"))
    return database


async def relay_once(kafka: KafkaConnection, factory: DatabaseFactory, n: int) -> float:
    database = await _fresh_database(factory)
    rows = [outbox_row(clock_in()) | {"topic": RELAY_TOPIC} for _ in range(n)]
    for start in range(0, n, 5000):
        async with database.transaction() as session:
            await session.execute(sa.insert(outbox), rows[start:start + 5000])
    relay = OutboxRelay(database.url, kafka, batch_size=2000, poll_interval=0.05)
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())
    while relay.published < n:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await relay.stop()
    await task
    await database.dispose()
    return n / elapsed


async def raw_producer_once(kafka: KafkaConnection, n: int) -> float:
    records = []
    for _ in range(n):
        event = clock_in()
        key, value, headers = encode(event, envelope_for(event))
        records.append((key, value, headers))
    producer = reliable_producer(kafka)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(RELAY_TOPIC, value=v, key=k, headers=h)
               for k, v, h in records]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return n / elapsed


async def _steady(kafka: KafkaConnection, rate: int, seconds: int, emit) -> tuple[float, float]:
    """Call `emit()` `rate` times a second for `seconds`; each returns an event id and when it
    was committed (or sent). The latency of each is until a consumer of the topic has it."""
    group = f"bench-{uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, [RELAY_TOPIC])
    consumer = AIOKafkaConsumer(RELAY_TOPIC, **kafka.client_args(), group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.005)
    received: dict[bytes, float] = {}

    async def receive() -> None:
        while True:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.time()
                for record in records:
                    received[dict(record.headers)["ce_id"]] = now

    receiver = asyncio.create_task(receive())
    sent: dict[bytes, float] = {}

    async def one() -> None:
        event_id, at = await emit()
        sent[str(event_id).encode()] = at

    tasks = []
    began = time.monotonic()
    for i in range(rate * seconds):
        delay = began + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + 60
    while len(received.keys() & sent.keys()) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    receiver.cancel()
    await consumer.stop()
    latencies = [(received[k] - at) * 1000 for k, at in sent.items() if k in received]
    assert len(latencies) == len(sent), f"{len(sent) - len(latencies)} events never arrived"
    return percentile(latencies, 50), percentile(latencies, 99)


async def relay_latency_once(kafka: KafkaConnection, factory: DatabaseFactory, rate: int,
                             seconds: int) -> tuple[float, float]:
    """The relay as a service runs it (its default settings), fed one event per transaction,
    as a service's requests do."""
    database = await _fresh_database(factory)
    pool = await asyncpg.create_pool(asyncpg_dsn(database.url), min_size=8, max_size=8)
    relay = OutboxRelay(database.url, kafka)
    task = asyncio.create_task(relay.run())

    async def commit():
        row = outbox_row(clock_in()) | {"topic": RELAY_TOPIC}
        await pool.execute(
            "INSERT INTO outbox (event_id, topic, key, headers, payload) "
            "VALUES ($1, $2, $3, $4::jsonb, $5)", row["event_id"], row["topic"], row["key"],
            orjson.dumps(row["headers"]).decode(), row["payload"])
        return row["event_id"], time.time()

    try:
        return await _steady(kafka, rate, seconds, commit)
    finally:
        await relay.stop()
        await task
        await pool.close()
        await database.dispose()


async def raw_latency_once(kafka: KafkaConnection, rate: int,
                           seconds: int) -> tuple[float, float]:
    producer = reliable_producer(kafka)
    await producer.start()

    async def send():
        event = clock_in()
        envelope = envelope_for(event)
        key, value, headers = encode(event, envelope)
        at = time.time()
        await producer.send(RELAY_TOPIC, value=value, key=key, headers=headers)
        return envelope.id, at

    try:
        return await _steady(kafka, rate, seconds, send)
    finally:
        await producer.stop()


async def _fill_topic(kafka: KafkaConnection, n: int) -> None:
    producer = reliable_producer(kafka)
    await producer.start()
    futures = []
    for _ in range(n):
        event = clock_in()
        key, value, headers = encode(event, envelope_for(event))
        futures.append(await producer.send(BenchClocked.topic, value=value, key=key,
                                           headers=headers))
    await asyncio.gather(*futures)
    await producer.stop()


async def runner_once(kafka: KafkaConnection, factory: DatabaseFactory, n: int,
                      group: str, *, batched: bool) -> float:
    database = await _fresh_database(factory)
    consumer = EventConsumer(group)
    if batched:
        @consumer.handles_batch(BenchClocked)
        async def record_clocks(session, items):
            await session.execute(sa.text(
                "INSERT INTO clocks SELECT * FROM unnest(CAST(:e AS uuid[]), "
                "CAST(:s AS uuid[]), CAST(:a AS timestamptz[]))"),
                {"e": [envelope.id for _, envelope in items],
                 "s": [event.staff_id for event, _ in items],
                 "a": [event.at for event, _ in items]})
    else:
        @consumer.handles(BenchClocked)
        async def record_clock(session, event, envelope):
            await session.execute(sa.text("INSERT INTO clocks VALUES (:e, :s, :a)"),
                                  {"e": envelope.id, "s": event.staff_id, "a": event.at})

    runner = ConsumerRunner(consumer, database, kafka, group_id=group)
    await runner.start()
    while not (runner._subscriber.consumer and runner._subscriber.consumer.assignment()):
        await asyncio.sleep(0.005)
    started = time.perf_counter()
    async with database.engine.connect() as connection:
        while (await connection.scalar(sa.text("SELECT count(*) FROM clocks"))) < n:
            await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await runner.stop()
    await database.dispose()
    return n / elapsed


async def raw_consumer_once(kafka: KafkaConnection, n: int, group: str,
                            database_url: str | None = None) -> float:
    connection = await asyncpg.connect(asyncpg_dsn(database_url)) if database_url else None
    consumer = AIOKafkaConsumer(BenchClocked.topic, **kafka.client_args(), group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.005)
    started = time.perf_counter()
    seen = 0
    while seen < n:
        batches = await consumer.getmany(timeout_ms=200, max_records=500)
        for records in batches.values():
            seen += len(records)
            if connection is not None:
                rows = []
                for record in records:
                    data = orjson.loads(record.value)
                    rows.append((uuid4(), data["staff_id"], datetime.fromisoformat(data["at"])))
                await connection.executemany(
                    "INSERT INTO clocks VALUES ($1, $2::uuid, $3)", rows)
        if batches:
            await consumer.commit()
    elapsed = time.perf_counter() - started
    await consumer.stop()
    if connection is not None:
        await connection.close()
    return n / elapsed


async def run(kafka: KafkaConnection, factory: DatabaseFactory, n: int,
              repetitions: int) -> list[Figure]:
    await ensure_topics(kafka, [TopicSpec(RELAY_TOPIC), TopicSpec(BenchClocked.topic)])
    relay, raw = [], []
    for _ in range(repetitions):
        raw.append(await raw_producer_once(kafka, n))
        relay.append(await relay_once(kafka, factory, n))
    latency, raw_latency = [], []
    for _ in range(repetitions):
        raw_latency.append(await raw_latency_once(kafka, 1000, 10))
        latency.append(await relay_latency_once(kafka, factory, 1000, 10))
    runner, batched, raw_count, raw_insert = [], [], [], []
    for _ in range(repetitions):
        groups = [f"bench-{uuid4().hex[:8]}" for _ in range(4)]
        for group in groups:
            await start_group_at_end(kafka, group, [BenchClocked.topic])
        await _fill_topic(kafka, n)
        raw_count.append(await raw_consumer_once(kafka, n, groups[0]))
        scratch = await _fresh_database(factory)
        raw_insert.append(await raw_consumer_once(kafka, n, groups[1], scratch.url))
        await scratch.dispose()
        runner.append(await runner_once(kafka, factory, n, groups[2], batched=False))
        if hasattr(EventConsumer, "handles_batch"):  # (an older platform, for before/after)
            batched.append(await runner_once(kafka, factory, n, groups[3], batched=True))
    await factory.drop_all()
    figures = [
        Figure("outbox relay", f"{n:,} events published", "events/s", median(relay),
               "raw aiokafka producer, idempotent, acks=all", median(raw), relay, raw),
        *[Figure("outbox relay", "commit → consumer has it, 1,000/s for 10 s", f"ms {name}",
                 median([r[i] for r in latency]), "raw producer send → consumer has it",
                 median([r[i] for r in raw_latency]), [r[i] for r in latency],
                 [r[i] for r in raw_latency])
          for i, name in enumerate(("p50", "p99"))],
        Figure("runner, event handler", f"{n:,} events handled", "events/s", median(runner),
               "raw aiokafka consumer + asyncpg batch insert, no inbox", median(raw_insert),
               runner, raw_insert),
    ]
    if batched:
        figures += [
            Figure("runner, batch handler", f"{n:,} events handled", "events/s",
                   median(batched), "raw aiokafka consumer + asyncpg batch insert, no inbox",
                   median(raw_insert), batched, raw_insert),
            Figure("runner, batch handler", f"{n:,} events handled", "events/s",
                   median(batched), "raw aiokafka consumer, counting only (the broker's pace)",
                   median(raw_count), batched, raw_count),
        ]
    return figures
