"""Fault 1 (issue 9): HR is killed with SIGKILL in the middle of 10,000 events and started
again on the same database and consumer group. Its KPI facts equal the events sent, exactly
(per kind, none lost, none twice), and so do its door clockings and the discipline cases that
upheld complaints open.

Why it holds (docs/reliability.md): a batch's effects and inbox rows commit in one transaction and
the offsets only after it, so the kill loses at most an uncommitted transaction (redelivered)
or an offset commit (redelivered, and skipped by the inbox)."""

from __future__ import annotations

import asyncio

import pytest
from club_platform.auth import Role
from club_platform.testing import caught_up, wait_for

from .hr_stream import EVENTS, MIX, READ, hr_stream, hr_tally
from .traffic import HealthWatch, Producer, ServiceData, consumer_counts


@pytest.mark.slow
async def test_hr_killed_mid_stream_and_restarted_keeps_exactly_the_facts_sent(
    spawn, kafka_connection, token, fault_report, flooded_topics
):
    flooded_topics.update(MIX)
    hr = await spawn("hr", name="hr-to-kill")
    processes = [hr]
    data = ServiceData(hr.database_url)
    records = hr_stream(EVENTS, seed=1)
    half = EVENTS // 2
    head = token(Role.HEAD)
    watches = [HealthWatch(hr.url, head, READ).start()]
    try:
        async with Producer(kafka_connection) as producer:
            # The first half streams in; once a quarter of all is handled, HR is killed while
            # it is busy: the second half has not even been sent.
            sending = asyncio.create_task(producer.publish_paced(records[:half]))

            async def quarter_handled() -> bool:
                return await data.inbox("hr") >= EVENTS // 4

            await wait_for(quarter_handled, timeout=180, what="a quarter of the events handled")
            hr.kill()
            handled_at_kill = await data.inbox("hr")
            await sending
            assert 0 < handled_at_kill < half, handled_at_kill

            # The rest arrives while HR starts again on the same database and group.
            sending = asyncio.create_task(producer.publish_paced(records[half:]))
            again = await spawn("hr", database_url=hr.database_url, group=hr.group,
                                name="hr-restarted")
            processes.append(again)
            watches.append(HealthWatch(again.url, head, READ).start())
            await sending

        async def all_handled() -> bool:
            return await data.inbox("hr") >= EVENTS

        await wait_for(all_handled, timeout=300, interval=0.5,
                       what=f"all {EVENTS} events handled after the restart")
        # Counted once the group has committed the end of every topic: nothing is left to
        # be delivered again, so a duplicate would already be in the database.
        await wait_for(lambda: caught_up(kafka_connection, again.group, list(MIX)), timeout=120,
                       interval=0.5, what="HR's group committed at the end of every topic")
        tally = await hr_tally(data, records)
        redelivered = (await consumer_counts(again.url)).get("duplicate", 0)
        total_handled = await data.inbox("hr")
    finally:
        for watch in watches:
            await watch.stop()
        await data.close()
        for process in processes:  # done: no CPU for the tests after this one
            await process.stop()

    server_errors = sum(w.server_errors for w in watches)
    fault_report(
        "HR killed mid-stream", f"{EVENTS} events on HR's 7 fact and attendance topics",
        f"SIGKILL at {handled_at_kill} handled, restart on the same database and group",
        lost=tally.lost, duplicated=tally.duplicated, server_errors=server_errors,
        note=f"{int(redelivered)} redelivered after the restart, skipped by the inbox; "
             f"{sum(v for k, v in tally.expected.items() if k.startswith('fact'))} KPI facts, "
             f"{tally.expected['door clockings']} clockings, "
             f"{tally.expected['cases for upheld complaints']} cases counted exactly")
    assert tally.expected["cases for upheld complaints"] > 0  # the case check is not vacuous
    assert tally.found == tally.expected, tally  # a duplicate fact row would be extra
    assert total_handled == EVENTS  # and nothing the test did not send
    assert server_errors == 0
    assert all(w.answered_well for w in watches), [w.answers for w in watches]
