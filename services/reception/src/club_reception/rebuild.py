"""Rebuild the expected arrivals from the booking topics (BLUEPRINT §4, "Replay").

    set -a && . ./.env.local && set +a       # or the RECEPTION_* variables of the deployment
    python -m club_reception.rebuild          # with every reception replica stopped
    python -m club_reception.rebuild --forget-only   # only step 2, for a fresh group instead

1. The service's consumer group is rewound to the beginning of `booking.created`,
   `booking.rescheduled` and `booking.cancelled` (its place on the staff and customer topics
   is kept). Kafka refuses this while members of the group are running, so a live service
   is never rewound under its feet: stop it first.
2. In one transaction, `expected_arrivals` is emptied and the inbox forgets the booking
   events it has seen (otherwise it would skip them as duplicates).
3. Start the service again: it reads the booking topics from the beginning and fills the
   table anew. The merges are order-free (domain/arrivals.py), so the rebuilt table equals the
   one kept live, as long as the topics still hold every booking event (their retention).

Visits keep their booking ids: they are reception's own records, not part of the projection.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from club_platform.db import Database
from club_platform.kafka import KafkaConnection

from club_reception.handlers import consumer
from club_reception.services import BOOKING_TOPICS, forget_expected_arrivals
from club_reception.settings import ReceptionSettings


class GroupInUse(RuntimeError):
    """The consumer group has running members: stop the service before rewinding it."""


async def rewind_group(kafka: KafkaConnection, group_id: str, topics: Sequence[str],
                       to: Mapping[TopicPartition, int] | None = None) -> dict:
    """Commit `to` (by default the beginning of `topics`) as `group_id`'s position."""
    client = AIOKafkaConsumer(**kafka.client_args(), group_id=group_id,
                              enable_auto_commit=False)
    await client.start()
    try:
        partitions = await partitions_of(client, topics)
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


async def partitions_of(client: AIOKafkaConsumer, topics: Sequence[str]) -> list[TopicPartition]:
    partitions = []
    for topic in topics:
        for _ in range(20):
            found = client.partitions_for_topic(topic)
            if found:
                break
            # A fresh client knows no topic yet; aiokafka has no public way to ask.
            await client._client.force_metadata_update()
            await asyncio.sleep(0.1)
        else:
            raise SystemExit(f"topic {topic} does not exist")
        partitions += [TopicPartition(topic, p) for p in sorted(found)]
    return partitions


async def rebuild_expected_arrivals(settings: ReceptionSettings, *,
                                    rewind: bool = True) -> int:
    kafka = KafkaConnection.from_settings(settings)
    database = Database(settings.database_url.get_secret_value(),
                        application_name="club-reception-rebuild")
    try:
        if rewind:
            await rewind_group(kafka, settings.group_id, BOOKING_TOPICS)
        async with database.transaction() as session:
            return await forget_expected_arrivals(session, consumer.name)
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m club_reception.rebuild",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--forget-only", action="store_true",
                        help="empty the table and the inbox rows, but leave the group where it "
                             "is (start the service with a new RECEPTION_CONSUMER_GROUP)")
    args = parser.parse_args(argv)
    settings = ReceptionSettings()
    try:
        forgotten = asyncio.run(rebuild_expected_arrivals(settings,
                                                          rewind=not args.forget_only))
    except GroupInUse as e:
        sys.exit(str(e))
    if not args.forget_only:
        print(f"group {settings.group_id} rewound on {', '.join(BOOKING_TOPICS)}")
    print(f"{forgotten} expected arrivals forgotten; start the service to rebuild them")


if __name__ == "__main__":
    main()
