"""Projections and their rebuild (docs/reliability.md, "Replay").

A projection is a table a service keeps only from other services' events — reception's
expected arrivals, the staff directories, HR's KPI facts. A service declares it on its
consumer:

    consumer.projection("expected_arrivals", topics=BOOKING_TOPICS, tables=("expected_arrivals",))

and the operator rebuilds it from offset 0 with the service's own command (every replica
stopped, since Kafka will not move a group that has members):

    club-reception projections                 what can be rebuilt
    club-reception rebuild expected_arrivals   rewind, forget, then start the service again

The rebuild (1) rewinds the service's consumer group to the beginning of the projection's
topics, (2) in one transaction empties its tables and deletes the inbox rows of those topics
(or the inbox would skip every event as seen), so (3) the restarted service reads the topics
again and fills the tables anew. Handlers whose effects converge whatever the order make the
rebuilt table equal the live one, as long as the topics still hold the events (retention).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from club_platform.db import Database, inbox
from club_platform.kafka import KafkaConnection, partitions_of
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Projection:
    name: str
    topics: tuple[str, ...]
    tables: tuple[str, ...]
    description: str = ""


class GroupInUse(RuntimeError):
    """The consumer group has running members: stop the service before rewinding it."""


async def rewind_group(kafka: KafkaConnection, group_id: str, topics: Sequence[str],
                       to: Mapping[TopicPartition, int] | None = None) -> dict:
    """Commit `to` (by default the beginning of `topics`) as the group's position; its place
    on other topics is kept."""
    client = AIOKafkaConsumer(**kafka.client_args(), group_id=group_id,
                              enable_auto_commit=False)
    await client.start()
    try:
        partitions = await partitions_of(client, list(topics))
        client.assign(list(to) if to is not None else partitions)
        if to is None:
            to = await client.beginning_offsets(partitions)
        try:
            await client.commit(dict(to))
        except KafkaError as e:
            raise GroupInUse(f"Kafka refused to move group {group_id!r} ({e}); stop every "
                             "replica of the service and try again") from e
        return dict(to)
    finally:
        await client.stop()


async def forget(session: AsyncSession, consumer_name: str, projection: Projection) -> int:
    """Empty the projection's tables and forget the inbox rows of its topics; returns the
    number of rows removed from its tables."""
    removed = 0
    for table in projection.tables:
        removed += (await session.execute(sa.text(f'DELETE FROM "{table}"'))).rowcount
    await session.execute(sa.delete(inbox).where(inbox.c.consumer == consumer_name,
                                                 inbox.c.topic.in_(projection.topics)))
    return removed


async def rebuild(settings, consumer, name: str, *, rewind: bool = True) -> int:
    projection = consumer.projections[name]
    kafka = KafkaConnection.from_settings(settings)
    database = Database(settings.database_url.get_secret_value(), pool_size=1,
                        application_name=f"club-{settings.service_name}-rebuild")
    try:
        if rewind:
            await rewind_group(kafka, settings.group_id, projection.topics)
        async with database.transaction() as session:
            return await forget(session, consumer.name, projection)
    finally:
        await database.dispose()


def add_commands(subcommands: argparse._SubParsersAction) -> None:
    """`projections` and `rebuild NAME [--forget-only]` for a service's command line."""
    subcommands.add_parser("projections", help="the projections this service can rebuild")
    rebuild_command = subcommands.add_parser(
        "rebuild", help="rebuild a projection from offset 0 (stop every replica first)")
    rebuild_command.add_argument("projection")
    rebuild_command.add_argument(
        "--forget-only", action="store_true",
        help="empty it and its inbox rows but leave the group where it is (start the service "
             "with a new consumer group instead)")


def run_command(args: argparse.Namespace, settings, consumer) -> int:
    import asyncio

    if args.command == "projections":
        for projection in consumer.projections.values():
            print(f"{projection.name}: tables {', '.join(projection.tables)}; "
                  f"topics {', '.join(projection.topics)}. {projection.description}")
        return 0
    if args.projection not in consumer.projections:
        print(f"no projection {args.projection!r}; known: {', '.join(consumer.projections)}")
        return 2
    try:
        removed = asyncio.run(rebuild(settings, consumer, args.projection,
                                      rewind=not args.forget_only))
    except GroupInUse as e:
        print(e)
        return 1
    if not args.forget_only:
        print(f"group {settings.group_id} rewound to the beginning of "
              f"{', '.join(consumer.projections[args.projection].topics)}")
    print(f"{removed} rows forgotten; start the service to rebuild {args.projection}")
    return 0
