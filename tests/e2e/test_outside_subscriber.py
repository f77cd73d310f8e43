"""A subscriber in another team or language, with nothing of this project but the published
JSON Schemas (shared/contracts/src/club_contracts/schemas/*.json, read as files): a raw Kafka
consumer and a generic JSON Schema validator decode every event the demo day produced.

No club code decodes anything here: the record's `ce_type` header picks the schema file, the
value is parsed as JSON and validated (formats included: uuid, date-time, date)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

from aiokafka import AIOKafkaConsumer, TopicPartition
from jsonschema import Draft202012Validator

from .conftest import SCHEMAS, end_offsets

READ_TIMEOUT = 120.0


def published_schemas() -> dict[str, dict]:
    """ce_type → JSON Schema, exactly as a subscriber downloads them."""
    schemas = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text())
        schemas[schema["x-ce-type"]] = schema
    return schemas


def validator_for(schema: dict) -> Draft202012Validator:
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


async def read_window(bootstrap: str, start: dict[TopicPartition, int],
                      end: dict[TopicPartition, int]) -> list:
    """Every record between the two offsets of each partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    # Let the consumer's background task begin: aiokafka's stop() re-raises the
    # CancelledError of a task that was cancelled before it first ran.
    await asyncio.sleep(0)
    records = []
    try:
        wanted = [tp for tp in end if end[tp] > start.get(tp, 0)]
        consumer.assign(wanted)
        for tp in wanted:
            consumer.seek(tp, start.get(tp, 0))
        remaining = set(wanted)
        deadline = time.monotonic() + READ_TIMEOUT
        while remaining and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for tp, batch in batches.items():
                records += [r for r in batch if r.offset < end[tp]]
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
        assert not remaining, f"could not read to the end of {sorted(map(str, remaining))}"
    finally:
        await consumer.stop()
    return records


async def test_an_outside_subscriber_decodes_every_event_of_the_demo_day(
    demo_run, kafka_connection
):
    schemas = published_schemas()
    validators = {ce_type: validator_for(schema) for ce_type, schema in schemas.items()}
    # Formats are checked, not just annotated: the checker knows the ones the schemas use.
    checker = Draft202012Validator.FORMAT_CHECKER
    assert {"uuid", "date-time", "date"} <= set(checker.checkers)
    topics = sorted({schema["x-topic"] for schema in schemas.values()})
    report = demo_run.report
    bootstrap = kafka_connection.bootstrap_servers

    # The services publish through their outboxes: read until every event the day caused
    # (by the keys it knows) is on its topic.
    deadline = time.monotonic() + READ_TIMEOUT
    while True:
        end = await end_offsets(bootstrap, topics)
        records = await read_window(bootstrap, demo_run.start_offsets, end)
        # Delivery is at least once: a copy with a ce_id already read is the same event.
        records = list({dict(r.headers or ()).get("ce_id") or (r.topic, r.partition, r.offset): r
                        for r in reversed(records)}.values())[::-1]
        ours = Counter(r.topic for r in records
                       if r.key is not None and r.key.decode() in report.keys[r.topic])
        if all(ours[t] >= n for t, n in report.expected_events.items()):
            break
        assert time.monotonic() < deadline, (
            f"events missing after {READ_TIMEOUT:.0f}s: "
            f"{ {t: (ours[t], n) for t, n in report.expected_events.items() if ours[t] < n} }")
        await asyncio.sleep(0.5)

    failures, decoded = [], Counter()
    for record in records:
        headers = {name: value.decode() for name, value in record.headers or ()}
        ce_type = headers.get("ce_type")
        where = f"{record.topic}@{record.partition}:{record.offset}"
        if ce_type not in schemas:
            failures.append(f"{where}: no published schema for ce_type {ce_type!r}")
            continue
        if schemas[ce_type]["x-topic"] != record.topic:
            failures.append(f"{where}: {ce_type} on the wrong topic")
        if headers.get("content-type") != "application/json":
            failures.append(f"{where}: content-type {headers.get('content-type')!r}")
        try:
            value = json.loads(record.value)
        except (TypeError, ValueError) as e:
            failures.append(f"{where}: not JSON ({e})")
            continue
        errors = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                  for e in validators[ce_type].iter_errors(value)]
        if errors:
            failures.append(f"{where} {ce_type}: {'; '.join(errors[:3])}")
            continue
        key_field = schemas[ce_type]["x-key"]
        if record.key is None or record.key.decode() != str(value[key_field]):
            failures.append(f"{where}: key {record.key!r} is not the event's {key_field}")
        decoded[record.topic] += 1

    print("\nevents of the demo day per topic (decoded with the JSON Schemas alone):")
    for topic in sorted(decoded):
        print(f"  {topic:24} {decoded[topic]:4}  (the day's own: {ours[topic]})")
    assert not failures, "\n".join(failures[:20])
    assert decoded.total() == len(records) > 0
    # Exactly the events the day caused, none lost and none twice, on every topic it touched.
    assert {t: ours[t] for t in report.expected_events} == dict(report.expected_events)
    assert set(report.expected_events) >= {
        "staff.hired", "customer.registered", "booking.created", "booking.cancelled",
        "booking.rescheduled", "booking.no_show", "visit.checked_in", "visit.service_recorded",
        "visit.completed", "complaint.opened", "complaint.escalated", "complaint.resolved",
        "survey.submitted", "followup.completed", "incident.reported", "attendance.clocked",
        "assessment.published", "discipline.recorded", "booking.fulfilled"}


def test_the_validator_refuses_what_the_schemas_forbid():
    """The check above can fail: an event with a missing field, a wrong enum value or a
    malformed id or time does not validate."""
    schema = published_schemas()["club.attendance.clocked.v1"]
    validator = validator_for(schema)
    good = {"staff_id": "5e1f0d00-d00d-4c0b-9a7e-000000000002", "direction": "in",
            "at": "2026-11-26T09:13:00Z", "device_id": "5e1f0d00-d00d-4c0b-9a7e-000000000001"}
    assert validator.is_valid(good)
    for bad in ({k: v for k, v in good.items() if k != "at"}, good | {"direction": "sideways"},
                good | {"staff_id": "staff-7"}, good | {"at": "yesterday at nine"}):
        assert not validator.is_valid(bad), bad
