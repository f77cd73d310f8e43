"""Scenarios that drive the services as real processes over HTTP:

3. booking under contention: 64 concurrent clients over 50 resources, 20% of requests for a
   slot someone else asked for; bookings/s and p99 latency through the API, and overlapping
   bookings in the database afterwards (must be 0) — beside raw asyncpg inserts of the same
   pattern against the same exclusion constraint;
4. end to end: reception completes visits over HTTP at a steady rate; latency from each
   completion (reception's `completed_at`, stamped just before the commit that answers the
   request) to the visit's KPI fact being recorded in HR (HR's `recorded_at`; one machine,
   one clock), p50/p99;
5. footprint: resident memory of each service process idle, and the peak under scenario 4.
"""

from __future__ import annotations

import asyncio
import importlib
import random
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import httpx
from club_platform.auth import Role, issue_token
from club_platform.db import asyncpg_dsn
from club_platform.kafka import KafkaConnection
from club_platform.migrations import upgrade_async
from club_platform.testing import start_group_at_end
from club_platform.testing.databases import DatabaseFactory
from club_platform.testing.processes import ServiceProcess

from tests.benchmarks.common import ROOT, Figure, median, percentile

WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OVERLAPS = """SELECT count(*) FROM bookings a JOIN bookings b ON a.resource_id = b.resource_id
  AND a.id < b.id AND tstzrange(a.held_from, a.held_until) && tstzrange(b.held_from, b.held_until)
  WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'"""


async def start(service: str, kafka: KafkaConnection, factory: DatabaseFactory, secret: str,
                **env: str) -> ServiceProcess:
    url = await factory.create(service)
    await upgrade_async(ROOT / "services" / service, url)
    group = f"bench-{service}-{uuid4().hex[:8]}"
    consumer = importlib.import_module(f"club_{service}.handlers").consumer
    if consumer.topics:
        await start_group_at_end(kafka, group, consumer.topics)
    prefix = service.upper()
    process = ServiceProcess(service, {
        f"{prefix}_DATABASE_URL": url, f"{prefix}_KAFKA_BOOTSTRAP_SERVERS":
        kafka.bootstrap_servers, f"{prefix}_JWT_SECRET": secret,
        f"{prefix}_CONSUMER_GROUP": group, f"{prefix}_ENVIRONMENT": "test",
        f"{prefix}_LOG_LEVEL": "WARNING", f"{prefix}_DATABASE_POOL_SIZE": "20",
        **{f"{prefix}_{k.upper()}": v for k, v in env.items()},
    }, ROOT / ".local" / "bench-logs", name=f"bench-{service}")
    process.database_url = url
    await process.start()
    return process


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ------------------------------------------------------------------ 3. contention


def _requests(resources: list[str], n: int, day: datetime) -> list[tuple[str, datetime]]:
    """n (resource, start) requests: 80% for distinct slots, 20% repeating one of them."""
    distinct = [(resources[i % len(resources)], day + timedelta(minutes=30 * (i // len(
        resources)))) for i in range(int(n * 0.8))]
    repeats = [random.choice(distinct) for _ in range(n - len(distinct))]
    wanted = distinct + repeats
    random.shuffle(wanted)
    return wanted


async def _through_api(url: str, token: str, service_code: str,
                       wanted: list[tuple[str, datetime]]) -> tuple[float, list[float], dict]:
    queue: asyncio.Queue = asyncio.Queue()
    for item in wanted:
        queue.put_nowait(item)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            while not queue.empty():
                resource, starts = queue.get_nowait()
                began = time.perf_counter()
                answer = await http.post("/bookings", json={
                    "resource_id": resource, "service_code": service_code,
                    "starts_at": starts.isoformat(), "customer_id": str(uuid4()),
                    "offline_channel": "phone"})
                latencies.append(time.perf_counter() - began)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(64)])
    return time.perf_counter() - began, latencies, statuses


async def _raw_inserts(dsn: str, service_code: str, wanted: list[tuple[str, datetime]],
                       minutes: int) -> tuple[float, list[float], dict]:
    pool = await asyncpg.create_pool(dsn, min_size=64, max_size=64)
    queue: asyncio.Queue = asyncio.Queue()
    for item in wanted:
        queue.put_nowait(item)
    latencies: list[float] = []
    outcomes = {"booked": 0, "conflict": 0}

    async def client() -> None:
        while not queue.empty():
            resource, starts = queue.get_nowait()
            now = datetime.now(UTC)
            began = time.perf_counter()
            try:
                await pool.execute(
                    "INSERT INTO bookings (id, resource_id, service_code, customer_id, channel, "
                    "offline_channel, party_size, starts_at, ends_at, held_from, held_until, "
                    "status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, "
                    "'offline', 'phone', 1, $5, $6, $5, $6, 'booked', $7, $8, $8)",
                    uuid4(), UUID(resource), service_code, uuid4(), starts,
                    starts + timedelta(minutes=minutes), uuid4(), now)
                outcomes["booked"] += 1
            except asyncpg.ExclusionViolationError:
                outcomes["conflict"] += 1
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(64)])
    elapsed = time.perf_counter() - began
    await pool.close()
    return elapsed, latencies, outcomes


async def contention(kafka: KafkaConnection, factory: DatabaseFactory, n: int,
                     repetitions: int) -> list[Figure]:
    secret = uuid4().hex * 2
    booking = await start("booking", kafka, factory, secret, booking_horizon_days="730")
    head = issue_token(secret, subject=uuid4(), role=Role.HEAD)
    desk = issue_token(secret, subject=uuid4(), role=Role.ATTENDANT)
    async with httpx.AsyncClient(base_url=booking.url, timeout=60,
                                 headers={"Authorization": f"Bearer {head}"}) as http:
        code = f"bench-{uuid4().hex[:6]}"
        assert (await http.post("/services", json={
            "code": code, "name": "A game", "duration_minutes": 30, "buffer_before_minutes": 0,
            "buffer_after_minutes": 0, "resource_kinds": ["court"]})).status_code == 201
        resources = []
        for i in range(50):
            answer = await http.post("/resources", json={
                "name": f"court {i}", "kind": "court", "capacity": 4, "location": "bench",
                "opening_hours": [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
                                  for d in WEEK]})
            resources.append(answer.json()["id"])
    api_rate, api_p99, raw_rate, raw_p99, overlaps = [], [], [], [], 0
    dsn = asyncpg_dsn(booking.database_url)
    try:
        for repetition in range(repetitions):
            base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            day = base + timedelta(days=2 + 60 * repetition)
            elapsed, latencies, statuses = await _through_api(
                booking.url, desk, code, _requests(resources, n, day))
            assert set(statuses) <= {201, 409}, statuses
            api_rate.append(statuses.get(201, 0) / elapsed)
            api_p99.append(percentile(latencies, 99) * 1000)
            elapsed, latencies, outcomes = await _raw_inserts(
                dsn, code, _requests(resources, n, day + timedelta(days=20)), 30)
            raw_rate.append(outcomes["booked"] / elapsed)
            raw_p99.append(percentile(latencies, 99) * 1000)
        connection = await asyncpg.connect(dsn)
        overlaps = await connection.fetchval(OVERLAPS)
        await connection.close()
    finally:
        await booking.stop()
    return [
        Figure("booking contention", f"{n:,} requests, 64 clients, 20% conflicting",
               "bookings/s", median(api_rate), "raw asyncpg inserts, same constraint",
               median(raw_rate), api_rate, raw_rate,
               note=f"overlapping bookings afterwards: {overlaps}"),
        Figure("booking contention", "p99 latency", "ms", median(api_p99),
               "raw asyncpg insert p99", median(raw_p99), api_p99, raw_p99),
    ]


# ------------------------------------------------------------------ 4 and 5. end to end


async def end_to_end(kafka: KafkaConnection, factory: DatabaseFactory, n: int,
                     repetitions: int, *, rate: int = 100) -> list[Figure]:
    """`n` visits completed at `rate` per second (6,000 = 60 s at 100/s)."""
    secret = uuid4().hex * 2
    processes = {s: await start(s, kafka, factory, secret, **(
        {"field_encryption_keys": _crm_key()} if s == "crm" else {}))
        for s in ("booking", "reception", "crm", "hr")}
    await asyncio.sleep(3)
    idle = {s: rss_mib(p.pid) for s, p in processes.items()}
    hr_admin = issue_token(secret, subject=uuid4(), role=Role.HR_ADMIN)
    head = issue_token(secret, subject=uuid4(), role=Role.HEAD)
    desk = issue_token(secret, subject=uuid4(), role=Role.ATTENDANT)
    reception, hr = processes["reception"], processes["hr"]
    p50s, p99s, rates, peaks = [], [], [], {s: 0.0 for s in processes}
    try:
        staff = []
        async with httpx.AsyncClient(base_url=hr.url, timeout=60,
                                     headers={"Authorization": f"Bearer {hr_admin}"}) as http:
            for i in range(10):
                staff_id = str(uuid4())
                answer = await http.post("/staff", json={"display_name": f"Attendant {i}",
                                                         "role": "attendant",
                                                         "staff_id": staff_id})
                assert answer.status_code == 201, answer.text
                staff.append(staff_id)
        async with httpx.AsyncClient(base_url=reception.url, timeout=60,
                                     headers={"Authorization": f"Bearer {head}"}) as http:
            location = (await http.post("/locations", json={"name": "spa", "kind": "room"})
                        ).json()["location_id"]
            while len((await http.get("/staff")).json()) < len(staff):
                await asyncio.sleep(0.2)
        for _ in range(repetitions):
            p50, p99, achieved = await _complete_visits(
                reception.url, reception.database_url, hr.database_url, desk, location, staff,
                n, rate, processes, peaks)
            p50s.append(p50)
            p99s.append(p99)
            rates.append(achieved)
    finally:
        for process in processes.values():
            await process.stop()
    figures = [Figure("end to end", f"visit completed → HR fact, {rate}/s for {n // rate} s",
                      "ms p50", median(p50s), runs=p50s),
               Figure("end to end", f"visit completed → HR fact, {rate}/s for {n // rate} s",
                      "ms p99", median(p99s), runs=p99s, note="target: under 250 ms"),
               Figure("end to end", "completions reception achieved", "visits/s",
                      median(rates), "the rate asked for", rate, rates)]
    figures += [Figure("footprint", f"{s} resident memory, idle → peak under scenario 4",
                       "MiB", peaks[s], "idle", idle[s]) for s in processes]
    return figures


def _crm_key() -> str:
    import secrets

    return secrets.token_urlsafe(32)


async def _complete_visits(reception: str, reception_database: str, hr_database: str,
                           token: str, location: str, staff: list[str], n: int, rate: int,
                           processes: dict, peaks: dict) -> tuple[float, float, float]:
    """Complete `n` visits at `rate` per second; the latency of each is from reception's
    completion (its `completed_at`, stamped in the request just before the commit that
    answers it) to HR's `recorded_at` of the visit's fact: the relay, Kafka and HR's consumer,
    on one machine's clock. (Timing the client's receipt instead measures the benchmark's own
    event loop as much as the platform.)"""
    headers = {"Authorization": f"Bearer {token}"}
    # A small pool: httpcore scans every pooled connection on each request, and with a few
    # hundred the load generator, not the platform, became the bottleneck.
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=reception, timeout=60, headers=headers,
                                 limits=limits) as http:
        visits: list[str] = []

        async def check_in(i: int) -> None:
            answer = await http.post("/visits/walk-in", json={
                "customer_id": str(uuid4()), "party_size": 1, "location_id": location,
                "host_staff_id": staff[i % len(staff)]})
            assert answer.status_code == 201, answer.text
            visits.append(answer.json()["visit_id"])

        for start in range(0, n, 50):
            await asyncio.gather(*[check_in(i) for i in range(start, min(n, start + 50))])
        answered: dict[str, float] = {}  # visit → when the client had its answer

        async def complete(visit: str) -> None:
            answer = await http.post(f"/visits/{visit}/complete")
            answered[visit] = time.time()
            assert answer.status_code == 200, answer.text

        tasks = []
        began = time.monotonic()
        for i, visit in enumerate(visits):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(complete(visit)))
            if i % rate == 0:
                for s, p in processes.items():
                    peaks[s] = max(peaks[s], rss_mib(p.pid))
        await asyncio.gather(*tasks)
    connection = await asyncpg.connect(asyncpg_dsn(hr_database))
    try:
        deadline = time.monotonic() + 120
        while True:
            rows = await connection.fetch(
                "SELECT subject_id, min(recorded_at) AS at FROM kpi_facts WHERE kind = 'visit' "
                "AND subject_id = ANY($1::uuid[]) GROUP BY subject_id", list(answered))
            if len(rows) == len(answered) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    connection = await asyncpg.connect(asyncpg_dsn(reception_database))
    try:
        completed = {str(r["visit_id"]): r["completed_at"] for r in await connection.fetch(
            "SELECT visit_id, completed_at FROM visits WHERE visit_id = ANY($1::uuid[])",
            list(answered))}
    finally:
        await connection.close()
    latencies = [(r["at"] - completed[str(r["subject_id"])]).total_seconds() * 1000
                 for r in rows]
    assert len(latencies) == len(answered), f"{len(answered) - len(latencies)} facts missing"
    # The rate reception really completed them at (the load generator shares the machine).
    span = (max(completed.values()) - min(completed.values())).total_seconds()
    return percentile(latencies, 50), percentile(latencies, 99), (len(completed) - 1) / span
