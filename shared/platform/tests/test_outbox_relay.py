"""The transactional outbox and its relay (docs/reliability.md, "nothing lost"), on real PostgreSQL
and a real Kafka broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
import sqlalchemy as sa
from club_contracts import StaffChanged
from club_platform.db import Database
from club_platform.outbox import OutboxRelay, publish
from club_platform.testing import wait_for


def staff_changed(staff_id: UUID, status: str = "active") -> StaffChanged:
    return StaffChanged(staff_id=staff_id, role="attendant", status=status,
                        effective_at=datetime.now(UTC))


@pytest_asyncio.fixture(loop_scope="session")
async def relay(clean_database: Database, kafka_connection) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(clean_database.url, kafka_connection, poll_interval=0.2, max_backoff=1)
    task = asyncio.create_task(relay.run())
    yield relay
    await relay.stop()
    await asyncio.wait_for(task, 20)


async def outbox_rows(database: Database) -> int:
    async with database.transaction() as session:
        return await session.scalar(sa.text("SELECT count(*) FROM outbox"))


async def test_a_committed_event_reaches_its_topic_with_the_envelope_and_key(
    clean_database, relay, kafka_tap
):
    staff_id = uuid4()
    async with kafka_tap("staff.changed") as tap:
        async with clean_database.transaction() as session:
            event_id = await publish(session, staff_changed(staff_id))
        (seen,) = await tap.events(StaffChanged, key=staff_id)

    assert seen.key == str(staff_id)
    assert seen.headers == {
        "ce_specversion": "1.0",
        "ce_id": str(event_id),
        "ce_source": "club/hr",
        "ce_type": "club.staff.changed.v1",
        "ce_time": seen.headers["ce_time"],
        "ce_subject": str(staff_id),
        "content-type": "application/json",
    }
    assert datetime.fromisoformat(seen.headers["ce_time"].replace("Z", "+00:00")) <= datetime.now(
        UTC)
    assert seen.event.staff_id == staff_id
    assert await wait_for(lambda: _empty(clean_database), what="outbox drained")


async def _empty(database: Database) -> bool:
    return await outbox_rows(database) == 0


async def test_a_rolled_back_transaction_publishes_nothing(clean_database, relay, kafka_tap):
    rolled_back, committed = uuid4(), uuid4()
    async with kafka_tap("staff.changed") as tap:
        with pytest.raises(RuntimeError):
            async with clean_database.transaction() as session:
                await publish(session, staff_changed(rolled_back))
                raise RuntimeError("the business rule failed after the event was written")
        async with clean_database.transaction() as session:
            await publish(session, staff_changed(committed))
        # The committed event arriving proves the relay ran past the rolled-back one.
        await tap.events(StaffChanged, key=committed)
        seen = await tap.settle(1.0)
    assert [s for s in seen if s.key == str(rolled_back)] == []


async def test_a_trace_in_progress_travels_as_traceparent(clean_database, relay, kafka_tap):
    from club_platform.tracing import span

    staff_id = uuid4()
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with kafka_tap("staff.changed") as tap:
        with span("request", "test", {"traceparent": parent}):
            async with clean_database.transaction() as session:
                await publish(session, staff_changed(staff_id))
        (seen,) = await tap.events(StaffChanged, key=staff_id)
    assert seen.headers["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")


async def test_only_one_relay_leads_per_database(clean_database, kafka_connection, kafka_tap):
    relays = [OutboxRelay(clean_database.url, kafka_connection, poll_interval=0.1)
              for _ in range(3)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        await wait_for(lambda: sum(r.is_leader for r in relays) == 1, what="one leader")
        await asyncio.sleep(0.5)
        assert sum(r.is_leader for r in relays) == 1
        keys = [uuid4() for _ in range(30)]
        async with kafka_tap("staff.changed") as tap:
            for key in keys:
                async with clean_database.transaction() as session:
                    await publish(session, staff_changed(key))
            await tap.wait_for(lambda s: s.key in {str(k) for k in keys}, count=30)
            seen = await tap.settle(0.5)
        ours = [s for s in seen if s.key in {str(k) for k in keys}]
        assert len(ours) == 30  # each exactly once: no two relays sent the same rows
        # The leader stepping down hands over to another.
        leader = next(r for r in relays if r.is_leader)
        await leader.stop()
        await wait_for(lambda: sum(r.is_leader for r in relays if r is not leader) == 1,
                       what="a new leader", timeout=20)
    finally:
        for r in relays:
            await r.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 20)


@pytest.mark.broker_outage
async def test_with_kafka_down_commits_succeed_and_everything_goes_out_in_order_afterwards(
    clean_database, relay, kafka_tap, kafka_broker
):
    staff = [uuid4() for _ in range(5)]
    statuses = ["active", "suspended", "active", "suspended", "offboarded"]
    kafka_broker.stop()
    try:
        # Requests keep committing while the broker is down: nothing waits on Kafka.
        for status in statuses:
            for staff_id in staff:
                async with clean_database.transaction() as session:
                    await asyncio.wait_for(publish(session, staff_changed(staff_id, status)), 5)
        assert await outbox_rows(clean_database) == 25
    finally:
        kafka_broker.start()
    from club_platform.cli import read_topic

    await wait_for(lambda: _empty(clean_database), timeout=60, what="outbox drained")
    seen: dict[str, list[str]] = {str(s): [] for s in staff}
    ids: dict[str, list[str]] = {str(s): [] for s in staff}
    async for record in read_topic(relay._kafka, "staff.changed", from_beginning=True,
                                   limit=None, idle_seconds=1.5):
        key = record.key.decode()
        if key in seen:
            from club_platform.envelope import decode

            envelope, event = decode(list(record.headers), record.value)
            if str(envelope.id) not in ids[key]:  # a resend is a duplicate of the same ce_id
                ids[key].append(str(envelope.id))
                seen[key].append(event.status)
    assert seen == {str(s): statuses for s in staff}


async def test_a_row_committed_after_a_later_row_was_sent_still_goes_out(
    clean_database, relay, kafka_tap
):
    """Ids are taken at insert, commits happen in any order: a transaction that inserted
    first and commits last must not be skipped by a relay that already sent a larger id."""
    early, late = uuid4(), uuid4()
    async with kafka_tap("staff.changed") as tap:
        async with clean_database.sessions() as slow, slow.begin():
            await publish(slow, staff_changed(early))  # takes the smaller id, commits last
            async with clean_database.transaction() as quick:
                await publish(quick, staff_changed(late))
            await tap.events(StaffChanged, key=late)  # the larger id is out
            await asyncio.sleep(0.5)  # the relay moves on, with more batches behind it
        await tap.events(StaffChanged, key=early, timeout=15)
    await wait_for(lambda: _empty(clean_database), what="outbox drained")
