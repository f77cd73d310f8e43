"""The expected arrivals can be rebuilt from the topics, and the rebuild equals the live table
(docs/reliability.md, "Replay"): the same events read again, in another interleaving, into an
emptied table give the same rows."""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from club_contracts import BookingCancelled, BookingRescheduled
from club_platform.consumer import ConsumerRunner
from club_platform.kafka import partitions_of
from club_platform.projections import GroupInUse, forget, rewind_group
from club_platform.testing import start_group_at_end, wait_for
from club_platform.testing.plugin import unique_name

from club_reception.handlers import consumer
from club_reception.services import BOOKING_TOPICS

ROWS = "SELECT * FROM expected_arrivals WHERE booking_id = ANY(:ids) ORDER BY booking_id"


def _story(desk, index: int) -> list:
    """A booking's events: created, rescheduled twice, every third one cancelled, and one
    cancelled by an event that names the wrong customer."""
    booking = desk.booking(starts_in=timedelta(hours=index + 1))
    now = desk.clock.now()
    events = [booking]
    for step in (1, 2):
        starts = booking.starts_at + timedelta(minutes=15 * step)
        events.append(BookingRescheduled(
            booking_id=booking.booking_id, customer_id=booking.customer_id,
            resource_id=uuid4(), previous_starts_at=booking.starts_at,
            previous_ends_at=booking.ends_at, starts_at=starts,
            ends_at=starts + timedelta(hours=1), rescheduled_by=uuid4(),
            rescheduled_at=now - timedelta(minutes=60 - step)))
    if index % 3 == 0:
        events.append(BookingCancelled(
            booking_id=booking.booking_id, customer_id=booking.customer_id, reason="ill",
            late=True, cancelled_by=uuid4(), cancelled_at=now))
    if index == 1:  # an upstream fault: a cancellation naming another customer
        events.append(BookingCancelled(
            booking_id=booking.booking_id, customer_id=uuid4(), reason="?", late=False,
            cancelled_by=uuid4(), cancelled_at=now))
    return events


async def _committed(kafka, group: str) -> dict[TopicPartition, int]:
    client = AIOKafkaConsumer(**kafka.client_args(), group_id=group, enable_auto_commit=False)
    await client.start()
    try:
        partitions = await partitions_of(client, BOOKING_TOPICS)
        return {tp: await client.committed(tp) for tp in partitions}
    finally:
        await client.stop()


async def test_rebuilding_the_expected_arrivals_from_the_topics(desk, kafka_connection):
    kafka = desk.runtime.kafka
    # Where the topics end now: the replay starts here (a real rebuild starts at offset 0).
    replay_group = unique_name("reception-replay")
    await start_group_at_end(kafka_connection, replay_group, consumer.topics)
    start = await _committed(kafka, replay_group)

    stories = [_story(desk, i) for i in range(6)]
    events = [e for story in stories for e in story]
    random.Random(7).shuffle(events)
    published = [(await desk.publisher.publish(event)).id for event in events]
    for event in random.Random(8).sample(events, 5):  # and some again, under new ids
        published.append((await desk.publisher.publish(event)).id)
    ids = [story[0].booking_id for story in stories]
    await wait_for(lambda: _all_final(desk, stories), timeout=90, what="live projection")
    # The rows can look final while a repeat under a new id is still on its way; the live
    # consumer must have taken every event before the table is emptied, or a late one lands
    # in the emptied table.
    await wait_for(lambda: _all_received(desk, published), timeout=90, what="live inbox")
    live = await desk.rows(ROWS, ids=ids)
    assert len(live) == 6
    assert sum(r["cancelled_at"] is not None for r in live) == 3
    assert [r["booking_id"] for r in live if r["customer_disputed"]] == [ids[1]]

    # The rebuild: empty the projection, forget the booking events in the inbox, read the
    # booking topics again with a fresh group.
    async with desk.runtime.database.transaction() as session:
        await forget(session, consumer.name, consumer.projections["expected_arrivals"])
    assert await desk.rows(ROWS, ids=ids) == []
    await rewind_group(kafka, replay_group, BOOKING_TOPICS, to=start)
    replay = ConsumerRunner(consumer, desk.runtime.database, kafka, group_id=replay_group,
                            retry_backoff_ms=20)
    await replay.start()
    try:
        await wait_for(lambda: _all_final(desk, stories), timeout=90, what="rebuilt projection")
    finally:
        await replay.stop()
    assert await desk.rows(ROWS, ids=ids) == live


async def _all_received(desk, event_ids) -> bool:
    rows = await desk.rows("SELECT count(*) AS n FROM inbox WHERE consumer = :consumer"
                           " AND event_id = ANY(:ids)", consumer=consumer.name, ids=event_ids)
    return rows[0]["n"] == len(event_ids)


async def _all_final(desk, stories) -> bool:
    rows = {r["booking_id"]: r for r in await desk.rows(
        ROWS, ids=[story[0].booking_id for story in stories])}
    for story in stories:
        row = rows.get(story[0].booking_id)
        newest = story[2]
        if row is None or row["booked_at"] is None or row["starts_at"] != newest.starts_at:
            return False
        if isinstance(story[-1], BookingCancelled) and row["cancelled_at"] is None:
            return False
        if row["customer_id"] != story[0].customer_id:
            return False
    return True


async def test_a_running_service_is_never_rewound(desk):
    with pytest.raises(GroupInUse, match="stop every replica"):
        await rewind_group(desk.runtime.kafka, desk.runtime.settings.group_id, BOOKING_TOPICS)
