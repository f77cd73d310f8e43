"""The consumer runner (docs/reliability.md): effects once, offsets after the transaction, retries
with backoff, and dead letters for what cannot be processed.

A service declares what it consumes with typed handlers:

    consumer = EventConsumer("hr")

    @consumer.handles(VisitCompleted)
    async def count_visit(session: AsyncSession, event: VisitCompleted, envelope: Envelope): ...

and the runner subscribes its group to those topics on a FastStream `KafkaBroker`. For each
record, in partition order:

1. decode the CloudEvents envelope and validate the data against the contract; a record that
   fails is *poison* and goes straight to the dead-letter topic `<group>.dlq`;
2. in one database transaction, record `(consumer, ce_id)` in the inbox and run the handler;
   an event seen before is skipped. A polled batch shares one transaction (one inbox insert
   for all; `handles_batch` handlers get all their events at once); when it fails, it is
   split until the failing record is alone;
3. a handler that raises is retried with exponential backoff, `max_attempts` times, then
   dead-lettered; a handler that raises `Unprocessable` is dead-lettered at once; an outage of
   the database itself is waited out, never dead-lettered (that would bury every message);
4. offsets are committed only after the record's transaction committed (or its dead letter
   was acknowledged), so a crash redelivers and the inbox absorbs the repeat.

Dead letters keep the original key, value and headers, plus `dlq_*` headers with the reason.
`club dlq replay` sends them back to their topic with a `club_replay_for` header naming the
group, so only that group processes them again; other groups skip them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import Counter as Counter_
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from club_contracts import Event
from club_platform.db import Database
from club_platform.envelope import Envelope, PoisonMessage, decode, format_time
from club_platform.inbox import first_deliveries, first_delivery
from club_platform.kafka import KafkaConnection, reliable_producer
from club_platform.projections import Projection
from club_platform.tracing import span
from faststream import AckPolicy, Context
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from prometheus_client import Counter, Histogram
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("club.consumer")

E = TypeVar("E", bound=Event)
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[tuple[Any, Envelope]]], Awaitable[None]]

REPLAY_HEADER = "club_replay_for"

CONSUMED = Counter("club_consumer_events_total", "Records handled, by outcome",
                   ["group", "topic", "outcome"])
HANDLE_SECONDS = Histogram("club_consumer_handle_seconds", "Handler transaction time", ["group"])


class Unprocessable(Exception):
    """Raised by a handler for an event no retry can fix: dead-lettered with this message."""


@dataclass
class EventConsumer:
    """What one service consumes: a handler per event type.

    `handles` registers `handler(session, event, envelope)`, called once per event.
    `handles_batch` registers `handler(session, [(event, envelope), …])`, called with every new
    event of its types in a polled batch, in arrival order — for projections that write many
    rows in one statement (fewer round trips; the inbox still guards each event).
    """

    name: str
    _handlers: dict[str, Handler] = field(default_factory=dict)
    _types: dict[str, type[Event]] = field(default_factory=dict)
    _batched: set[str] = field(default_factory=set)
    projections: dict[str, Projection] = field(default_factory=dict)

    def projection(self, name: str, *, topics: Sequence[str], tables: Sequence[str],
                   description: str = "") -> Projection:
        """Declare a table kept only from events, so operators can rebuild it from offset 0
        (club_platform.projections)."""
        unknown = set(topics) - set(self.topics)
        if unknown:
            raise ValueError(f"projection {name} reads topics this consumer does not: {unknown}")
        self.projections[name] = Projection(name, tuple(topics), tuple(tables), description)
        return self.projections[name]

    def handles(self, *event_types: type[E]) -> Callable[[Handler], Handler]:
        return self._register(event_types, batched=False)

    def handles_batch(self, *event_types: type[E]) -> Callable[[BatchHandler], BatchHandler]:
        return self._register(event_types, batched=True)

    def _register(self, event_types, *, batched: bool):
        def register(handler):
            for event_type in event_types:
                if event_type.ce_type() in self._handlers:
                    raise ValueError(f"{event_type.ce_type()} already has a handler")
                self._handlers[event_type.ce_type()] = handler
                self._types[event_type.ce_type()] = event_type
                if batched:
                    self._batched.add(event_type.ce_type())
            return handler

        return register

    def is_batched(self, ce_type: str) -> bool:
        return ce_type in self._batched

    @property
    def topics(self) -> list[str]:
        return sorted({t.topic for t in self._types.values()})

    @property
    def event_types(self) -> list[type[Event]]:
        return list(self._types.values())

    def handler_for(self, ce_type: str) -> Handler | None:
        return self._handlers.get(ce_type)


@dataclass(frozen=True)
class _Delivery:
    """A decoded record on its way to its handler; `index` is its place in the poll."""

    index: int
    record: ConsumerRecord
    envelope: Envelope
    event: Event
    handler: Handler
    batched: bool = False

    async def run(self, session: AsyncSession) -> None:
        if self.batched:
            await self.handler(session, [(self.event, self.envelope)])
        else:
            await self.handler(session, self.event, self.envelope)

    @property
    def trace_parent(self) -> dict[str, str] | None:
        return {"traceparent": self.envelope.traceparent} if self.envelope.traceparent else None


def is_outage(error: BaseException) -> bool:
    """True for failures of the database itself (down, restarting, connection lost, contention):
    those are waited out, not blamed on the message."""
    if isinstance(error, (OSError, ConnectionError, TimeoutError, asyncpg.InterfaceError,
                          asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, sa_exc.InterfaceError):
            return True
        state = getattr(error.orig, "sqlstate", None) or getattr(
            getattr(error.orig, "__cause__", None), "sqlstate", None
        )
        # connection exceptions, serialization failure, deadlock, shutdown, too many connections
        return bool(state) and (
            state.startswith("08") or state in {"40001", "40P01", "57P01", "57P02", "57P03",
                                                "53300"}
        )
    if isinstance(error, sa_exc.TimeoutError):  # pool exhausted
        return True
    return error.__cause__ is not None and error.__cause__ is not error and is_outage(
        error.__cause__
    )


class ConsumerRunner:
    """Runs one `EventConsumer` as a consumer group on a FastStream Kafka broker."""

    def __init__(
        self,
        consumer: EventConsumer,
        database: Database,
        kafka: KafkaConnection,
        *,
        group_id: str,
        max_batch: int = 500,
        max_attempts: int = 5,
        retry_backoff_ms: int = 100,
        max_outage_backoff: float = 10.0,
        auto_offset_reset: str = "earliest",
    ) -> None:
        self.consumer = consumer
        self.database = database
        self.kafka = kafka
        self.group_id = group_id
        self.dead_letter_topic = f"{group_id}.dlq"
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff_ms / 1000
        self.max_outage_backoff = max_outage_backoff
        self._stopping = asyncio.Event()
        self._dead_letters = None
        self.broker = KafkaBroker(
            kafka.servers,
            security=kafka.faststream_security(),
            logger=log,
            log_level=logging.DEBUG,  # FastStream's per-batch "Received"/"Processed" lines
            client_id=f"club-{group_id}",
            allow_auto_create_topics=False,
        )
        self._subscriber = self.broker.subscriber(
            *consumer.topics,
            group_id=group_id,
            batch=True,
            max_records=max_batch,
            batch_timeout_ms=200,
            auto_offset_reset=auto_offset_reset,
            ack_policy=AckPolicy.MANUAL,
            parser=self._parse,
            decoder=self._decode,
            title=f"{group_id}: {', '.join(consumer.topics)}",
            description=f"The {group_id} consumer group (dead letters: {self.dead_letter_topic}).",
        )
        self._subscriber(self._on_batch)

    async def start(self) -> None:
        self._stopping.clear()
        self._dead_letters = reliable_producer(self.kafka)
        await self._dead_letters.start()
        await self.broker.start()

    async def stop(self) -> None:
        self._stopping.set()
        await self.broker.stop()
        if self._dead_letters is not None:
            await self._dead_letters.stop()
            self._dead_letters = None

    # FastStream hands us the batch undecoded: a record whose headers are not even UTF-8
    # must reach our dead-letter path, not fail inside a generic parser.
    async def _parse(self, records: tuple[ConsumerRecord, ...]) -> KafkaMessage:
        return KafkaMessage(body=b"", raw_message=records, consumer=self._subscriber.consumer)

    async def _decode(self, message: KafkaMessage) -> tuple[ConsumerRecord, ...]:
        return message.raw_message

    async def _on_batch(self, message: KafkaMessage = Context("message")) -> None:
        kafka_consumer: AIOKafkaConsumer = self._subscriber.consumer
        records: Sequence[ConsumerRecord] = message.raw_message
        completed = 0
        try:
            completed = await self.handle_records(records)
        except Exception:
            # FastStream would swallow this and fetch past the unprocessed records: rewind.
            log.exception("consumer batch failed; rewinding to the first unprocessed record")
            await asyncio.sleep(1)
        finally:
            done: dict[TopicPartition, int] = {}
            for record in records[:completed]:
                done[TopicPartition(record.topic, record.partition)] = record.offset + 1
            rewind: dict[TopicPartition, int] = {}
            for record in records[completed:]:
                rewind.setdefault(TopicPartition(record.topic, record.partition), record.offset)
            for tp, offset in rewind.items():
                try:
                    kafka_consumer.seek(tp, offset)
                except (IllegalStateError, KafkaError, AssertionError):
                    pass  # revoked meanwhile: its new owner starts from the last commit
            if done:
                await self._commit(kafka_consumer, done)

    async def handle_records(self, records: Sequence[ConsumerRecord]) -> int:
        """Process a polled batch in order; returns how many leading records are finished.

        The fast path runs every decodable event of the batch in one transaction (one inbox
        insert for all, then each handler); if anything in it fails, the transaction rolls
        back and the batch is split (`_handle_group`) until the failing record is alone, with
        its retries and dead letter.
        """
        deliveries: list[_Delivery] = []
        for index, record in enumerate(records):
            delivery = await self._triage(index, record)
            if delivery is not None:
                deliveries.append(delivery)
        unfinished = await self._handle_group(deliveries)
        return len(records) if unfinished is None else unfinished.index

    async def _handle_group(self, deliveries: list[_Delivery]) -> _Delivery | None:
        """Handle deliveries in one transaction; when that fails, split them around the
        record that failed (or in halves, when a batch handler's failure names none) and try
        again, down to single records with their retries and dead letters. One bad record in
        a poll costs a few transactions, not one per record. Returns the first delivery left
        unhandled because the runner is stopping, or None."""
        if not deliveries:
            return None
        outage_backoff = self.retry_backoff
        while True:
            if self._stopping.is_set():
                return deliveries[0]
            together, culprit, error = await self._handle_together(deliveries)
            if together:
                return None
            if not is_outage(error):
                break
            # The database, not a record: wait and try the same group again (splitting it
            # would only multiply the failures).
            log.warning("database unavailable while handling a batch of %d: %s; waiting",
                        len(deliveries), error)
            await asyncio.sleep(outage_backoff)
            outage_backoff = min(outage_backoff * 2, self.max_outage_backoff)
        if len(deliveries) == 1 or culprit is not None:
            culprit = culprit or deliveries[0]
            at = deliveries.index(culprit)
            unfinished = await self._handle_group(deliveries[:at])
            if unfinished is not None:
                return unfinished
            if self._stopping.is_set():
                return culprit
            if isinstance(error, Unprocessable):
                await self._dead_letter(culprit.record, "unprocessable", str(error), 1)
                self._count(culprit.record, "dead_letter_unprocessable")
            else:  # it has had one attempt already, in the failed transaction
                await self._handle_alone(culprit, attempts=1)
            return await self._handle_group(deliveries[at + 1:])
        half = len(deliveries) // 2
        return (await self._handle_group(deliveries[:half])
                or await self._handle_group(deliveries[half:]))

    async def handle_record(self, record: ConsumerRecord) -> str:
        """Process one record to its end: handled, duplicate, skipped or dead-lettered."""
        delivery = await self._triage(0, record)
        if delivery is None:
            return "triaged"
        return await self._handle_alone(delivery)

    async def _triage(self, index: int, record: ConsumerRecord) -> _Delivery | None:
        """Decode a record; dead-letter poison, skip what is not ours. None when finished."""
        headers = list(record.headers or ())
        replay_for = next((v for k, v in headers if k == REPLAY_HEADER), None)
        if replay_for is not None and replay_for != self.group_id.encode():
            self._count(record, "skipped_replay")
            return None
        ce_type = next((v for k, v in headers if k == "ce_type"), b"")
        if (ce_type.startswith(f"club.{record.topic}.v".encode())
                and ce_type[len(record.topic) + 7:].isdigit()
                and self.consumer.handler_for(ce_type.decode()) is None):
            # Another major of a topic we read, published beside ours while consumers move
            # (docs/events.md): not ours to handle, and not poison.
            self._count(record, "ignored_type")
            return None
        try:
            envelope, event = decode(headers, record.value)
        except PoisonMessage as poison:
            await self._dead_letter(record, poison.reason, poison.detail, attempts=0)
            self._count(record, f"dead_letter_{poison.reason}")
            return None
        handler = self.consumer.handler_for(envelope.type)
        if handler is None:
            # Another major version of a topic we read, or a type we do not handle on it:
            # ours to ignore, not poison (docs/events.md publishes majors side by side).
            self._count(record, "ignored_type")
            return None
        return _Delivery(index, record, envelope, event, handler,
                         self.consumer.is_batched(envelope.type))

    async def _handle_together(
        self, deliveries: list[_Delivery]
    ) -> tuple[bool, _Delivery | None, Exception | None]:
        """All deliveries in one transaction. Returns whether that worked, and if not, the
        delivery whose handler failed (None if the failure was not one handler's) and why."""
        started = time.perf_counter()
        current: _Delivery | None = None
        outcomes: Counter_[tuple[str, str]] = Counter_()
        try:
            async with self.database.transaction() as session:
                fresh = await first_deliveries(
                    session, self.consumer.name,
                    [(d.envelope.id, d.record.topic) for d in deliveries])
                new: list[_Delivery] = []
                for delivery in deliveries:
                    if delivery.envelope.id in fresh:
                        fresh.discard(delivery.envelope.id)  # a repeat inside the batch
                        new.append(delivery)
                    else:
                        outcomes[(delivery.record.topic, "duplicate")] += 1
                batches: dict[Any, list[_Delivery]] = {}
                for delivery in new:
                    if delivery.batched:
                        batches.setdefault(delivery.handler, []).append(delivery)
                        continue
                    current = delivery
                    with span(f"consume {delivery.record.topic}", "club.consumer",
                              delivery.trace_parent):
                        await delivery.run(session)
                current = None
                for handler, group in batches.items():
                    # A failure here is the batch's; one by one below finds the culprit.
                    with span(f"consume {len(group)} × {group[0].record.topic}",
                              "club.consumer", group[0].trace_parent):
                        await handler(session, [(d.event, d.envelope) for d in group])
                for delivery in new:
                    outcomes[(delivery.record.topic, "handled")] += 1
        except Exception as e:  # each record gets its own chance below
            if len(deliveries) > 1:
                log.info("a batch of %d failed together (%s); splitting it",
                         len(deliveries), type(e).__name__)
            return False, current, e
        HANDLE_SECONDS.labels(self.group_id).observe(time.perf_counter() - started)
        for (topic, outcome), count in outcomes.items():
            CONSUMED.labels(self.group_id, topic, outcome).inc(count)
        return True, None, None

    async def _handle_alone(self, delivery: _Delivery, attempts: int = 0) -> str:
        record, envelope = delivery.record, delivery.envelope
        outage_backoff = self.retry_backoff
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                with span(f"consume {record.topic}", "club.consumer", delivery.trace_parent):
                    async with self.database.transaction() as session:
                        if not await first_delivery(session, self.consumer.name, envelope.id,
                                                    record.topic):
                            return self._count(record, "duplicate")
                        await delivery.run(session)
                HANDLE_SECONDS.labels(self.group_id).observe(time.perf_counter() - started)
                return self._count(record, "handled")
            except Unprocessable as e:
                await self._dead_letter(record, "unprocessable", str(e), attempts)
                return self._count(record, "dead_letter_unprocessable")
            except Exception as e:
                if is_outage(e):
                    attempts -= 1  # an outage is not the message's fault
                    log.warning("database unavailable while handling %s: %s; waiting",
                                envelope.type, e)
                    if self._stopping.is_set():
                        raise
                    await asyncio.sleep(outage_backoff)
                    outage_backoff = min(outage_backoff * 2, self.max_outage_backoff)
                    continue
                if attempts >= self.max_attempts:
                    log.error("handler for %s failed %d times; dead-lettering %s",
                              envelope.type, attempts, envelope.id, exc_info=e)
                    await self._dead_letter(record, "handler_failed", _describe(e), attempts)
                    return self._count(record, "dead_letter_handler_failed")
                log.warning("handler for %s failed (attempt %d/%d): %s", envelope.type,
                            attempts, self.max_attempts, e)
                await asyncio.sleep(self.retry_backoff * 2 ** (attempts - 1))

    async def _commit(self, kafka_consumer: AIOKafkaConsumer,
                      done: dict[TopicPartition, int]) -> None:
        assigned = kafka_consumer.assignment()
        offsets = {tp: off for tp, off in done.items() if tp in assigned}
        if not offsets:
            return
        try:
            await kafka_consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as e:
            # A rebalance took the partitions: their records come again to the new owner,
            # and the inbox makes the repeat harmless.
            log.warning("offset commit failed (%s); the records will be redelivered", e)

    def _count(self, record: ConsumerRecord, outcome: str) -> str:
        CONSUMED.labels(self.group_id, record.topic, outcome).inc()
        return outcome

    async def _dead_letter(self, record: ConsumerRecord, reason: str, detail: str,
                           attempts: int) -> None:
        headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq_")]
        headers += [
            ("dlq_reason", reason.encode()),
            ("dlq_error", detail[:4000].encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_failed_at", format_time(datetime.now(UTC)).encode()),
        ]
        backoff = self.retry_backoff
        while True:
            # The offset is committed only once the dead letter is safe on the bus.
            try:
                await self._dead_letters.send_and_wait(
                    self.dead_letter_topic, value=record.value, key=record.key, headers=headers
                )
                log.warning("dead-lettered %s@%d/%d: %s: %s", record.topic, record.partition,
                            record.offset, reason, detail[:300])
                return
            except (KafkaError, OSError) as e:
                log.warning("cannot write dead letter yet (%s); retrying", e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_outage_backoff)


def _describe(error: BaseException) -> str:
    last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" at {last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno}" if last else ""
    return f"{type(error).__name__}: {error}{where}"
