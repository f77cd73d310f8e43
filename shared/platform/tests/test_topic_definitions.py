"""deploy/kafka/topics.yaml defines every topic of the catalogue and every group's dead-letter
topic, and applying it twice is harmless."""

from club_contracts import topics
from club_platform.cli import main, topic_specs
from club_platform.kafka import ensure_topics


def test_every_catalogue_topic_and_dead_letter_topic_is_defined():
    names = {spec.name for spec in topic_specs()}
    assert set(topics()) <= names
    assert {"booking.dlq", "reception.dlq", "crm.dlq", "hr.dlq"} <= names
    assert main(["topics", "check"]) == 0


def test_retention_and_replication_come_from_the_file_and_the_command_line():
    specs = {spec.name: spec for spec in topic_specs(replication_factor=3)}
    assert specs["staff.hired"].config["retention.ms"] == "-1"  # the directory is rebuilt
    assert specs["visit.completed"].config["retention.ms"] == "604800000"
    assert {spec.replication_factor for spec in specs.values()} == {3}


async def test_applying_the_definitions_is_idempotent(kafka_connection):
    specs = topic_specs()
    await ensure_topics(kafka_connection, specs)
    assert await ensure_topics(kafka_connection, specs) == []
