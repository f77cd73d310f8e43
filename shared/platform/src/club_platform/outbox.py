"""The transactional outbox (docs/reliability.md, "nothing lost").

`publish(session, event)` writes the event into the service's `outbox` table inside the
caller's transaction, so the state change and its event commit or vanish together. The
`OutboxRelay` moves committed rows to Kafka:

- one relay per database holds the lead (a session-level advisory lock), so rows are sent in
  id order by one producer and per-key order holds on the bus;
- it wakes on LISTEN/NOTIFY and polls as a fallback (NOTIFY is lost while disconnected);
- the producer is idempotent with acks=all; a row is deleted only after Kafka acknowledged it;
- while Kafka is down it backs off and retries; requests keep committing meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import asyncpg
import orjson
from aiokafka.errors import KafkaError
from club_contracts import Event
from club_platform.db import OUTBOX_CHANNEL, OUTBOX_TABLE, asyncpg_dsn, outbox
from club_platform.envelope import envelope_for
from club_platform.kafka import KafkaConnection, reliable_producer
from club_platform.tracing import current_traceparent
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("club.outbox")

# Any constant works as long as every relay of a database uses the same one.
RELAY_LOCK_KEY = 0x0C1B0_0B0C

PUBLISHED = Counter("club_outbox_published_total", "Events the relay published", ["topic"])
SEND_FAILURES = Counter("club_outbox_send_failures_total", "Relay batches Kafka refused")
PENDING = Gauge("club_outbox_pending", "Rows waiting in the outbox at the last relay pass")
LEADER = Gauge("club_outbox_relay_leader", "1 while this process's relay holds the lead")
COMMIT_TO_PUBLISH = Histogram(
    "club_outbox_commit_to_publish_seconds",
    "From the row's insert to Kafka's acknowledgement",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)



def outbox_row(event: Event, *, event_id: UUID | None = None,
               occurred_at: datetime | None = None) -> dict:
    envelope = envelope_for(event, event_id=event_id, time=occurred_at,
                            traceparent=current_traceparent())
    return {
        "event_id": envelope.id,
        "topic": event.topic,
        "key": event.key,
        # pairs, not an object: JSONB would reorder the names
        "headers": [[name, value.decode()] for name, value in envelope.headers()],
        "payload": event.to_json(),
    }


async def publish(session: AsyncSession, event: Event, *, event_id: UUID | None = None,
                  occurred_at: datetime | None = None) -> UUID:
    """Write `event` to the outbox in the session's transaction; returns its `ce_id`."""
    row = outbox_row(event, event_id=event_id, occurred_at=occurred_at)
    await session.execute(insert(outbox).values(**row))
    return row["event_id"]


async def publish_all(session: AsyncSession, events: Iterable[Event]) -> list[UUID]:
    rows = [outbox_row(e) for e in events]
    if rows:
        await session.execute(insert(outbox), rows)
    return [r["event_id"] for r in rows]


class OutboxRelay:
    def __init__(
        self,
        database_url: str,
        kafka: KafkaConnection,
        *,
        batch_size: int = 1000,
        poll_interval: float = 1.0,
        max_backoff: float = 10.0,
        name: str = "relay",
    ) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._kafka = kafka
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._name = name
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.is_leader = False
        self.published = 0

    async def run(self) -> None:
        """Lead or wait to lead, until `stop()`; survives database and Kafka outages."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                await self._lead()
                backoff = 0.5
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
                log.warning("outbox relay lost its database connection: %s", e)
            except Exception:
                log.exception("outbox relay failed; restarting")
            finally:
                self._set_leader(False)
            await self._sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _set_leader(self, leading: bool) -> None:
        self.is_leader = leading
        LEADER.set(1 if leading else 0)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _lead(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(
            self._dsn, timeout=5, server_settings={"application_name": f"club-{self._name}"}
        )
        try:
            while not self._stopping.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                    break
                await self._sleep(self._poll_interval * 2)  # another relay leads; stand by
            else:
                return
            self._set_leader(True)
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
            await self._relay(conn)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _relay(self, conn: asyncpg.Connection) -> None:
        """Send batches in id order, keeping up to `WINDOW` batches in flight: the next batch is
        read from PostgreSQL and handed to the producer while Kafka acknowledges the previous
        one. Rows are deleted oldest batch first, only up to the first unacknowledged row; after
        a failure everything from that row on is sent again (a consumer's inbox drops the
        repeats), so nothing is lost and per-key order holds."""
        producer = None
        backoff = 0.2
        in_flight: collections.deque[_Batch] = collections.deque()
        try:
            while not self._stopping.is_set():
                if len(in_flight) < WINDOW:
                    self._wake.clear()
                    # The oldest rows not already in flight. Not "ids after the last one
                    # sent": ids are taken at insert and transactions commit in any order, so
                    # a row with a smaller id can become visible after a larger one was sent.
                    # (Rows of one aggregate are written under its row lock, so their ids
                    # and commits keep the same order: per-key order holds.)
                    rows = await conn.fetch(
                        f"SELECT id, topic, key, headers, payload, created_at "
                        f"FROM {OUTBOX_TABLE} WHERE id <> ALL($1::bigint[]) ORDER BY id LIMIT $2",
                        [r["id"] for batch in in_flight for r in batch.rows], self._batch_size,
                    )
                    if rows:
                        if producer is None:
                            producer = await self._start_producer(len(rows))
                            if producer is None:
                                await self._sleep(backoff)
                                backoff = min(backoff * 2, self._max_backoff)
                                continue
                        in_flight.append(await self._hand_over(producer, rows))
                        continue
                if not in_flight:
                    PENDING.set(0)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                    continue
                batch = in_flight.popleft()
                acknowledged = await batch.acknowledged()
                if acknowledged:
                    await conn.execute(
                        f"DELETE FROM {OUTBOX_TABLE} WHERE id = ANY($1::bigint[])",
                        [r["id"] for r in batch.rows[:acknowledged]],
                    )
                    self.published += acknowledged
                    backoff = 0.2
                PENDING.set(sum(len(b.rows) for b in in_flight))
                if acknowledged < len(batch.rows):
                    SEND_FAILURES.inc()
                    # Let what is still in flight settle (it is sent again regardless), then
                    # start a fresh producer: an idempotent one can wedge after a failed batch
                    # (aiokafka #1017). Resend from the first unacknowledged row.
                    for later in in_flight:
                        await later.acknowledged()
                    in_flight.clear()
                    await _close_quietly(producer)
                    producer = None
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
        finally:
            for later in in_flight:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(later.acknowledged(), 10)
            if producer is not None:
                await _close_quietly(producer)

    async def _start_producer(self, waiting: int):
        producer = reliable_producer(self._kafka)
        try:
            await producer.start()
            return producer
        except (KafkaError, OSError) as e:
            log.warning("relay cannot reach Kafka, %d rows wait: %s", waiting, e)
            SEND_FAILURES.inc()
            await _close_quietly(producer)
            return None

    async def _hand_over(self, producer, rows: list[asyncpg.Record]) -> _Batch:
        """Give rows to the producer in order (it batches and sends them); a row it refuses
        and every row after it count as not acknowledged."""
        futures = []
        try:
            for row in rows:
                headers = [(k, v.encode()) for k, v in orjson.loads(row["headers"])]
                futures.append(await producer.send(
                    row["topic"], value=row["payload"], key=row["key"].encode(),
                    headers=headers))
        except (KafkaError, OSError) as e:
            log.warning("relay could not hand rows to the producer: %s", e)
        return _Batch(rows, futures)


WINDOW = 2  # batches in flight: enough to overlap reading PostgreSQL with Kafka's acks


class _Batch:
    def __init__(self, rows: list[asyncpg.Record], futures: list[asyncio.Future]) -> None:
        self.rows, self.futures = rows, futures
        self._acknowledged: int | None = None

    async def acknowledged(self) -> int:
        """How many rows, from the first, Kafka acknowledged."""
        if self._acknowledged is not None:
            return self._acknowledged
        results = await asyncio.gather(*self.futures, return_exceptions=True)
        count = 0
        for result in results:
            if isinstance(result, BaseException):
                log.warning("Kafka refused an outbox batch: %r", result)
                break
            count += 1
        self._acknowledged = count
        now = time.time()
        per_topic: collections.Counter[str] = collections.Counter()
        for row in self.rows[:count]:
            per_topic[row["topic"]] += 1
            COMMIT_TO_PUBLISH.observe(max(0.0, now - row["created_at"].timestamp()))
        for topic, n in per_topic.items():
            PUBLISHED.labels(topic).inc(n)
        return count


async def _close_quietly(producer) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(producer.stop(), 10)
