"""The personal-data access audit (docs/authorization.md, R1 §6.2): who read or changed which
customer's personal data, when, and why. Written in the same transaction as the read, so a
read that cannot be audited does not happen."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from club_platform.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.schema import pii_access_log


async def record_access(session: AsyncSession, principal: Principal, customer_id: UUID, *,
                        action: str, purpose: str | None, now: datetime,
                        record_id: UUID | None = None) -> None:
    await session.execute(sa.insert(pii_access_log).values(
        at=now, actor_id=principal.id, actor_role=principal.role.value, customer_id=customer_id,
        action=action, purpose=purpose, record_id=record_id,
    ))


async def access_log(session: AsyncSession, *, customer_id: UUID | None, actor_id: UUID | None,
                     since: datetime | None, until: datetime | None,
                     limit: int) -> list[dict]:
    query = sa.select(pii_access_log).order_by(pii_access_log.c.at.desc(),
                                               pii_access_log.c.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(pii_access_log.c.customer_id == customer_id)
    if actor_id is not None:
        query = query.where(pii_access_log.c.actor_id == actor_id)
    if since is not None:
        query = query.where(pii_access_log.c.at >= since)
    if until is not None:
        query = query.where(pii_access_log.c.at < until)
    return [dict(row._mapping) for row in await session.execute(query)]
