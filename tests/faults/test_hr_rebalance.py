"""Fault 5 (issue 9): two HR replicas in one consumer group, on one database, share HR's
partitions; one is killed with SIGKILL in the middle of the stream. The group rebalances, the
survivor takes over the dead replica's partitions from their last committed offsets, and HR's
KPI facts, door clockings and cases equal the events sent, exactly: the rebalance loses and
duplicates nothing."""

from __future__ import annotations

import asyncio

import pytest
from club_platform.auth import Role
from club_platform.testing import caught_up, wait_for

from .hr_stream import EVENTS, MIX, READ, hr_stream, hr_tally
from .traffic import HealthWatch, Producer, ServiceData, consumer_counts, group_members


@pytest.mark.slow
async def test_one_of_two_hr_replicas_killed_mid_stream_the_rebalance_loses_and_doubles_nothing(
    spawn, kafka_connection, token, fault_report, flooded_topics
):
    flooded_topics.update(MIX)
    survivor = await spawn("hr", name="hr-replica-survivor")
    victim = await spawn("hr", database_url=survivor.database_url, group=survivor.group,
                         name="hr-replica-victim")
    data = ServiceData(survivor.database_url)

    async def group_of(members: int) -> bool:
        return await group_members(kafka_connection, survivor.group) == ("Stable", members)

    await wait_for(lambda: group_of(2), timeout=120, interval=0.5,
                   what="both replicas sharing the group's partitions")
    records = hr_stream(EVENTS, seed=5)
    half = EVENTS // 2
    head = token(Role.HEAD)
    watch = HealthWatch(survivor.url, head, READ).start()
    try:
        async with Producer(kafka_connection) as producer:
            sending = asyncio.create_task(producer.publish_paced(records[:half]))

            async def both_busy() -> bool:
                handled = [(await consumer_counts(p.url)).get("handled", 0)
                           for p in (survivor, victim)]
                return all(handled) and await data.inbox("hr") >= EVENTS // 4

            await wait_for(both_busy, timeout=180, interval=0.2,
                           what="both replicas handling, a quarter of the events done")
            victim_handled = (await consumer_counts(victim.url))["handled"]
            victim.kill()
            handled_at_kill = await data.inbox("hr")
            await sending
            assert 0 < handled_at_kill < half, handled_at_kill
            # The rest arrives while the group notices the dead member and rebalances.
            await producer.publish_paced(records[half:])

        async def all_handled() -> bool:
            return await data.inbox("hr") >= EVENTS

        await wait_for(all_handled, timeout=300, interval=0.5,
                       what=f"all {EVENTS} events handled by the survivor")
        # Counted once the group has committed the end of every topic: nothing is left to
        # be delivered again, so a duplicate would already be in the database.
        await wait_for(lambda: caught_up(kafka_connection, survivor.group, list(MIX)), timeout=120,
                       interval=0.5, what="HR's group committed at the end of every topic")
        tally = await hr_tally(data, records)
        total_handled = await data.inbox("hr")
        survivor_counts = await consumer_counts(survivor.url)
        members_after = await group_members(kafka_connection, survivor.group)
    finally:
        await watch.stop()
        await data.close()
        for process in (survivor, victim):  # done: no CPU for the tests after this one
            await process.stop()

    fault_report(
        "HR replica killed, group rebalances",
        f"{EVENTS} events on HR's 7 topics, 2 replicas in one group on one database",
        f"SIGKILL of one replica at {handled_at_kill} handled ({int(victim_handled)} by it)",
        lost=tally.lost, duplicated=tally.duplicated, server_errors=watch.server_errors,
        note=f"survivor: {int(survivor_counts.get('handled', 0))} handled, "
             f"{int(survivor_counts.get('duplicate', 0))} redelivered and skipped by the inbox")
    assert members_after == ("Stable", 1)  # the dead replica left, the survivor owns it all
    assert tally.found == tally.expected, tally  # a duplicate fact row would be extra
    assert total_handled == EVENTS
    assert watch.server_errors == 0
    assert watch.answered_well, watch.answers
