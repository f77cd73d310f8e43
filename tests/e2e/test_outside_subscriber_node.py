"""Another club system, written in Node.js, subscribes as docs/events.md tells it to: the
operator grants it a read-only principal (`club kafka-outside grant`), and the program in
tests/outside_subscriber/ (kafkajs, Ajv in strict mode; nothing of this repository but the
published schemas) reads every topic of the demo day over SASL/SCRAM, validates every event
against its schema and handles each `ce_id` once. The same principal is refused writing and
reading a topic it was not granted, and revoking it ends its reads."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from club_contracts import AttendanceClocked, topics
from club_platform.envelope import encode, envelope_for
from club_platform.kafka import KafkaConnection
from club_platform.testing.infrastructure import project_root, read_env_file

from .conftest import SCHEMAS, end_offsets
from .test_outside_subscriber import read_window

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "tests" / "outside_subscriber"
READ_TIMEOUT = 120.0


def _settings() -> dict[str, str]:
    values = dict(os.environ)
    root = project_root()
    if root and (root / ".env.local").exists():
        values = read_env_file(root / ".env.local") | values
    for needed in ("CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS", "CLUB_KAFKA_LIBS"):
        if needed not in values:
            pytest.fail(f"{needed} is unknown: run `make infra`", pytrace=False)
    return values


def club(*args: str) -> dict:
    """The operator's command, run as the operator runs it; its JSON answer."""
    env = _settings()
    done = subprocess.run([sys.executable, "-m", "club_platform.cli", *args], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr or done.stdout
    return json.loads(done.stdout.strip().splitlines()[-1])


def node_program() -> list[str]:
    """`node subscriber.mjs`, its packages installed exactly as package-lock.json pins them."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js 20 and npm are needed (apt-get install nodejs npm)", pytrace=False)
    lock = PROGRAM / "package-lock.json"
    installed = PROGRAM / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PROGRAM,
                       check=True, timeout=600)
    return [node, str(PROGRAM / "subscriber.mjs")]


async def run_subscriber(grant: dict, topic_names: list[str], start: dict) -> tuple[int, dict]:
    env = {"PATH": os.environ["PATH"], "CLUB_KAFKA_BROKERS": grant["bootstrap"],
           "CLUB_KAFKA_USERNAME": grant["principal"], "CLUB_KAFKA_PASSWORD": grant["password"],
           "CLUB_KAFKA_GROUP": grant["group"], "CLUB_TOPICS": ",".join(topic_names),
           "CLUB_SCHEMAS": str(SCHEMAS), "CLUB_START_OFFSETS": json.dumps(start),
           "CLUB_READ_TIMEOUT_MS": str(int(READ_TIMEOUT * 1000))}
    process = await asyncio.create_subprocess_exec(
        *node_program(), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), READ_TIMEOUT + 60)
    lines = out.decode().strip().splitlines()
    assert lines, f"the subscriber printed nothing (exit {process.returncode}): {err.decode()}"
    return process.returncode, json.loads(lines[-1])


def as_outsider(grant: dict) -> KafkaConnection:
    return KafkaConnection(grant["bootstrap"], "SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-512",
                           sasl_username=grant["principal"], sasl_password=grant["password"])


async def read_one(connection: KafkaConnection, topic: str) -> dict:
    consumer = AIOKafkaConsumer(**connection.client_args(), group_id=None,
                                enable_auto_commit=False, request_timeout_ms=5000)
    await consumer.start()
    await asyncio.sleep(0)
    try:
        return await asyncio.wait_for(
            consumer.beginning_offsets([TopicPartition(topic, 0)]), 10)
    finally:
        await consumer.stop()


async def wait_for_the_day(demo_run, bootstrap: str, topic_names: list[str]) -> list:
    """Until every event the day caused is on its topic (the relays publish after the fact)."""
    report = demo_run.report
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        end = await end_offsets(bootstrap, topic_names)
        records = await read_window(bootstrap, demo_run.start_offsets, end)
        ours = Counter(r.topic for r in records
                       if r.key is not None and r.key.decode() in report.keys[r.topic])
        if all(ours[t] >= n for t, n in report.expected_events.items()):
            return records
        assert time.monotonic() < deadline, f"events missing: {report.expected_events - ours}"
        await asyncio.sleep(0.5)


async def test_a_nodejs_system_reads_the_demo_day_with_its_own_read_only_principal(
    demo_run, kafka_connection
):
    bootstrap = kafka_connection.bootstrap_servers
    catalogue = topics()
    records = await wait_for_the_day(demo_run, bootstrap, catalogue)
    # The relay's resend after a fault, as a subscriber meets it: a copy of one event with
    # the same ce_id. The subscriber must handle it once.
    original = next(r for r in records if r.topic == "visit.completed")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(original.topic, value=original.value, key=original.key,
                                     headers=list(original.headers),
                                     partition=original.partition)
    finally:
        await producer.stop()

    name = f"partner-{secrets.token_hex(3)}"
    grant = club("kafka-outside", "grant", name, "--topics", ",".join(catalogue))
    assert grant["group"] == f"outside.{name}" and grant["topics"] == sorted(catalogue)
    try:
        start = {}
        for tp, offset in demo_run.start_offsets.items():
            start.setdefault(tp.topic, {})[str(tp.partition)] = offset
        code, seen = await run_subscriber(grant, catalogue, start)
        assert code == 0 and "error" not in seen, seen.get("error")
        assert seen["failures"] == [], "\n".join(seen["failures"][:20])
        assert seen["skipped"] == []  # every ce_type of the day has a published schema
        assert seen["duplicates"] >= 1  # the copy above, skipped on its ce_id
        # Exactly the day's events, each once, on every topic the day touched (v1 and v2
        # side by side where a major is deprecated).
        report = demo_run.report
        ours = {t: sum(key in report.keys[t] for key in seen["keys"].get(t, []))
                for t in report.expected_events}
        assert ours == dict(report.expected_events)
        assert seen["events"]["club.complaint.resolved.v2"] >= 2
        assert seen["events"]["club.booking.cancelled.v2"] >= 1
        print(f"\nthe Node.js subscriber read {seen['read']} records, "
              f"{sum(seen['events'].values())} events validated, "
              f"{seen['duplicates']} duplicate(s) skipped")

        outsider = as_outsider(grant)
        # Read-only: writing any topic, its own included, is refused.
        producer = AIOKafkaProducer(**outsider.client_args(), request_timeout_ms=10_000)
        await producer.start()
        try:
            event = AttendanceClocked(staff_id=uuid4(), direction="in",
                                      at=datetime.now(UTC), device_id=uuid4())
            key, value, headers = encode(event, envelope_for(event))
            with pytest.raises(TopicAuthorizationFailedError):
                await producer.send_and_wait(event.topic, value=value, key=key, headers=headers)
        finally:
            await producer.stop()
        # Dead letters were not granted: unreadable.
        with pytest.raises((TopicAuthorizationFailedError, KafkaError, TimeoutError)):
            await read_one(outsider, "hr.dlq")
        assert await read_one(outsider, "visit.completed")  # what it was granted, it reads
        # A connection open (and authenticated) when the grant is revoked...
        reading = AIOKafkaConsumer(**outsider.client_args(), group_id=None,
                                   enable_auto_commit=False, request_timeout_ms=5000)
        await reading.start()
        await asyncio.sleep(0)
        partition = TopicPartition("visit.completed", 0)
        assert await reading.beginning_offsets([partition])
    finally:
        revoked = club("kafka-outside", "revoke", name)
    try:
        # ...is refused its next request: the broker authorises every one.
        with pytest.raises((TopicAuthorizationFailedError, KafkaError, TimeoutError)):
            await asyncio.wait_for(reading.end_offsets([partition]), 15)
    finally:
        await reading.stop()
    assert revoked["revoked"]["groups"] == [f"outside.{name}"]
    assert sorted(revoked["revoked"]["topics"]) == sorted(catalogue)
    # Revoked: the program can no longer log in.
    code, seen = await run_subscriber(grant, ["visit.completed"], {})
    assert code != 0 and "authentication failed" in seen["error"] and not seen["events"], seen


async def test_a_grant_is_limited_to_the_topics_named(kafka_connection):
    name = f"narrow-{secrets.token_hex(3)}"
    grant = club("kafka-outside", "grant", name, "--topics", "visit.completed")
    try:
        outsider = as_outsider(grant)
        assert await read_one(outsider, "visit.completed")
        with pytest.raises((TopicAuthorizationFailedError, KafkaError, TimeoutError)):
            await read_one(outsider, "booking.created")
    finally:
        club("kafka-outside", "revoke", name)


def test_the_operator_cannot_grant_a_dead_letter_topic_a_services_name_or_group():
    env = _settings()
    for args, refusal in ((["partner-x", "--topics", "hr.dlq"], "not topics of the event"),
                          (["crm", "--topics", "visit.completed"], "the club's own principals"),
                          (["Partner X", "--topics", "visit.completed"], "a name is"),
                          (["partner-x", "--topics", "visit.completed", "--group", "hr"],
                           "group starts with")):
        done = subprocess.run(
            [sys.executable, "-m", "club_platform.cli", "kafka-outside", "grant", *args],
            env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and refusal in done.stderr, (args, done.stderr)
