"""The platform as a platform team runs it: three brokers (RF 3, min.insync.replicas 2), two
replicas of each service as processes on one database and one consumer group per service.
While a busy club day goes on — desks booking and moving bookings over HTTP, reception
checking guests in, recording services and completing visits, CRM and HR consuming — a
broker is SIGKILLed and restarted, then the controller quorum's leader, then the replica of
each service that leads its outbox relay. Afterwards, counted as docs/reliability.md counts:
no event lost, no effect twice, no server error, per-key order held."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from club_platform.auth import Role
from club_platform.cli import read_topic
from club_platform.db import Database
from club_platform.envelope import PoisonMessage, decode
from club_platform.kafka import KafkaConnection
from club_platform.testing import wait_for
from club_platform.testing.processes import ServiceProcess

from ..faults.hr_stream import hr_tally
from ..faults.support import open_resources, slot
from ..faults.traffic import (
    EFFECTS,
    HealthWatch,
    Record,
    ServiceData,
    group_members,
    record_of,
)

SERVICES = ("booking", "reception", "crm", "hr")
DESKS = 2        # lanes booking and moving bookings
RECEPTION = 2    # lanes checking walk-ins in, serving them and completing their visits
PATIENCE = 240.0

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


@dataclass
class Replicas:
    """Two processes of one service, and a client that sends each request to the next live
    one, as a load balancer would; a request a killed process never answered is counted."""

    service: str
    processes: list[ServiceProcess]
    unanswered: int = 0
    _turn: itertools.count = field(default_factory=itertools.count)

    def live(self) -> list[ServiceProcess]:
        return [p for p in self.processes if p.running()]

    async def request(self, method: str, path: str, token: str, **kwargs) -> httpx.Response | None:
        live = self.live()
        process = live[next(self._turn) % len(live)]
        try:
            async with httpx.AsyncClient(base_url=process.url, timeout=30, headers={
                    "Authorization": f"Bearer {token}"}) as http:
                return await http.request(method, path, **kwargs)
        except httpx.TransportError:
            self.unanswered += 1  # the process died under it: its outcome is unknown
            return None


@dataclass
class Day:
    statuses: list[int] = field(default_factory=list)
    bookings: dict[str, list[str]] = field(default_factory=dict)  # id → starts, in order
    visits: dict[str, list[str]] = field(default_factory=dict)    # id → services, in order
    uncertain: set[str] = field(default_factory=set)  # an answer lost to a kill
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def answered(self, response: httpx.Response | None, key: str | None = None) -> bool:
        if response is None:
            if key:
                self.uncertain.add(key)
            return False
        self.statuses.append(response.status_code)
        return response.status_code < 300


async def test_two_replicas_of_each_service_on_three_brokers_lose_and_double_nothing(
    spawn, token, kafka_cluster, kafka_connection, fault_report
):
    # The topics as the cluster made them: three replicas, two of them needed for a write.
    for topic in ("booking.created", "visit.completed"):
        replicas_of, min_insync = await topic_replication(kafka_connection, topic)
        assert replicas_of == {3}, (topic, replicas_of)
        assert min_insync == "2", (topic, min_insync)

    first = {s: await spawn(s, name=f"cluster-{s}-a", start=False) for s in SERVICES}
    await asyncio.gather(*(p.start() for p in first.values()))
    second = {s: await spawn(s, database_url=first[s].database_url, group=first[s].group,
                             name=f"cluster-{s}-b") for s in SERVICES}
    replicas = {s: Replicas(s, [first[s], second[s]]) for s in SERVICES}
    head, admin = token(Role.HEAD), token(Role.HR_ADMIN)

    # The club: courts to book, a place and staff (reception learns of them from staff.hired).
    resources, court_service = await open_resources(first["booking"].url, head, DESKS)
    staff = []
    for name in ("Ana Host", "Bo Server"):
        hired = await replicas["hr"].request("POST", "/staff", admin, json={
            "display_name": name, "role": "attendant",
            "hired_at": (datetime.now(UTC) - timedelta(days=30)).isoformat()})
        assert hired is not None and hired.status_code == 201, hired and hired.text
        staff.append(hired.json()["staff_id"])
    host, server = staff
    placed = await replicas["reception"].request("POST", "/locations", head, json={
        "name": f"Courts {secrets.token_hex(3)}", "kind": "area", "capacity": 500})
    assert placed is not None and placed.status_code == 201
    location = placed.json()["location_id"]

    async def reception_knows_staff() -> bool:
        for process in first["reception"], second["reception"]:
            async with httpx.AsyncClient(base_url=process.url, headers={
                    "Authorization": f"Bearer {head}"}) as http:
                for staff_id in staff:
                    if (await http.get(f"/staff/{staff_id}")).status_code != 200:
                        return False
        return True

    await wait_for(reception_knows_staff, timeout=PATIENCE, interval=0.5,
                   what="reception learning of the staff")

    day = Day()
    desk_token = token(Role.ATTENDANT, subject=UUID(host))

    async def front_desk(lane: int) -> None:
        n = 0
        while not day.stop.is_set():
            starts = [slot(lane, 3 * n), slot(lane, 3 * n + 1), slot(lane, 3 * n + 2)]
            n += 1
            made = await replicas["booking"].request("POST", "/bookings", desk_token, json={
                "resource_id": resources[lane]["id"], "service_code": court_service["code"],
                "starts_at": starts[0].isoformat(), "customer_id": str(uuid4()),
                "offline_channel": "phone"})
            if not day.answered(made):
                continue
            booking_id = made.json()["id"]
            day.bookings[booking_id] = [starts[0].isoformat()]
            for start in starts[1:]:
                moved = await replicas["booking"].request(
                    "POST", f"/bookings/{booking_id}/reschedule", desk_token,
                    json={"starts_at": start.isoformat()})
                if day.answered(moved, booking_id):
                    day.bookings[booking_id].append(start.isoformat())

    async def reception_desk(lane: int) -> None:
        while not day.stop.is_set():
            came = await replicas["reception"].request("POST", "/visits/walk-in", desk_token, json={
                "customer_id": str(uuid4()), "party_size": 1, "location_id": location,
                "host_staff_id": host})
            if not day.answered(came):
                continue
            visit = came.json()
            visit_id = visit["visit_id"]
            day.visits[visit_id] = []
            started = datetime.fromisoformat(visit["checked_in_at"])
            await asyncio.sleep(0.05)
            ended = datetime.now(UTC)
            middle = started + (ended - started) / 2
            for who, (begin, end) in ((host, (started, middle)), (server, (middle, ended))):
                served = await replicas["reception"].request(
                    "POST", f"/visits/{visit_id}/services", desk_token, json={
                        "service_code": court_service["code"], "staff_id": who,
                        "started_at": begin.isoformat(), "ended_at": end.isoformat()})
                if not day.answered(served, visit_id):
                    break
                day.visits[visit_id].append(who)
            else:
                done = await replicas["reception"].request(
                    "POST", f"/visits/{visit_id}/complete", desk_token)
                day.answered(done, visit_id)

    watches = [HealthWatch(p.url, head, "/health/live").start()
               for p in (*first.values(), *second.values())]
    lanes = [asyncio.create_task(front_desk(n)) for n in range(DESKS)]
    lanes += [asyncio.create_task(reception_desk(n)) for n in range(RECEPTION)]
    started = time.monotonic()
    faults = []
    try:
        await wait_for(lambda: len(day.bookings) >= 10 and len(day.visits) >= 10,
                       timeout=PATIENCE, what="the day under way")
        # 1. A broker (not the controller quorum's leader) dies and comes back.
        leader = await kafka_cluster.controller_leader()
        broker = next(n for n in (1, 2, 3) if n != leader)
        await kafka_cluster.kill(broker)
        await asyncio.sleep(8)
        await kafka_cluster.start(broker)
        faults.append(f"broker {broker} SIGKILLed 8 s and restarted")
        await asyncio.sleep(3)
        # 2. The controller quorum's leader dies: the other two elect a new one.
        leader = await kafka_cluster.controller_leader()
        await kafka_cluster.kill(leader)
        await asyncio.sleep(8)
        successor = await kafka_cluster.controller_leader()
        assert successor != leader, "the quorum elected no new leader"
        await kafka_cluster.start(leader)
        faults.append(f"controller leader {leader} SIGKILLed 8 s (node {successor} took over) "
                      "and restarted")
        await asyncio.sleep(3)
        # 3. One replica of each service dies: the one leading its relay, so the lead must
        # pass to the other through the advisory lock, and its partitions to the other member.
        killed = []
        for service in SERVICES:
            leading = [p for p in replicas[service].processes if await relay_leader(p)]
            victim = leading[0] if leading else second[service]
            victim.kill()
            killed.append(f"{service} ({'relay leader' if leading else 'replica'})")
        faults.append("one replica of each service SIGKILLed: " + ", ".join(killed))
        await asyncio.sleep(10)
    finally:
        day.stop.set()
        await asyncio.gather(*lanes)
        for watch in watches:
            await watch.stop()
    duration = time.monotonic() - started

    survivors = {s: replicas[s].live() for s in SERVICES}
    assert all(len(p) == 1 for p in survivors.values()), survivors
    for service in SERVICES:
        # the survivor holds the relay's lead and every partition of its group
        assert await relay_leader(survivors[service][0]), f"{service}: no relay took the lead"
        await wait_for(lambda s=service: sole_member(kafka_connection, first[s].group),
                       timeout=PATIENCE, interval=1, what=f"{service}'s group rebalanced")
    for service in ("booking", "reception"):
        await wait_for(lambda s=service: outbox_empty(survivors[s][0].database_url),
                       timeout=PATIENCE, interval=0.5, what=f"{service}'s outbox drained")

    # What the day committed (answers that were lost to a kill are left out: unknown).
    bookings = {b: s for b, s in day.bookings.items() if b not in day.uncertain}
    visits = {v: s for v, s in day.visits.items() if v not in day.uncertain and len(s) == 2}
    created = await records_on(kafka_connection, "booking.created", set(bookings))
    moved = await records_on(kafka_connection, "booking.rescheduled", set(bookings))
    recorded = await records_on(kafka_connection, "visit.service_recorded", set(visits))
    completed = await records_on(kafka_connection, "visit.completed", set(visits))
    completed_visits = {v for v in visits if completed[v]}

    lost = duplicated = 0
    for booking_id, starts in bookings.items():
        lost += max(0, 1 - len(created[booking_id])) + max(0, len(starts) - 1
                                                          - len(moved[booking_id]))
        duplicated += max(0, len(created[booking_id]) - 1) + max(
            0, len(moved[booking_id]) - (len(starts) - 1))
    for visit_id, served in visits.items():
        lost += max(0, len(served) - len(recorded[visit_id]))
        duplicated += max(0, len(recorded[visit_id]) - len(served))
        duplicated += max(0, len(completed[visit_id]) - 1)
    # per-key order: each booking's moves and each visit's services in the order made
    out_of_order = sum(
        [r.event.starts_at.isoformat() for r in moved[b]] != starts[1:]
        for b, starts in bookings.items()) + sum(
        [str(r.event.staff_id) for r in recorded[v]] != served for v, served in visits.items())

    # The consumers' effects, each exactly once: reception's expected arrivals, CRM's visits,
    # HR's inbox and KPI facts.
    effects: Counter = Counter()
    expected: Counter = Counter()
    all_created = [r for b in bookings for r in created[b]]
    all_completed = [r for v in completed_visits for r in completed[v]]
    for (service, topic), records in ((("reception", "booking.created"), all_created),
                                      (("crm", "visit.completed"), all_completed)):
        data = ServiceData(survivors[service][0].database_url)
        try:
            async def handled(data=data, service=service, topic=topic, n=len(records)) -> bool:
                return await data.inbox(service, topic) >= n
            await wait_for(handled, timeout=PATIENCE, interval=0.5,
                           what=f"{service} handling {topic}")
            effects[f"{service} {topic}"] = await EFFECTS[(service, topic)].count(data, records)
            expected[f"{service} {topic}"] = len(records)
        finally:
            await data.close()
    hr = ServiceData(survivors["hr"][0].database_url)
    try:
        async def hr_handled() -> bool:
            return await hr.inbox("hr", "visit.completed",
                                  [r.envelope.id for r in all_completed]) >= len(all_completed)
        await wait_for(hr_handled, timeout=PATIENCE, interval=0.5, what="HR handling the visits")
        await asyncio.sleep(2)  # anything beyond the events sent would show now
        tally = await hr_tally(hr, all_completed)
    finally:
        await hr.close()
    lost += sum(max(0, expected[k] - effects[k]) for k in expected) + tally.lost
    duplicated += sum(max(0, effects[k] - expected[k]) for k in expected) + tally.duplicated

    server_errors = sum(1 for s in day.statuses if s >= 500) + sum(
        w.server_errors for w in watches)
    unanswered = sum(r.unanswered for r in replicas.values())
    fault_report(
        "Replicas on a three-broker cluster",
        f"2 replicas of each service, RF 3, min.insync.replicas 2; {DESKS} desks booking and "
        f"moving, {RECEPTION} desks serving walk-ins: {len(day.statuses)} requests, "
        f"{len(bookings)} bookings, {len(completed_visits)} visits completed, in "
        f"{duration:.0f} s",
        "; ".join(faults), lost=lost, duplicated=duplicated, server_errors=server_errors,
        note=f"events counted on the topics by ce_id, per-key order checked "
             f"({out_of_order} out of order); reception's arrivals, CRM's visits, HR's inbox "
             f"and KPI facts counted in their databases; {unanswered} requests unanswered by "
             f"a killed replica ({len(day.uncertain)} bookings or visits left out as unknown)")
    assert set(day.statuses) <= {200, 201}, Counter(day.statuses)
    assert server_errors == 0
    assert all(w.answered_well for w in watches if w.answers), [w.answers for w in watches]
    assert len(bookings) > 20 and len(completed_visits) > 20, (len(bookings), len(visits))
    assert completed_visits == set(visits), "a completed visit's event is missing"
    assert out_of_order == 0
    assert lost == 0 and duplicated == 0, (lost, duplicated, effects, expected, tally)


async def relay_leader(process: ServiceProcess) -> bool:
    async with httpx.AsyncClient(timeout=5) as http:
        try:
            return bool((await http.get(f"{process.url}/health/ready")).json()["relay_leader"])
        except (httpx.TransportError, ValueError, KeyError):
            return False


async def sole_member(kafka: KafkaConnection, group: str) -> bool:
    return await group_members(kafka, group) == ("Stable", 1)


async def topic_replication(kafka: KafkaConnection, topic: str) -> tuple[set[int], str]:
    """How many replicas each partition of `topic` has, and its min.insync.replicas."""
    admin = AIOKafkaAdminClient(**kafka.client_args())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        (configs,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    entries = {name: value for name, value, *_ in configs.resources[0][4]}
    return {len(p["replicas"]) for p in described["partitions"]}, entries["min.insync.replicas"]


async def outbox_empty(url: str) -> bool:
    database = Database(url, pool_size=1)
    try:
        async with database.transaction() as session:
            return await session.scalar(sa.text("SELECT count(*) FROM outbox")) == 0
    finally:
        await database.dispose()


async def records_on(kafka: KafkaConnection, topic: str, keys: set[str]) -> dict[str, list[Record]]:
    """Every distinct event (by ce_id) on `topic` for `keys`, in topic order, per key."""
    found: dict[str, list[Record]] = {key: [] for key in keys}
    seen: set[UUID] = set()
    async for record in read_topic(kafka, topic, from_beginning=True, limit=None,
                                   idle_seconds=2.0):
        key = record.key.decode() if record.key else None
        if key not in found:
            continue
        try:
            envelope, event = decode(list(record.headers or ()), record.value)
        except PoisonMessage:
            continue
        if envelope.id in seen:
            continue  # a resend after a broker failed: the same event, by ce_id
        seen.add(envelope.id)
        found[key].append(record_of(event, envelope))
    return found
