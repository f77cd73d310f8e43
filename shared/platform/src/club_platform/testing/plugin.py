"""The pytest plugin of the club platform (registered as `club` through an entry point), so
every service's tests get the same real infrastructure:

- `club_infrastructure`: Kafka and PostgreSQL addresses (see `infrastructure.py` for where
  they come from; never a silent skip);
- `kafka_connection`: a `KafkaConnection`, with every catalogue topic created;
- `database_factory`: fresh databases per service, dropped at the end of the session;
- `event_publisher`: publish contract events on their real topics with the envelope;
- `kafka_tap`: `async with kafka_tap("visit.completed") as tap: …` sees events from now on;
- `jwt_secret` and `token`: sign tokens for any role;
- `mailpit`: a real SMTP server with an inbox API (testing/mailpit.py), stoppable.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from club_contracts import topics as catalogue_topics
from club_platform.auth import Role, issue_token
from club_platform.cli import topic_specs
from club_platform.kafka import KafkaConnection, TopicSpec, ensure_topics
from club_platform.testing.databases import DatabaseFactory
from club_platform.testing.infrastructure import (
    BrokerControl,
    Infrastructure,
    InfrastructureUnavailable,
    PostgresControl,
    broker_control,
    locate,
    postgres_control,
)
from club_platform.testing.kafka import EventPublisher, TopicTap
from club_platform.testing.mailpit import Mailpit, MailpitUnavailable, locate_mailpit


@pytest.fixture(scope="session")
def club_infrastructure() -> Infrastructure:
    try:
        infrastructure = locate()
    except InfrastructureUnavailable as e:
        pytest.fail(str(e), pytrace=False)
    yield infrastructure
    infrastructure.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def kafka_connection(club_infrastructure: Infrastructure) -> KafkaConnection:
    connection = KafkaConnection(club_infrastructure.kafka_bootstrap_servers)
    try:
        specs = topic_specs()  # the project's deploy/kafka/topics.yaml
    except SystemExit:  # a service tested outside the repository: the catalogue's topics
        specs = [TopicSpec(t) for t in catalogue_topics()]
    if await ensure_topics(connection, specs):
        await topics_visible(connection, {s.name for s in specs})
    return connection


async def topics_visible(connection: KafkaConnection, names: set[str],
                         timeout: float = 30.0) -> None:
    """Wait until the broker's metadata lists every topic just created: a fresh broker
    (the tests' own, started for this session) answers a create before every listener's
    metadata has the topic, and a client asking then would not see it."""
    deadline = time.monotonic() + timeout
    while True:
        consumer = AIOKafkaConsumer(**connection.client_args(), group_id=None)
        await consumer.start()
        try:
            missing = names - set(await consumer.topics())
        finally:
            await consumer.stop()
        if not missing or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.2)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def database_factory(club_infrastructure: Infrastructure) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(club_infrastructure.postgres_admin_url)
    yield factory
    if os.environ.get("CLUB_KEEP_TEST_DATABASES") != "1":
        await factory.drop_all()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def event_publisher(kafka_connection: KafkaConnection) -> AsyncIterator[EventPublisher]:
    publisher = await EventPublisher(kafka_connection).start()
    yield publisher
    await publisher.stop()


@pytest.fixture
def kafka_broker(club_infrastructure: Infrastructure) -> BrokerControl:
    """Stop and start the broker. Fails (never skips) where the broker is not ours to stop;
    deselect such tests with `-m "not broker_outage"` against a shared cluster."""
    control = broker_control(club_infrastructure)
    if control is None:
        pytest.fail("this test stops the Kafka broker: run it against the local infrastructure "
                    "(make infra) or testcontainers", pytrace=False)
    return control


@pytest.fixture
def postgres_server(club_infrastructure: Infrastructure) -> PostgresControl:
    """Stop and start PostgreSQL. Fails (never skips) unless it is the local server."""
    control = postgres_control(club_infrastructure)
    if control is None:
        pytest.fail("this test stops PostgreSQL: run it against the local infrastructure "
                    "(make infra)", pytrace=False)
    return control


@pytest.fixture
def kafka_tap(kafka_connection: KafkaConnection) -> Callable[..., TopicTap]:
    def make(*topics: str) -> TopicTap:
        return TopicTap(kafka_connection, list(topics))

    return make


@pytest.fixture(scope="session")
def mailpit() -> Mailpit:
    try:
        return locate_mailpit()
    except MailpitUnavailable as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def token(jwt_secret: str) -> Callable[..., str]:
    """`token("head")` or `token(Role.MEMBER, subject=customer_id)`: a signed bearer token."""

    def make(role: Role | str, subject: UUID | None = None, **kwargs) -> str:
        return issue_token(jwt_secret, subject=subject or uuid4(), role=role, **kwargs)

    return make


def unique_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    return [f"club: Kafka {kafka or '(from local infra or testcontainers)'}"]
