"""Fixtures of the end-to-end tests: the four services as real processes on real Kafka and
PostgreSQL.

- `club` (one for the package): a catalogue, a floor and staff, for one customer's journey
  and the restart tests;
- `demo_run` (once per session): the demo day of README command 1 against its own four
  processes (`CLUB_DEMO_TEST_MEMBERS` sizes the day, 6 by default: about a minute with the
  services' start-up; `make up` runs 12).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from club_platform.auth import Role
from club_platform.testing import wait_for
from club_platform.testing.processes import stop_all

from .support import PATIENCE, SERVICES, Club, Staff, now

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
DemoConfig, run_demo_day = demo_day.DemoConfig, demo_day.run_demo_day

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


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def demo_run(spawn, kafka_connection, jwt_secret, tmp_path_factory,
                   mailpit) -> AsyncIterator[DemoRun]:
    clock_file = tmp_path_factory.mktemp("demo-clock") / "offset"
    quick_jobs = {"CRM_SLA_CHECK_INTERVAL_SECONDS": "1", "BOOKING_NO_SHOW_SWEEP_SECONDS": "1",
                  "CRM_NOTIFY_INTERVAL_SECONDS": "1"}
    # CRM sends the day's messages to the real SMTP server, where the test counts them.
    smtp = {"CRM_SMTP_HOST": mailpit.smtp_host, "CRM_SMTP_PORT": str(mailpit.smtp_port)}
    processes = {}
    for service in demo_day.SERVICES:
        processes[service] = await spawn(service, start=False, env={
            f"{service.upper()}_CLOCK_OFFSET_FILE": str(clock_file), **quick_jobs, **smtp})
    # Survey links point at this CRM process, as a customer's e-mail would.
    processes["crm"].env["CRM_SURVEY_LINK_BASE_URL"] = processes["crm"].url
    await asyncio.gather(*(process.start() for process in processes.values()))
    urls = {service: process.url for service, process in processes.items()}
    topics = sorted({json.loads(path.read_text())["x-topic"] for path in SCHEMAS.glob("*.json")})
    before = await end_offsets(kafka_connection.bootstrap_servers, topics)
    report = await run_demo_day(DemoConfig(
        urls=urls, jwt_secret=jwt_secret, door=kafka_connection, clock_file=clock_file,
        members=MEMBERS, mailpit_url=mailpit.url))
    yield DemoRun(report=report, urls=urls, clock_file=clock_file, start_offsets=before)
    # Stopped with the package: their clock runs days ahead, and left running they would go on
    # judging the demo's shifts and publishing into the tests that follow.
    await stop_all(processes.values())


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def club(spawn, token, kafka_connection) -> AsyncIterator[Club]:
    # Each service on a fresh database, its consumer group at the end of its topics: it
    # sees only what happens from here on, like a club opening for the first time.
    processes = {s: await spawn(s, name=f"e2e-{s}", start=False) for s in SERVICES}
    # Started side by side: most of a start is the interpreter importing its libraries.
    await asyncio.gather(*(process.start() for process in processes.values()))
    club = Club(processes, token, kafka_connection)
    tag = secrets.token_hex(3)
    club.treatment, club.quick = f"e2e-massage-{tag}", f"e2e-tea-{tag}"

    async with club.as_("booking", Role.HEAD) as http:
        for code, name, minutes in ((club.treatment, "Deep tissue massage", 60),
                                    (club.quick, "Tea ceremony", 15)):
            answer = await http.post("/services", json={
                "code": code, "name": name, "duration_minutes": minutes,
                "buffer_before_minutes": 0, "buffer_after_minutes": 0,
                "resource_kinds": ["room"]})
            assert answer.status_code == 201, answer.text
    async with club.as_("reception", Role.HEAD) as http:
        answer = await http.post("/locations", json={"name": f"Spa floor {tag}",
                                                     "kind": "area", "capacity": 500})
        assert answer.status_code == 201, answer.text
        club.location_id = answer.json()["location_id"]

    # HR registers the club's existing staff (hired a month ago). Reception and CRM have no
    # staff of their own: they learn of them from staff.hired only.
    hired = {}
    async with club.as_("hr", Role.HR_ADMIN) as http:
        for who, name, role in (("host", "Ana Host", "attendant"),
                                ("colleague", "Bo Colleague", "attendant"),
                                ("specialist", "Chen Specialist", "crm_specialist")):
            answer = await http.post("/staff", json={
                "display_name": name, "role": role,
                "hired_at": (now() - timedelta(days=30)).isoformat()})
            assert answer.status_code == 201, answer.text
            hired[who] = answer.json()["staff_id"]
    club.staff = Staff(**{who: UUID(staff_id) for who, staff_id in hired.items()})

    async def directories_know_them() -> bool:
        async with club.as_("reception", Role.HEAD) as http:
            for staff_id in hired.values():
                answer = await http.get(f"/staff/{staff_id}")
                if answer.status_code != 200 or answer.json()["status"] != "active":
                    return False
        async with club.as_("crm", Role.HEAD) as http:
            team = (await http.get("/followups/team")).json()
        return hired["specialist"] in [m["staff_id"] for m in team]

    await wait_for(directories_know_them, timeout=PATIENCE, interval=0.3,
                   what="reception and CRM learning of the staff from staff.hired")
    yield club
    await stop_all(processes.values())
