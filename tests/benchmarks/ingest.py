"""Scenario 2, HR ingestion: N events already on HR's topics, consumed by the HR service (a
real process: envelope decode, validation, inbox, KPI facts) — beside a raw aiokafka consumer
inserting equivalent rows with asyncpg in batches and no inbox, and beside Kafka's own
ConsumerPerformance tool reading the same number of records (the broker's ceiling here).

Rates are measured from the database's own clock: first to last inbox row for HR, first to
last inserted row for the raw consumer, so start-up and group joins are not counted.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from club_contracts import (
    ComplaintOpened,
    FollowupCompleted,
    IncidentReported,
    ServiceDelivered,
    SurveySubmitted,
    VisitCompleted,
)
from club_platform.db import asyncpg_dsn
from club_platform.envelope import encode, envelope_for
from club_platform.kafka import KafkaConnection, TopicSpec, ensure_topics, reliable_producer
from club_platform.migrations import upgrade_async
from club_platform.testing import start_group_at_end
from club_platform.testing.databases import DatabaseFactory
from club_platform.testing.processes import ServiceProcess

from tests.benchmarks.common import ROOT, Figure, median

TOPICS = ["visit.completed", "survey.submitted", "complaint.opened", "followup.completed",
          "incident.reported"]
CEILING_TOPIC = "bench.ingest.ceiling"


def day_of_events(n: int) -> list:
    """`n` events in equal shares over HR's KPI topics, about a small team."""
    staff = [uuid4() for _ in range(12)]
    start = datetime.now(UTC) - timedelta(days=3)
    events = []
    for i in range(n):
        at = start + timedelta(seconds=i)
        a, b = staff[i % 12], staff[(i + 5) % 12]
        kind = i % 5
        if kind == 0:
            events.append(VisitCompleted(
                visit_id=uuid4(), customer_id=uuid4(), location_id=uuid4(), host_staff_id=a,
                staff_ids=[a, b], services=[
                    ServiceDelivered(service_code="massage", staff_id=b, started_at=at,
                                     ended_at=at + timedelta(minutes=50))],
                checked_in_at=at - timedelta(hours=1), completed_at=at))
        elif kind == 1:
            events.append(SurveySubmitted(response_id=uuid4(), customer_id=uuid4(),
                                          visit_id=uuid4(), staff_ids=[a, b], csat=1 + i % 5,
                                          nps=i % 11, submitted_at=at))
        elif kind == 2:
            events.append(ComplaintOpened(
                complaint_id=uuid4(), customer_id=uuid4(), subject_staff_ids=[a],
                category="service", severity="low", channel="phone", opened_at=at,
                sla_due_at=at + timedelta(days=1)))
        elif kind == 3:
            events.append(FollowupCompleted(
                followup_id=uuid4(), customer_id=uuid4(), reason="post_visit", staff_id=a,
                due_at=at, completed_at=at, outcome="satisfied"))
        else:
            events.append(IncidentReported(
                incident_id=uuid4(), category="facility", severity="low", location_id=uuid4(),
                reported_by=a, occurred_at=at - timedelta(minutes=5), reported_at=at))
    return events


async def publish(kafka: KafkaConnection, events: list, topic: str | None = None) -> None:
    producer = reliable_producer(kafka)
    await producer.start()
    try:
        futures = []
        for event in events:
            key, value, headers = encode(event, envelope_for(event))
            futures.append(await producer.send(topic or event.topic, value=value, key=key,
                                               headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _span(dsn: str, query: str, n: int, timeout: float = 600) -> float:
    """Poll until `query` (count, first, last) reaches n rows; returns last − first."""
    connection = await asyncpg.connect(dsn)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            count, first, last = await connection.fetchrow(query)
            if count >= n:
                return (last - first).total_seconds()
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"only {count} of {n} rows after {timeout}s")
            await asyncio.sleep(0.25)
    finally:
        await connection.close()


async def hr_once(kafka: KafkaConnection, factory: DatabaseFactory, events: list,
                  jwt_secret: str) -> float:
    url = await factory.create("hr")
    await upgrade_async(ROOT / "services" / "hr", url)
    group = f"bench-hr-{uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, TOPICS)
    await publish(kafka, events)
    process = ServiceProcess("hr", {
        "HR_DATABASE_URL": url, "HR_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "HR_JWT_SECRET": jwt_secret, "HR_CONSUMER_GROUP": group, "HR_ENVIRONMENT": "test",
        "HR_LOG_LEVEL": "WARNING",
    }, ROOT / ".local" / "bench-logs", name="bench-hr")
    await process.start()
    try:
        seconds = await _span(asyncpg_dsn(url), "SELECT count(*), min(received_at), "
                              "max(received_at) FROM inbox", len(events))
    finally:
        await process.stop()
    return (len(events) - 1) / seconds


RAW_TABLE = """CREATE TABLE raw_facts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source_event_id uuid NOT NULL, topic text NOT NULL, staff_id uuid, subject_id uuid NOT NULL,
  occurred_at timestamptz NOT NULL, attrs jsonb NOT NULL DEFAULT '{}',
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp())"""
SUBJECT = {"visit.completed": "visit_id", "survey.submitted": "response_id",
           "complaint.opened": "complaint_id", "followup.completed": "followup_id",
           "incident.reported": "incident_id"}
WHEN = {"visit.completed": "completed_at", "survey.submitted": "submitted_at",
        "complaint.opened": "opened_at", "followup.completed": "completed_at",
        "incident.reported": "reported_at"}


async def raw_once(kafka: KafkaConnection, factory: DatabaseFactory, events: list) -> float:
    """A raw aiokafka consumer writing one row per event with asyncpg, batch by batch."""
    dsn = asyncpg_dsn(await factory.create("rawhr"))
    connection = await asyncpg.connect(dsn)
    await connection.execute(RAW_TABLE)
    group = f"bench-raw-{uuid4().hex[:8]}"
    await start_group_at_end(kafka, group, TOPICS)
    await publish(kafka, events)
    consumer = AIOKafkaConsumer(*TOPICS, **kafka.client_args(), group_id=group,
                                enable_auto_commit=False, max_poll_records=500)
    await consumer.start()
    seen = 0
    try:
        while seen < len(events):
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            rows = []
            for records in batches.values():
                for record in records:
                    data = orjson.loads(record.value)
                    headers = dict(record.headers)
                    staff = data.get("host_staff_id") or data.get("staff_id") or data.get(
                        "reported_by")
                    rows.append((headers["ce_id"].decode(), record.topic, staff,
                                 data[SUBJECT[record.topic]],
                                 datetime.fromisoformat(data[WHEN[record.topic]]), "{}"))
            if rows:
                await connection.executemany(
                    "INSERT INTO raw_facts (source_event_id, topic, staff_id, subject_id, "
                    "occurred_at, attrs) VALUES ($1::uuid, $2, $3::uuid, $4::uuid, $5, $6)",
                    rows)
                await consumer.commit()
                seen += len(rows)
    finally:
        await consumer.stop()
        await connection.close()
    return (len(events) - 1) / await _span(
        dsn, "SELECT count(*), min(recorded_at), max(recorded_at) FROM raw_facts", len(events))


async def ceiling_once(kafka: KafkaConnection, events: list) -> float | None:
    """Kafka's ConsumerPerformance over the same number of records (None without its jars)."""
    tools = await asyncio.to_thread(
        subprocess.run, ["python3", str(ROOT / "deploy" / "local" / "infra.py"), "kafka-tools"],
        capture_output=True, text=True)
    if tools.returncode != 0:
        print(f"ConsumerPerformance unavailable: {tools.stderr[-500:]}")
        return None
    libs = Path(tools.stdout.strip().splitlines()[-1])
    await ensure_topics(kafka, [TopicSpec(CEILING_TOPIC)])
    await publish(kafka, events, topic=CEILING_TOPIC)
    result = await asyncio.to_thread(
        subprocess.run, ["java", "-cp", f"{libs}/*", "org.apache.kafka.tools.ConsumerPerformance",
         "--bootstrap-server", kafka.bootstrap_servers, "--topic", CEILING_TOPIC,
         "--messages", str(len(events)), "--group", f"bench-ceiling-{uuid4().hex[:8]}"],
        capture_output=True, text=True, env={**os.environ, "KAFKA_HEAP_OPTS": "-Xmx512m"})
    return _parse_rate(result.stdout)


def _parse_rate(output: str) -> float | None:
    """fetch.nMsg.sec from ConsumerPerformance's summary: records per second while fetching,
    without the group join (the same window the other two rates use)."""
    lines = output.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("start.time")), None)
    if header is None or header + 1 >= len(lines):
        return None
    names = [h.strip() for h in lines[header].split(",")]
    values = [v.strip() for v in lines[header + 1].split(",")]
    return float(dict(zip(names, values, strict=False)).get("fetch.nMsg.sec", "nan"))


async def run(kafka: KafkaConnection, factory: DatabaseFactory, n: int,
              repetitions: int) -> list[Figure]:
    jwt_secret = os.environ.get("CLUB_JWT_SECRET", "bench-" + uuid4().hex)
    hr, raw, ceiling = [], [], []
    for _ in range(repetitions):
        events = day_of_events(n)
        raw.append(await raw_once(kafka, factory, events))
        hr.append(await hr_once(kafka, factory, events, jwt_secret))
        rate = await ceiling_once(kafka, events[: n])
        if rate:
            ceiling.append(rate)
    await factory.drop_all()
    figures = [Figure("HR ingestion", f"{n:,} events → KPI facts", "events/s", median(hr),
                      "raw aiokafka consumer + asyncpg batch inserts, no inbox", median(raw),
                      hr, raw)]
    if ceiling:
        figures.append(Figure("HR ingestion", f"{n:,} events → KPI facts", "events/s",
                              median(hr), "Kafka ConsumerPerformance (the broker's ceiling)",
                              median(ceiling), hr, ceiling))
    return figures
