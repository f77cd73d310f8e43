"""Kafka access control (issue 9, scenario 9): on the SASL/SCRAM listener each principal may
write only its own topics and read only what it consumes (deploy/kafka/access.yaml, applied
with Kafka's standard authorizer)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError, TopicAuthorizationFailedError
from club_contracts import AttendanceClocked, CustomerRegistered, StaffHired, topics
from club_platform.cli import access_rules, topic_specs
from club_platform.envelope import encode, envelope_for
from club_platform.kafka import KafkaConnection
from club_platform.testing.infrastructure import local_settings


def _settings() -> dict[str, str]:
    values = local_settings()  # the test broker's address file, under the environment
    if "CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS" not in values:
        pytest.fail("the SASL listener address is unknown: run `make test-infra` (or set "
                    "CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS and CLUB_KAFKA_SCRAM_<PRINCIPAL>)",
                    pytrace=False)
    return values


def as_principal(principal: str, password: str | None = None) -> KafkaConnection:
    values = _settings()
    return KafkaConnection(
        values["CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS"], "SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512", sasl_username=principal,
        sasl_password=password or values[f"CLUB_KAFKA_SCRAM_{principal.upper()}"],
    )


async def produce(connection: KafkaConnection, event) -> None:
    producer = AIOKafkaProducer(**connection.client_args(), enable_idempotence=True,
                                acks="all", request_timeout_ms=10_000)
    await producer.start()
    try:
        key, value, headers = encode(event, envelope_for(event))
        await producer.send_and_wait(event.topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def visible_topics_and_read(connection: KafkaConnection,
                                  topic: str) -> tuple[set[str], dict]:
    """The topics the principal can see, and the start offsets of one topic it reads."""
    consumer = AIOKafkaConsumer(**connection.client_args(), group_id=None,
                                enable_auto_commit=False, request_timeout_ms=5000)
    await consumer.start()
    try:
        visible = set(await consumer.topics())
        offsets = await asyncio.wait_for(
            consumer.beginning_offsets([TopicPartition(topic, 0)]), 10)
        return visible, offsets
    finally:
        await consumer.stop()


def hired() -> StaffHired:
    return StaffHired(staff_id=uuid4(), display_name="Li Wei", role="attendant",
                      department="service", hired_at=datetime.now(UTC))


async def test_a_service_writes_its_own_topics_and_is_refused_on_another_services(
    kafka_connection,
):
    crm = as_principal("crm")
    await produce(crm, CustomerRegistered(customer_id=uuid4(), tier="gold",
                                          registered_at=datetime.now(UTC)))
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(crm, hired())  # staff.hired belongs to HR


async def test_a_service_reads_what_it_consumes_and_sees_nothing_else(kafka_connection):
    rule = access_rules()["crm"]
    visible, offsets = await visible_topics_and_read(as_principal("crm"), "visit.completed")
    assert offsets  # it reads what it consumes
    existing = set(topics()) | {s.name for s in topic_specs()}
    assert visible == (set(rule["produces"]) | set(rule["consumes"])) & existing
    # Another service's topic is invisible and unreadable (the broker answers "not
    # authorized" and aiokafka gives up waiting for the offsets).
    with pytest.raises((TopicAuthorizationFailedError, KafkaTimeoutError, TimeoutError)):
        await visible_topics_and_read(as_principal("crm"), "attendance.clocked")


async def test_the_door_system_may_only_clock_staff_in_and_out(kafka_connection):
    door = as_principal("door")
    await produce(door, AttendanceClocked(staff_id=uuid4(), direction="in",
                                          at=datetime.now(UTC), device_id=uuid4()))
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(door, hired())


async def test_a_wrong_password_is_refused(kafka_connection):
    with pytest.raises(KafkaError):
        await produce(as_principal("hr", password="not-the-password"), hired())
