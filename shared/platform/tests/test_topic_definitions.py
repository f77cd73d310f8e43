"""deploy/kafka/topics.yaml defines every topic of the catalogue and every group's dead-letter
topic, and applying it twice is harmless."""

from uuid import uuid4

from club_contracts import topics
from club_platform.cli import main, topic_specs
from club_platform.kafka import TopicSpec, ensure_topics, reconcile_topics


def test_every_catalogue_topic_and_dead_letter_topic_is_defined():
    names = {spec.name for spec in topic_specs()}
    assert set(topics()) <= names
    assert {"booking.dlq", "reception.dlq", "crm.dlq", "hr.dlq"} <= names
    assert main(["topics", "check"]) == 0


def test_retention_and_replication_come_from_the_file_and_the_command_line():
    specs = {spec.name: spec for spec in topic_specs(replication_factor=3)}
    # Projections are rebuilt from offset 0: events are kept; dead letters for 30 days.
    assert specs["visit.completed"].config["retention.ms"] == "-1"
    assert specs["hr.dlq"].config["retention.ms"] == "2592000000"
    assert {spec.replication_factor for spec in specs.values()} == {3}


async def test_applying_the_definitions_is_idempotent_and_reconciles_drift(kafka_connection):
    specs = topic_specs()
    await reconcile_topics(kafka_connection, specs)
    assert await reconcile_topics(kafka_connection, specs) == {
        "created": [], "reconfigured": [], "repartitioned": []}
    # Someone changed a topic by hand: applying the file puts it back, and grows partitions.
    name = f"drift.{uuid4().hex[:8]}"
    await ensure_topics(kafka_connection, [TopicSpec(name, partitions=1,
                                                     config={"retention.ms": "1000"})])
    wanted = TopicSpec(name, partitions=3, config={"retention.ms": "-1"})
    assert await reconcile_topics(kafka_connection, [wanted]) == {
        "created": [], "reconfigured": [name], "repartitioned": [name]}
    assert await reconcile_topics(kafka_connection, [wanted]) == {
        "created": [], "reconfigured": [], "repartitioned": []}
