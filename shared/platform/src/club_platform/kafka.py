"""Kafka wiring shared by the relay, the consumer runner and the tools: one place that turns
settings into client arguments, so security settings reach every client the same way."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512


@dataclass(frozen=True)
class KafkaConnection:
    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> KafkaConnection:
        password = settings.kafka_sasl_password
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism
            if settings.kafka_security_protocol.startswith("SASL")
            else None,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=password.get_secret_value() if password else None,
        )

    @property
    def servers(self) -> list[str]:
        """The bootstrap list as hosts: `a:9092,b:9092` names a cluster's brokers (aiokafka
        splits such a string itself, FastStream's broker takes it as one host)."""
        return [s.strip() for s in self.bootstrap_servers.split(",") if s.strip()]

    @property
    def uses_ssl(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def client_args(self) -> dict[str, Any]:
        """Arguments for aiokafka's producer, consumer and admin clients."""
        args: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_ssl:
            args["ssl_context"] = ssl.create_default_context()
        if self.sasl_mechanism:
            args |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        return args

    def faststream_security(self) -> BaseSecurity | None:
        """The same settings in FastStream's terms, for its `KafkaBroker`."""
        context = ssl.create_default_context() if self.uses_ssl else None
        kinds = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512,
                 "PLAIN": SASLPlaintext}
        if self.sasl_mechanism:
            return kinds[self.sasl_mechanism](
                self.sasl_username or "", self.sasl_password or "", ssl_context=context,
                use_ssl=self.uses_ssl,
            )
        return BaseSecurity(ssl_context=context, use_ssl=self.uses_ssl) if self.uses_ssl else None


def reliable_producer(connection: KafkaConnection, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer with acks=all (docs/reliability.md): no duplicates from its own
    retries, and order kept per partition."""
    args: dict[str, Any] = {
        **connection.client_args(),
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_batch_size": 256 * 1024,
        "request_timeout_ms": 15_000,
        "compression_type": None,
    }
    args.update(overrides)
    return AIOKafkaProducer(**args)


async def partitions_of(consumer: AIOKafkaConsumer, topics: list[str],
                        timeout: float = 10.0) -> list[TopicPartition]:
    """Every partition of `topics`, asking the cluster again until its metadata has them
    (right after a broker restart, or a topic's creation, the first answer can be empty)."""
    partitions = []
    for topic in topics:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := consumer.partitions_for_topic(topic)):
            if asyncio.get_running_loop().time() > deadline:
                raise LookupError(f"topic {topic} does not exist")
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        partitions += [TopicPartition(topic, p) for p in sorted(found)]
    return partitions


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 3
    replication_factor: int = 1
    config: dict[str, str] | None = None


async def ensure_topics(connection: KafkaConnection, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that are missing; leave existing ones alone. Returns those created."""
    admin = AIOKafkaAdminClient(**connection.client_args())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created = []
        for spec in missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            spec.name,
                            num_partitions=spec.partitions,
                            replication_factor=spec.replication_factor,
                            topic_configs=spec.config or {},
                        )
                    ]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass  # another process created it between our list and create
        return created
    finally:
        await admin.close()


async def reconcile_topics(connection: KafkaConnection,
                           specs: list[TopicSpec]) -> dict[str, list[str]]:
    """Make the cluster match `specs`: create missing topics, set configs that differ, add
    partitions where there are fewer (partitions are never removed: Kafka cannot)."""
    created = await ensure_topics(connection, specs)
    admin = AIOKafkaAdminClient(**connection.client_args())
    await admin.start()
    reconfigured, repartitioned = [], []
    try:
        existing = [s for s in specs if s.name not in created]
        wanted = {s.name: s.config or {} for s in existing if s.config}
        if wanted:
            responses = await admin.describe_configs([
                ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(keys))
                for name, keys in wanted.items()])
            current: dict[str, dict[str, str]] = {}
            for response in responses:
                for _err, _msg, _type, name, entries in response.resources:
                    current[name] = {entry[0]: entry[1] for entry in entries}
            differ = [name for name, config in wanted.items()
                      if any(current.get(name, {}).get(k) != v for k, v in config.items())]
            if differ:
                await admin.alter_configs([
                    ConfigResource(ConfigResourceType.TOPIC, name, configs=wanted[name])
                    for name in differ])
                reconfigured = differ
        described = await admin.describe_topics([s.name for s in existing])
        counts = {t["topic"]: len(t["partitions"]) for t in described}
        grow = {s.name: NewPartitions(s.partitions) for s in existing
                if counts.get(s.name, s.partitions) < s.partitions}
        if grow:
            await admin.create_partitions(grow)
            repartitioned = sorted(grow)
    finally:
        await admin.close()
    return {"created": created, "reconfigured": reconfigured, "repartitioned": repartitioned}


async def kafka_reachable(connection: KafkaConnection, timeout: float = 2.0) -> bool:
    """True when a broker answers a metadata request within `timeout` seconds."""
    admin = AIOKafkaAdminClient(**connection.client_args(), request_timeout_ms=int(timeout * 1000))
    try:
        async with asyncio.timeout(timeout):
            await admin.start()
            await admin.describe_cluster()
        return True
    except (TimeoutError, KafkaError, KafkaConnectionError, OSError):
        return False
    finally:
        try:
            await admin.close()
        except Exception:
            pass
