"""The demo day of README command 1 against the four services as real processes (the `spawn`
fixture: fresh databases, consumer groups from the end of their topics), run once for the
tests of this directory. `CLUB_DEMO_TEST_MEMBERS` sizes the day (6 by default: about a
minute with the services' start-up; `make up` runs 12)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

ROOT = Path(__file__).resolve().parents[2]


def _load_demo_day():
    """deploy/local/demo_day.py, the driver `make up` runs (a script directory, not a
    package: loaded by path so nothing else there lands on sys.path)."""
    spec = importlib.util.spec_from_file_location("demo_day", ROOT / "deploy/local/demo_day.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_day"] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


demo_day = _load_demo_day()
SERVICES, DemoConfig, run_demo_day = demo_day.SERVICES, demo_day.DemoConfig, demo_day.run_demo_day

SCHEMAS = ROOT / "shared" / "contracts" / "src" / "club_contracts" / "schemas"
MEMBERS = int(os.environ.get("CLUB_DEMO_TEST_MEMBERS", "6"))


@dataclass
class DemoRun:
    report: demo_day.DayReport
    urls: dict[str, str]
    clock_file: Path
    start_offsets: dict[TopicPartition, int]  # where every topic stood before the day


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """Where each partition of `topics` ends now (plain aiokafka, as any subscriber would)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [TopicPartition(t["topic"], p["partition"])
                  for t in described for p in t["partitions"]]
    assert {tp.topic for tp in partitions} == set(topics), described
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    # Let the consumer's background task begin: aiokafka's stop() re-raises the
    # CancelledError of a task that was cancelled before it first ran.
    await asyncio.sleep(0)
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def demo_run(spawn, kafka_connection, jwt_secret, tmp_path_factory) -> DemoRun:
    clock_file = tmp_path_factory.mktemp("demo-clock") / "offset"
    quick_jobs = {"CRM_SLA_CHECK_INTERVAL_SECONDS": "1", "BOOKING_NO_SHOW_SWEEP_SECONDS": "1"}
    processes = {}
    for service in SERVICES:
        processes[service] = await spawn(service, start=False, env={
            f"{service.upper()}_CLOCK_OFFSET_FILE": str(clock_file), **quick_jobs})
    # Survey links point at this CRM process, as a customer's e-mail would.
    processes["crm"].env["CRM_SURVEY_LINK_BASE_URL"] = processes["crm"].url
    await asyncio.gather(*(process.start() for process in processes.values()))
    urls = {service: process.url for service, process in processes.items()}
    topics = sorted({json.loads(path.read_text())["x-topic"] for path in SCHEMAS.glob("*.json")})
    before = await end_offsets(kafka_connection.bootstrap_servers, topics)
    report = await run_demo_day(DemoConfig(
        urls=urls, jwt_secret=jwt_secret, door=kafka_connection, clock_file=clock_file,
        members=MEMBERS))
    return DemoRun(report=report, urls=urls, clock_file=clock_file, start_offsets=before)
