"""Kafka helpers for tests: watch topics from "now", publish events as another service would,
and start a consumer group at the end of its topics so a test sees only its own events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from club_contracts import Event
from club_platform.envelope import Envelope, PoisonMessage, decode, encode, envelope_for
from club_platform.kafka import KafkaConnection, partitions_of, reliable_producer


@dataclass
class Seen:
    """One record a tap saw: the raw record (for headers and key) and, when it decodes, the
    envelope and the validated event."""

    record: ConsumerRecord
    envelope: Envelope | None
    event: Event | None

    @property
    def headers(self) -> dict[str, str]:
        return {k: v.decode(errors="replace") for k, v in self.record.headers or ()}

    @property
    def key(self) -> str | None:
        return self.record.key.decode() if self.record.key is not None else None


class TopicTap:
    """Reads `topics` from their end at the moment the tap starts."""

    def __init__(self, connection: KafkaConnection, topics: list[str]) -> None:
        self._connection = connection
        self.topics = topics
        self.seen: list[Seen] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> TopicTap:
        self._consumer = AIOKafkaConsumer(**self._connection.client_args(),
                                          enable_auto_commit=False, group_id=None)
        await self._consumer.start()
        self._consumer.assign(await partitions_of(self._consumer, self.topics))
        await self._consumer.seek_to_end()
        for tp in self._consumer.assignment():
            await self._consumer.position(tp)  # resolve "end" now, not at the first fetch
        return self

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def __aenter__(self) -> TopicTap:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    async def _poll(self, timeout: float) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000), max_records=5000)
        for records in batches.values():
            for record in records:
                try:
                    envelope, event = decode(list(record.headers or ()), record.value)
                except PoisonMessage:
                    envelope, event = None, None
                self.seen.append(Seen(record, envelope, event))

    async def wait_for(self, predicate: Callable[[Seen], bool], *, count: int = 1,
                       timeout: float = 30.0) -> list[Seen]:
        """Wait until `count` seen records match; fail with what was seen if they do not."""
        deadline = time.monotonic() + timeout
        while True:
            matches = [s for s in self.seen if predicate(s)]
            if len(matches) >= count:
                return matches
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                summary = [(s.record.topic, s.key) for s in self.seen[-20:]]
                raise AssertionError(
                    f"expected {count} matching records on {self.topics} within {timeout}s, "
                    f"found {len(matches)}; last seen: {summary}"
                )
            await self._poll(min(0.5, remaining))

    async def events(self, event_type: type[Event], *, key: str | UUID | None = None,
                     count: int = 1, timeout: float = 30.0) -> list[Seen]:
        return await self.wait_for(
            lambda s: isinstance(s.event, event_type)
            and (key is None or s.key == str(key)),
            count=count, timeout=timeout,
        )

    async def settle(self, seconds: float = 1.0) -> list[Seen]:
        """Read for `seconds` more and return everything seen: for asserting absence."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            await self._poll(min(0.5, remaining))
        return self.seen


class EventPublisher:
    """Publishes contract events on their real topics with the CloudEvents envelope, the way
    their producing service's relay would."""

    def __init__(self, connection: KafkaConnection) -> None:
        self._producer = reliable_producer(connection)

    async def start(self) -> EventPublisher:
        await self._producer.start()
        return self

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, event: Event, *, envelope: Envelope | None = None) -> Envelope:
        envelope = envelope or envelope_for(event)
        key, value, headers = encode(event, envelope)
        await self._producer.send_and_wait(event.topic, value=value, key=key, headers=headers)
        return envelope

    async def send_raw(self, topic: str, value: bytes | None, *, key: bytes | None = None,
                       headers: list[tuple[str, bytes]] | None = None) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key, headers=headers or [])


async def start_group_at_end(connection: KafkaConnection, group_id: str,
                             topics: list[str]) -> None:
    """Commit the current end of `topics` for a new consumer group, so that when the service
    under test joins with it, it reads only what is published from now on."""
    consumer = AIOKafkaConsumer(**connection.client_args(), group_id=group_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(await partitions_of(consumer, topics))
        await consumer.seek_to_end()
        offsets = {tp: await consumer.position(tp) for tp in consumer.assignment()}
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def wait_for(predicate: Callable[[], object], *, timeout: float = 30.0,
                   interval: float = 0.1, what: str = "condition") -> object:
    """Poll an async or plain predicate until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        await asyncio.sleep(interval)


async def end_offsets(kafka: KafkaConnection, topics: list[str]) -> dict:
    """The offset after the last record of every partition of `topics`."""
    consumer = AIOKafkaConsumer(**kafka.client_args(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        return await consumer.end_offsets(await partitions_of(consumer, topics))
    finally:
        await consumer.stop()


async def caught_up(kafka: KafkaConnection, group: str, topics: list[str]) -> bool:
    """True once `group` has committed offsets at the end of every partition of `topics`.

    A consumer commits only after its transaction (and any dead letter) is written, so from
    then on its database and dead-letter topic hold everything sent so far, and nothing is
    left for Kafka to deliver again: a count taken now is final. Tests wait for this rather
    than for a fixed while in which a duplicate "would have shown"."""
    ends = await end_offsets(kafka, topics)
    admin = AIOKafkaAdminClient(**kafka.client_args())
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return all(end == 0 or (tp in committed and committed[tp].offset >= end)
               for tp, end in ends.items())


async def forget_history(kafka: KafkaConnection, topics: list[str]) -> None:
    """Delete every record of `topics` written so far (Kafka's delete-records). Topics keep
    their records forever, so a flood left there is read again by every rebuild from offset 0;
    only for a broker that is ours to manage."""
    ends = await end_offsets(kafka, topics)
    admin = AIOKafkaAdminClient(**kafka.client_args())
    await admin.start()
    try:
        await admin.delete_records({tp: RecordsToDelete(end) for tp, end in ends.items()},
                                   timeout_ms=30_000)
    finally:
        await admin.close()
