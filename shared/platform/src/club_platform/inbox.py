"""The inbox (docs/reliability.md, "effects once"): `(consumer, ce_id)` recorded in the same
transaction as the consumer's effects. A redelivered event finds its row and is skipped; two
deliveries racing each other meet at the primary key, and the second waits for the first to
commit and then skips."""

from __future__ import annotations

from uuid import UUID

from club_platform.db import INBOX_TABLE, inbox
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


async def first_delivery(session: AsyncSession, consumer: str, event_id: UUID, topic: str) -> bool:
    """Record the event as seen by `consumer`; False when it was already."""
    result = await session.execute(
        insert(inbox)
        .values(consumer=consumer, event_id=event_id, topic=topic)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return result.first() is not None


_RECORD_MANY = text(
    f"INSERT INTO {INBOX_TABLE} (consumer, event_id, topic) "
    "SELECT :consumer, e.event_id, e.topic "
    "FROM unnest(CAST(:event_ids AS uuid[]), CAST(:topics AS text[])) AS e(event_id, topic) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


async def first_deliveries(session: AsyncSession, consumer: str,
                           deliveries: list[tuple[UUID, str]]) -> set[UUID]:
    """Record a batch of `(event id, topic)` in one statement (arrays, so one round trip and
    one cached plan whatever the batch size); returns the ids not seen before (an id repeated
    within the batch is returned once)."""
    if not deliveries:
        return set()
    result = await session.execute(_RECORD_MANY, {
        "consumer": consumer,
        "event_ids": [event_id for event_id, _ in deliveries],
        "topics": [topic for _, topic in deliveries],
    })
    return {UUID(str(value)) for value in result.scalars()}
