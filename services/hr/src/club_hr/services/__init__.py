"""Use cases of the hr service. Each takes the open transaction's session (the unit of work),
loads what it needs, applies a rule from `club_hr.domain`, saves, and writes its events with
`publish()` into the same transaction. The API and the event handlers call them alike."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock(session: AsyncSession, *parts: object) -> None:
    """A transaction-level advisory lock on a name, e.g. ("attendance", staff_id): concurrent
    use cases on the same thing take turns."""
    name = ":".join(str(p) for p in parts)
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:n, 0))"),
                          {"n": name})
