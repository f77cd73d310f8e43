"""The club the end-to-end tests run: the four services as real processes (`python -m
club_<service>`) on the real broker and PostgreSQL, each with its own database and consumer
group, set up and driven only through their public HTTP APIs and the bus.

Set up once for the package (starting four processes and hiring the staff is the slow part):
HR hires the staff with `POST /staff`, and the test waits until reception and CRM have learnt
of them from `staff.hired`; booking gets a catalogue, reception a floor. Tests make their own
customers, resources and bookings, so they do not depend on one another's order."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import secrets
import signal
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from club_platform.auth import Role
from club_platform.kafka import KafkaConnection, partitions_of
from club_platform.settings import DEFAULT_CLUB_TIME_ZONE, zone_named
from club_platform.testing import client, wait_for
from club_platform.testing.processes import ServiceProcess

SERVICES = ("booking", "reception", "crm", "hr")
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Generous: two cores shared with other work; polling stops as soon as the outcome is there.
PATIENCE = 90.0
# The services' days, weeks and periods are the club's (CLUB_TIME_ZONE), which for eight hours
# of every day in Asia/Shanghai are a day ahead of UTC's.
CLUB_ZONE = zone_named(os.environ.get("CLUB_TIME_ZONE") or DEFAULT_CLUB_TIME_ZONE)

T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def club_today() -> date:
    return now().astimezone(CLUB_ZONE).date()


@dataclass
class Staff:
    """The people HR hires for the package: a host attendant, a colleague who also serves
    guests, a CRM specialist who takes the calls and complaints; and the ids the head's and
    the HR admin's tokens carry (managers need not be on the register to act)."""

    host: UUID
    colleague: UUID
    specialist: UUID
    head: UUID = field(default_factory=uuid4)
    hr_admin: UUID = field(default_factory=uuid4)


@dataclass
class Club:
    processes: dict[str, ServiceProcess]
    token: Callable[..., str]
    kafka: KafkaConnection
    staff: Staff | None = None
    location_id: str = ""
    treatment: str = ""   # a 60-minute service, bookable online
    quick: str = ""       # a 15-minute service, for the desk's many short bookings

    def url(self, service: str) -> str:
        return self.processes[service].url

    def as_(self, service: str, role: Role, subject: UUID | None = None) -> httpx.AsyncClient:
        """An HTTP client for `service` with a bearer token of `role` (staff: their id)."""
        return client(self.url(service), self.token(role, subject=subject))

    def public(self, service: str) -> httpx.AsyncClient:
        return client(self.url(service))

    # ------------------------------------------------------------------ processes

    async def stop(self, service: str) -> None:
        """SIGTERM: the service finishes what it is doing, commits and exits."""
        process = self.processes[service]
        farewell = f'"{service} stopped"'
        before = process.log_path.read_text(errors="replace").count(farewell)
        code = await process.stop()
        # uvicorn re-raises the signal once it has shut down cleanly, so -SIGTERM is a clean
        # exit too; the service's own log says it stopped rather than crashed.
        assert code in (0, -signal.SIGTERM), f"{service} exited with {code}: {process.tail()}"
        after = process.log_path.read_text(errors="replace").count(farewell)
        assert after == before + 1, process.tail()

    async def start(self, service: str) -> None:
        """The same process definition again: same database, consumer group and port."""
        await self.processes[service].start()

    async def caught_up(self, service: str) -> None:
        """Wait until the service's consumer group has committed everything published so far
        on its topics, so what a test counts afterwards is only its own work."""
        process = self.processes[service]
        topics = importlib.import_module(f"club_{service}.handlers").consumer.topics
        ends = await end_offsets(self.kafka, topics)

        async def done() -> bool:
            committed = await committed_offsets(self.kafka, process.group, ends)
            return all((committed[tp] or 0) >= end for tp, end in ends.items())
        await wait_for(done, timeout=PATIENCE, interval=0.3, what=f"{service} caught up")

    async def dead_letters(self) -> dict[str, int]:
        """How many records each service's consumer group has dead-lettered (what
        `club dlq list <group>` would show), for the groups that have any."""
        counts = {}
        for process in self.processes.values():
            topic = f"{process.group}.dlq"
            consumer = AIOKafkaConsumer(**self.kafka.client_args(), enable_auto_commit=False)
            await consumer.start()
            try:
                ends = await consumer.end_offsets(
                    await partitions_of(consumer, [topic], timeout=2.0))
            except LookupError:  # never created: nothing was ever dead-lettered
                ends = {}
            finally:
                await consumer.stop()
            if sum(ends.values()):
                counts[process.group] = sum(ends.values())
        return counts

    async def ensure_running(self) -> None:
        for process in self.processes.values():
            if not process.running():
                await process.start()

    # ------------------------------------------------------------------ booking

    async def add_resource(self, kind: str = "room") -> str:
        """A resource open around the clock, so a test never depends on the time of day."""
        async with self.as_("booking", Role.HEAD) as http:
            answer = await http.post("/resources", json={
                "name": f"e2e {kind} {secrets.token_hex(3)}", "kind": kind, "capacity": 4,
                "location": "spa level",
                "opening_hours": [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
                                  for d in WEEK]})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    async def desk_bookings(self, count: int, *, start_in: timedelta = timedelta(minutes=10)
                            ) -> list[dict]:
        """`count` 15-minute bookings the desk takes by phone, one after another on a fresh
        resource, the first `start_in` from now: all inside reception's check-in window."""
        resource_id = await self.add_resource()
        first = now() + start_in
        made = []
        async with self.as_("booking", Role.ATTENDANT, self.staff.host) as http:
            for n in range(count):
                answer = await http.post("/bookings", json={
                    "resource_id": resource_id, "service_code": self.quick,
                    "starts_at": (first + timedelta(minutes=15 * n)).isoformat(),
                    "customer_id": str(uuid4()), "offline_channel": "phone"})
                assert answer.status_code == 201, answer.text
                made.append(answer.json())
        return made

    async def booking(self, booking_id: str) -> dict:
        async with self.as_("booking", Role.HEAD) as http:
            answer = await http.get(f"/bookings/{booking_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    # ------------------------------------------------------------------ reception

    async def arrival(self, booking_id: str) -> dict | None:
        async with self.as_("reception", Role.ATTENDANT, self.staff.host) as http:
            answer = await http.get(f"/arrivals/{booking_id}")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def arrivals_on(self, days: Iterable[date]) -> list[dict]:
        """The desk's lists of expected arrivals around `days` (UTC dates): the desk's days
        are the club's (RECEPTION_TIMEZONE), so the day before and after are asked too."""
        found = []
        around = {day + timedelta(days=n) for day in days for n in (-1, 0, 1)}
        async with self.as_("reception", Role.ATTENDANT, self.staff.host) as http:
            for day in sorted(around):
                answer = await http.get("/arrivals", params={"date": day.isoformat(),
                                                             "include_cancelled": "true"})
                assert answer.status_code == 200, answer.text
                found += answer.json()
        return found

    async def wait_expected(self, booking_ids: Iterable[str]) -> None:
        pending = set(booking_ids)

        async def arrived() -> bool:
            for booking_id in sorted(pending):
                if (await self.arrival(booking_id) or {}).get("status") == "expected":
                    pending.discard(booking_id)
            return not pending
        await wait_for(arrived, timeout=PATIENCE, interval=0.3,
                       what=f"reception expecting {len(pending)} bookings")

    async def check_in(self, booking_id: str, host: UUID | None = None) -> dict:
        async with self.as_("reception", Role.ATTENDANT, self.staff.host) as http:
            answer = await http.post("/visits/check-in", json={
                "booking_id": booking_id, "location_id": self.location_id,
                "host_staff_id": str(host or self.staff.host)})
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def walk_in(self, customer_id: UUID | None = None) -> dict:
        async with self.as_("reception", Role.ATTENDANT, self.staff.host) as http:
            answer = await http.post("/visits/walk-in", json={
                "customer_id": str(customer_id or uuid4()), "party_size": 1,
                "location_id": self.location_id, "host_staff_id": str(self.staff.host)})
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def serve(self, visit: dict, services: list[tuple[str, UUID]]) -> list[dict]:
        """Record `services` (code, staff member) one after another, splitting the time since
        the check-in between them: real times that have passed, as the desk would enter them."""
        started = datetime.fromisoformat(visit["checked_in_at"])
        while now() - started < timedelta(milliseconds=20 * len(services)):
            await asyncio.sleep(0.05)
        ended = now()
        step = (ended - started) / len(services)
        recorded = []
        async with self.as_("reception", Role.ATTENDANT, self.staff.host) as http:
            for n, (code, staff_id) in enumerate(services):
                answer = await http.post(f"/visits/{visit['visit_id']}/services", json={
                    "service_code": code, "staff_id": str(staff_id),
                    "started_at": (started + step * n).isoformat(),
                    "ended_at": (started + step * (n + 1)).isoformat(),
                    "notes": "towel warm, pressure light"})
                assert answer.status_code == 201, answer.text
                recorded.append(answer.json())
        return recorded

    async def complete(self, visit_id: str) -> dict:
        async with self.as_("reception", Role.ATTENDANT, self.staff.host) as http:
            answer = await http.post(f"/visits/{visit_id}/complete")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "completed"
        return answer.json()

    async def served_visits(self, count: int) -> list[dict]:
        """`count` walk-ins, each served by the host and the colleague, then completed."""
        visits = [await self.walk_in() for _ in range(count)]
        done = []
        for visit in visits:
            await self.serve(visit, [(self.quick, self.staff.colleague)])
            done.append(await self.complete(visit["visit_id"]))
        return done

    # ------------------------------------------------------------------ crm

    async def followups(self, **filters: str) -> list[dict]:
        async with self.as_("crm", Role.HEAD, self.staff.head) as http:
            answer = await http.get("/followups", params=filters)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def invitations(self, visit_id: str) -> list[dict]:
        async with self.as_("crm", Role.HEAD, self.staff.head) as http:
            answer = await http.get("/surveys/invitations", params={"visit_id": visit_id})
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def wait_invitations(self, visit_ids: Iterable[str]) -> dict[str, dict]:
        """The one survey invitation of each visit, once CRM has it."""
        found: dict[str, dict] = {}

        async def invited() -> bool:
            for visit_id in visit_ids:
                if visit_id not in found:
                    invitations = await self.invitations(visit_id)
                    if invitations:
                        found[visit_id] = invitations[0]
            return len(found) == len(set(visit_ids))
        await wait_for(invited, timeout=PATIENCE, interval=0.3, what="survey invitations")
        return found

    async def answer_survey(self, token: str, csat: int, nps: int | None = None) -> dict:
        async with self.public("crm") as anonymous:  # the customer follows the link
            answer = await anonymous.post(f"/surveys/respond/{token}",
                                          json={"csat": csat, "nps": nps})
        assert answer.status_code == 201, answer.text
        return answer.json()

    # ------------------------------------------------------------------ hr

    async def facts(self, since: datetime) -> list[dict]:
        async with self.as_("hr", Role.HR_ADMIN, self.staff.hr_admin) as http:
            answer = await http.get("/kpi-facts", params={"since": since.isoformat()})
        assert answer.status_code == 200, answer.text
        return answer.json()


async def during(work: Awaitable[T], started: Callable[[], Awaitable[object]],
                 fault: Callable[[], Awaitable[None]]) -> T:
    """Run `work` in the background; as soon as `started()` is truthy (the service under test
    has handled some of it), inject `fault` while the rest of `work` goes on; then wait for
    `work` to finish."""
    task = asyncio.ensure_future(work)
    try:
        async def begun() -> object:
            if task.done():
                task.result()  # the work failed: say why
            return await started()
        await wait_for(begun, timeout=PATIENCE, interval=0.1, what="the work under way")
        await fault()
        return await task
    finally:
        if not task.done():
            task.cancel()


def fact_counts(facts: list[dict], subjects: Iterable[str]) -> dict[tuple, int]:
    """How many facts there are per (kind, staff member, subject), for `subjects` only."""
    wanted = {str(s) for s in subjects}
    counts: dict[tuple, int] = {}
    for fact in facts:
        if fact["subject_id"] in wanted:
            key = (fact["kind"], fact["staff_id"], fact["subject_id"])
            counts[key] = counts.get(key, 0) + 1
    return counts


async def end_offsets(kafka: KafkaConnection, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**kafka.client_args(), enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.end_offsets(await partitions_of(consumer, topics))
    finally:
        await consumer.stop()


async def committed_offsets(kafka: KafkaConnection, group: str,
                            partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**kafka.client_args(), group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp: await consumer.committed(tp) for tp in partitions}
    finally:
        await consumer.stop()


async def move_group(kafka: KafkaConnection, group: str, to: dict[TopicPartition, int],
                     timeout: float = PATIENCE) -> None:
    """Commit `to` as the group's position. Kafka refuses while the group still has members
    (a killed one stays until its session times out), so this retries until it is empty."""
    consumer = AIOKafkaConsumer(**kafka.client_args(), group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(to))
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                await consumer.commit(to)
                return
            except KafkaError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await consumer.stop()


async def consumed(process: ServiceProcess, topic: str) -> dict[str, float]:
    """The process's own count of records it consumed on `topic`, by outcome (`handled`,
    `duplicate`, …), from its Prometheus metrics."""
    async with client(process.url) as http:
        text = (await http.get("/metrics")).text
    pattern = re.compile(r'^club_consumer_events_total\{([^}]*)\} (\S+)$', re.MULTILINE)
    counts: dict[str, float] = {}
    for labels, value in pattern.findall(text):
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if fields.get("topic") == topic and fields.get("group") == process.group:
            counts[fields["outcome"]] = counts.get(fields["outcome"], 0) + float(value)
    return counts
