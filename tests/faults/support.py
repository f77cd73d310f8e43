"""What the fault tests share: a bookable club set up through the booking API, and reading a
topic from the beginning for the keys a test made."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from club_platform.cli import read_topic
from club_platform.envelope import PoisonMessage, decode
from club_platform.kafka import KafkaConnection
from club_platform.testing import client

WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


async def open_resources(url: str, head: str, count: int) -> tuple[list[dict], dict]:
    """`count` courts open around the clock, and a 30-minute service they host."""
    async with client(url, head) as http:
        service = await http.post("/services", json={
            "code": f"fault-{secrets.token_hex(4)}", "name": "A quick game",
            "duration_minutes": 30, "buffer_before_minutes": 0, "buffer_after_minutes": 0,
            "resource_kinds": ["court"]})
        assert service.status_code == 201, service.text
        resources = []
        for n in range(count):
            answer = await http.post("/resources", json={
                "name": f"court {n} {secrets.token_hex(3)}", "kind": "court", "capacity": 4,
                "location": "level 1",
                "opening_hours": [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
                                  for d in WEEK]})
            assert answer.status_code == 201, answer.text
            resources.append(answer.json())
    return resources, service.json()


def slot(day: int, index: int) -> datetime:
    """The `index`-th half hour of the day `day` days from now (UTC), at least a day ahead."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=day + 1, minutes=30 * index)


async def events_for(kafka: KafkaConnection, topic: str, keys: set[str],
                     major: int = 1) -> dict[str, list]:
    """Every distinct event (by ce_id) of one major on `topic` for `keys`, in topic order, per
    key (a topic carries a newer major beside v1 during its deprecation window)."""
    found: dict[str, list] = {key: [] for key in keys}
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
        if type(event).major != major:
            continue
        if envelope.id in seen:
            continue  # a resend after an outage: the same event, deduplicated by ce_id
        seen.add(envelope.id)
        found[key].append(event)
    return found


def new_customer() -> UUID:
    return uuid4()
