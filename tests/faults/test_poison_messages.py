"""Fault 4 (issue 9): poison messages. On EVERY topic each service consumes (booking,
reception, crm and hr: 16 topics, 22 subscriptions), 100 records a consumer cannot process are
mixed among the valid events — not JSON, schema-invalid, no or broken CloudEvents headers,
non-UTF-8 headers, unknown `ce_type`s, and events a handler refuses — and:

1. every poison record is in the group's dead-letter topic exactly once, with its reason
   (`dlq_reason`) and the words of its error (`dlq_error`), and every valid event is
   processed exactly once (inbox rows and its effect rows, counted in each service's
   database);
2. the fix and the replay. A malformed record cannot be fixed by sending it again: its bytes
   stay wrong, and the cure is upstream (the producer fixed). What a replay CAN fix is a
   valid event that failed because of the consumer's own side. Before the poison arrives, an
   incident takes each service's INSERT right on its inbox table (a hardening script or a
   migration run under the wrong role, say): every event arriving then fails, is retried with
   backoff and dead-lettered as `handler_failed`. The fix restores the grant; `club dlq
   replay <group>` sends every dead letter back for that group alone. The failed events are
   then processed exactly once; every poison record comes back to the dead-letter topic
   exactly once more, with the same reason, and no other group touches any of them. A second
   replay (booking's) changes nothing: the inbox skips what was processed.

Load: `CLUB_FAULT_SCALE` valid events per topic (default 1,000, CI's size; the issue's full
10,000 run is `CLUB_FAULT_SCALE=10000`, see docs/reliability.md) plus 100 poison and 10 that
fail during the incident, on each of the 16 topics."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer
from club_contracts import VisitCheckedIn
from club_platform.auth import Role
from club_platform.cli import read_topic
from club_platform.consumer import REPLAY_HEADER
from club_platform.kafka import KafkaConnection, partitions_of
from club_platform.testing import caught_up, client, wait_for
from club_platform.testing.processes import ServiceProcess
from sqlalchemy import text

from .support import open_resources, slot
from .traffic import (
    EFFECTS,
    REFUSED,
    HealthWatch,
    Poison,
    Producer,
    Record,
    ServiceData,
    consumer_counts,
    poison,
    record_of,
    valid_event,
)

SCALE = int(os.environ.get("CLUB_FAULT_SCALE", "1000"))  # valid events per topic
POISON = 100  # per topic
INCIDENT = 10  # valid events per topic that arrive while the inbox grant is gone
BOOKED = 20  # of visit.checked_in's valid events, check-ins for bookings made over HTTP
SERVICES = ("booking", "reception", "crm", "hr")
WATCHED = {"booking": "/services", "reception": "/locations", "crm": "/complaints",
           "hr": "/kpis"}
# Generous, and scaled: the machine is shared and noisy; outcomes are polled, never timed.
WAIT = 240 + SCALE * 0.3


@dataclass
class Consumer:
    """One service under test: its process, its database, what it consumes."""

    service: str
    process: ServiceProcess
    data: ServiceData
    topics: list[str]
    letters: list = field(default_factory=list)
    # Letters of events this test did not send: the suite's other services keep running on
    # the same topics (an HR judging yesterday's shifts publishes discipline.opened), and what
    # arrived while the inbox grant was gone is dead-lettered too, rightly. They are checked
    # for their headers and counted, not mistaken for this test's own.
    foreign: int = 0

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.process.group}.dlq"

    async def handled(self, records: dict[str, list[Record]]) -> Counter:
        """Inbox rows per topic for the given events of the topics it consumes."""
        ids = [r.envelope.id for t in self.topics for r in records[t]]
        async with self.data.database.transaction() as session:
            rows = await session.execute(text(
                "SELECT topic, count(*) FROM inbox WHERE consumer = :consumer "
                "AND event_id = ANY(:ids) GROUP BY topic"),
                {"consumer": self.service, "ids": ids})
            return Counter(dict(rows.all()))

    async def effects(self, records: dict[str, list[Record]]) -> Counter:
        """Effect rows per topic for the given events (topics whose events leave only the
        inbox row are left out)."""
        found: Counter = Counter()
        for topic in self.topics:
            effect = EFFECTS[(self.service, topic)]
            if effect is not None and records[topic]:
                found[topic] = await effect.count(self.data, records[topic])
        return found


def fast_retries(service: str) -> dict[str, str]:
    # Bounded retries, quick enough that 22 subscriptions' incident letters take seconds.
    prefix = service.upper()
    return {f"{prefix}_CONSUMER_MAX_ATTEMPTS": "3", f"{prefix}_CONSUMER_RETRY_BACKOFF_MS": "20"}


async def topic_size(kafka: KafkaConnection, topic: str) -> int:
    consumer = AIOKafkaConsumer(**kafka.client_args(), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, [topic])
        start = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        return sum(end[p] - start[p] for p in partitions)
    finally:
        await consumer.stop()


async def dead_letters(kafka: KafkaConnection, topic: str) -> list:
    return [record async for record in read_topic(kafka, topic, from_beginning=True,
                                                  limit=None, to_start_end=True)]


async def replay_with_the_cli(kafka: KafkaConnection, groups: list[str]) -> list[int]:
    """`club dlq replay <group>`, the operator's command, as processes of their own (one per
    group, side by side); how many letters each sent back."""
    club = Path(sys.executable).with_name("club")

    async def replay(group: str) -> int:
        process = await asyncio.create_subprocess_exec(
            str(club), "dlq", "replay", group, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers})
        out, err = await asyncio.wait_for(process.communicate(), WAIT)
        assert process.returncode == 0, err.decode()
        return json.loads(out.decode().strip().splitlines()[-1])["replayed"]

    return list(await asyncio.gather(*(replay(group) for group in groups)))


class Phases:
    """How long each part of the scenario took, for the report."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._began = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = now - self._began
        self._began = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {s:.0f} s" for name, s in self.seconds.items())


async def book(url: str, token, count: int) -> list[dict]:
    """`count` bookings made at the desk, for check-ins that fulfil them."""
    resources, service = await open_resources(url, token(Role.HEAD), 1)
    made = []
    async with client(url, token(Role.ATTENDANT)) as http:
        for n in range(count):
            answer = await http.post("/bookings", json={
                "resource_id": resources[0]["id"], "service_code": service["code"],
                "starts_at": slot(2, n).isoformat(), "customer_id": str(uuid4()),
                "offline_channel": "desk"})
            assert answer.status_code == 201, answer.text
            made.append(answer.json())
    return made


def checked_in(booking: dict) -> Record:
    return record_of(VisitCheckedIn(
        visit_id=uuid4(), booking_id=UUID(booking["id"]), customer_id=UUID(booking["customer_id"]),
        location_id=uuid4(), host_staff_id=uuid4(), walk_in=False,
        checked_in_at=slot(2, 0)))


def _header(record, name: str) -> str:
    return dict(record.headers or ()).get(name, b"").decode(errors="replace")


@pytest.mark.slow
@pytest.mark.timeout(int(900 + SCALE * 0.6))
async def test_poison_dead_lettered_valid_processed_and_replay_after_the_fix_processes_once(
    spawn, kafka_connection, token, fault_report, flooded_topics
):
    began, phases = time.monotonic(), Phases()
    consumers: dict[str, Consumer] = {}
    for service in SERVICES:  # databases one after the other, processes side by side
        process = await spawn(service, env=fast_retries(service), name=f"{service}-poison",
                              start=False)
        topics = importlib.import_module(f"club_{service}.handlers").consumer.topics
        consumers[service] = Consumer(service, process, ServiceData(process.database_url),
                                      topics)
    await asyncio.gather(*(c.process.start() for c in consumers.values()))
    topics = sorted({t for c in consumers.values() for t in c.topics})
    flooded_topics.update(topics)
    subscriptions = sum(len(c.topics) for c in consumers.values())
    watches = [HealthWatch(c.process.url, token(Role.HEAD), WATCHED[c.service]).start()
               for c in consumers.values()]
    rng = random.Random(4)
    phases.done("start")

    async def dead_letter_counts(expected: dict[str, int]) -> bool:
        sizes = {s: await topic_size(kafka_connection, c.dead_letter_topic)
                 for s, c in consumers.items()}
        return all(sizes[s] >= n for s, n in expected.items())

    async def settled(which) -> None:
        """Each group has committed the end of its topics: its database and dead letters now
        hold everything sent, and nothing is left to be delivered twice."""
        for c in which:
            await wait_for(lambda c=c: caught_up(kafka_connection, c.process.group, c.topics),
                           timeout=WAIT, interval=1,
                           what=f"{c.service}'s group committed at the end of its topics")

    try:
        async with Producer(kafka_connection) as producer:
            # --- the incident: the inbox grant is gone while valid events arrive
            for c in consumers.values():
                await c.data.execute("REVOKE INSERT ON inbox FROM CURRENT_USER")
            incident = {t: [record_of(valid_event(t, rng)) for _ in range(INCIDENT)]
                        for t in topics}
            await producer.publish([r for t in topics for r in incident[t]])
            await wait_for(lambda: dead_letter_counts(
                {s: INCIDENT * len(c.topics) for s, c in consumers.items()}), timeout=WAIT,
                interval=1, what="the incident's events dead-lettered")
            # Other services' letters count in those sizes too: only the groups' committed
            # offsets say that every one of the incident's events has met the missing grant.
            await settled(consumers.values())
            for c in consumers.values():
                await c.data.execute("GRANT INSERT ON inbox TO CURRENT_USER")  # the fix
            phases.done("incident")

            # --- the traffic: poison among the valid events, on every consumed topic
            bookings = await book(consumers["booking"].process.url, token, BOOKED)
            valid = {t: [record_of(valid_event(t, rng)) for _ in range(SCALE)] for t in topics}
            valid["visit.checked_in"][:BOOKED] = [checked_in(b) for b in bookings]
            poisons: dict[str, list[Poison]] = {
                t: poison(t, POISON, rng, refused=any((s, t) in REFUSED for s in SERVICES))
                for t in topics}
            stream = [r for t in topics for r in valid[t]] + [
                p.record for t in topics for p in poisons[t]]
            rng.shuffle(stream)
            phases.done("bookings and records made")
            await producer.publish(stream)

            async def all_through() -> bool:
                for c in consumers.values():
                    handled = await c.handled(valid)
                    if any(handled[t] < SCALE for t in c.topics):
                        return False
                return await dead_letter_counts(
                    {s: (INCIDENT + POISON) * len(c.topics) for s, c in consumers.items()})

            await wait_for(all_through, timeout=WAIT, interval=1,
                           what="every valid event handled and every poison dead-lettered")
            phases.done("traffic")
            await settled(consumers.values())  # the counts below are final

            # 1. exactly the poison (and the incident's events) dead-lettered, with reasons;
            #    exactly the valid events processed, each once, with their effects
            lost = duplicated = 0
            for c in consumers.values():
                letters = await dead_letters(kafka_connection, c.dead_letter_topic)
                c.letters = letters
                expected = _expected_letters(c, poisons, incident)
                ours = _sent_keys(c, valid, poisons, incident)
                foreign = [letter for letter in letters if letter.key not in ours]
                for letter in foreign:
                    _check_foreign(c, letter)
                c.foreign = len(foreign)
                keys = Counter(letter.key for letter in letters if letter.key in ours)
                lost += sum(1 for k in expected if keys[k] == 0)
                duplicated += sum(n - 1 for n in keys.values() if n > 1)
                extra = [(letter.key, _header(letter, "dlq_original_topic"),
                          _header(letter, "dlq_reason"), _header(letter, "dlq_error")[:120])
                         for letter in letters if letter.key in ours - set(expected)][:5]
                assert set(keys) == set(expected) and max(keys.values()) == 1, (c.service,
                                                                                 extra)
                for letter in letters:
                    if letter.key in expected:
                        _check_letter(c, letter, expected[letter.key])
                handled = await c.handled(valid)
                assert handled == Counter({t: SCALE for t in c.topics}), (c.service, handled)
                assert await c.handled(incident) == Counter(), c.service  # not yet
                effects = await c.effects(valid)
                expected_effects = _expected_effects(c, SCALE)
                lost += sum(max(0, expected_effects[t] - effects[t]) for t in c.topics)
                duplicated += sum(max(0, effects[t] - expected_effects[t]) for t in c.topics)
                assert effects == expected_effects, (c.service, effects)

            # 2. the replay after the fix
            phases.done("checks")
            sent = await replay_with_the_cli(kafka_connection,
                                             [c.process.group for c in consumers.values()])
            assert sent == [(INCIDENT + POISON) * len(c.topics) + c.foreign
                            for c in consumers.values()]

            async def replayed() -> bool:
                for c in consumers.values():
                    handled = await c.handled(incident)
                    if any(handled[t] < INCIDENT for t in c.topics):
                        return False
                return await dead_letter_counts(
                    {s: (INCIDENT + 2 * POISON) * len(c.topics)
                     for s, c in consumers.items()})

            await wait_for(replayed, timeout=WAIT, interval=1,
                           what="the replayed letters processed or dead-lettered again")
            phases.done("replay")
            await settled(consumers.values())
            for c in consumers.values():
                letters = await dead_letters(kafka_connection, c.dead_letter_topic)
                ours = _sent_keys(c, valid, poisons, incident)
                again = [letter for letter in _newer(letters, c.letters) if letter.key in ours]
                for letter in _newer(letters, c.letters):
                    if letter.key not in ours:
                        _check_foreign(c, letter)
                assert Counter(letter.key for letter in again) == Counter(
                    p.key for t in c.topics for p in poisons[t]), c.service
                for letter in again:
                    assert _header(letter, REPLAY_HEADER) == c.process.group
                    _check_letter(c, letter, _expected_letters(c, poisons, incident)[letter.key])
                c.letters = letters
                assert await c.handled(incident) == Counter(
                    {t: INCIDENT for t in c.topics}), c.service
                assert await c.effects(incident) == _expected_effects(c, INCIDENT, fulfilled=0)
                assert await c.handled(valid) == Counter({t: SCALE for t in c.topics})
                assert await c.effects(valid) == _expected_effects(c, SCALE)

            # ... and a second replay (an operator running it again) processes nothing twice.
            # Booking's letters only: the others' would re-dead-letter thousands of poison
            # records again and prove nothing more.
            twice = consumers["booking"]
            before = await consumer_counts(twice.process.url)
            phases.done("checks after the replay")
            assert await replay_with_the_cli(kafka_connection, [twice.process.group]) == [
                len(twice.letters)]

            async def skipped_again() -> bool:
                now = await consumer_counts(twice.process.url)
                return now.get("duplicate", 0) - before.get("duplicate", 0) >= (
                    INCIDENT * len(twice.topics) + twice.foreign) and await dead_letter_counts(
                    {"booking": (INCIDENT + 4 * POISON) * len(twice.topics)})

            await wait_for(skipped_again, timeout=WAIT, interval=1,
                           what="the second replay skipped by the inbox")
            await settled([twice])
            now = await consumer_counts(twice.process.url)
            assert now.get("duplicate", 0) - before.get("duplicate", 0) == (
                INCIDENT * len(twice.topics) + twice.foreign)
            assert now.get("handled", 0) == before.get("handled", 0)
            for c in consumers.values():  # no other group touched booking's replay
                assert await topic_size(kafka_connection, c.dead_letter_topic) == (
                    INCIDENT + (4 if c is twice else 2) * POISON) * len(c.topics) + (
                    c.foreign), c.service
            assert await twice.handled(incident) == Counter(
                {t: INCIDENT for t in twice.topics})
            assert await twice.effects(incident) == _expected_effects(twice, INCIDENT,
                                                                      fulfilled=0)
            phases.done("second replay")
    finally:
        for watch in watches:
            await watch.stop()
        for c in consumers.values():
            await c.data.close()
            await c.process.stop()  # done: no CPU for the tests after this one

    server_errors = sum(w.server_errors for w in watches)
    fault_report(
        "Poison messages, then a fix and a replay",
        f"{SCALE} valid + {POISON} poison on each of the {len(topics)} consumed topics "
        f"({subscriptions} subscriptions of 4 services), plus {INCIDENT} per topic during an "
        "incident",
        "not JSON, schema-invalid, no or broken CloudEvents headers, non-UTF-8 headers, "
        "unknown ce_type, refused by the handler; the inbox INSERT grant revoked, restored, "
        "then `club dlq replay` (booking's twice)",
        lost=lost, duplicated=duplicated, server_errors=server_errors,
        note=f"{POISON * subscriptions} dead letters with their reasons "
             f"({sum(c.foreign for c in consumers.values())} more of other services' events "
             "that arrived during the incident); the incident's "
             f"{INCIDENT * subscriptions} processed once on replay, the poison dead-lettered "
             f"once more; {time.monotonic() - began:.0f} s ({phases})")
    assert lost == duplicated == server_errors == 0
    assert all(w.answered_well for w in watches), [w.answers for w in watches]


def _newer(letters: list, before: list) -> list:
    """The letters that were not there before (by partition and offset)."""
    seen = {(r.partition, r.offset) for r in before}
    return [r for r in letters if (r.partition, r.offset) not in seen]


def _expected_letters(c: Consumer, poisons: dict[str, list[Poison]],
                      incident: dict[str, list[Record]]) -> dict[bytes, tuple[str, str, str]]:
    """key → (original topic, reason, words of the error) of every letter the group owes."""
    expected = {p.key: (t, p.reason, p.error) for t in c.topics for p in poisons[t]}
    expected |= {r.key: (t, "handler_failed", "permission denied for table inbox")
                 for t in c.topics for r in incident[t]}
    return expected


def _sent_keys(c: Consumer, valid: dict[str, list[Record]], poisons: dict[str, list[Poison]],
               incident: dict[str, list[Record]]) -> set[bytes]:
    """The keys of every record this test sent to the topics `c` consumes."""
    return {r.key for t in c.topics for r in (*valid[t], *incident[t])} | {
        p.key for t in c.topics for p in poisons[t]}


def _check_foreign(c: Consumer, letter) -> None:
    """Another producer's event, dead-lettered by this group: a whole letter, with its reason."""
    assert _header(letter, "dlq_original_topic") in c.topics, letter.headers
    assert _header(letter, "dlq_consumer_group") == c.process.group, letter.headers
    assert _header(letter, "dlq_reason") and _header(letter, "dlq_error"), letter.headers


def _check_letter(c: Consumer, letter, expected: tuple[str, str, str]) -> None:
    topic, reason, error = expected
    assert _header(letter, "dlq_original_topic") == topic
    assert _header(letter, "dlq_consumer_group") == c.process.group
    assert _header(letter, "dlq_reason") == reason, (topic, _header(letter, "dlq_error"))
    assert error in _header(letter, "dlq_error"), (topic, reason, _header(letter, "dlq_error"))
    if reason == "handler_failed":
        assert _header(letter, "dlq_attempts") == "3"  # bounded retries, then the letter


def _expected_effects(c: Consumer, per_topic: int, fulfilled: int = BOOKED) -> Counter:
    """Effect rows owed per topic: one per event, except booking's check-ins, where only
    those naming a booking fulfil one (`BOOKED` of the valid ones, none of the incident's
    walk-ins)."""
    expected = Counter()
    for topic in c.topics:
        if EFFECTS[(c.service, topic)] is not None:
            expected[topic] = per_topic
    if c.service == "booking":
        expected["visit.checked_in"] = fulfilled
    return expected
