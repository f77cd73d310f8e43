"""Offboarding (R1 §6.3): a checklist with evidence that documents were returned or destroyed
and access revoked, ending in `staff.offboarded`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from club_contracts import StaffOffboarded
from club_platform.errors import Conflict, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import offboarding as rules
from club_hr.domain.staff import OFFBOARDED
from club_hr.schema import offboarding_items, offboardings, shifts
from club_hr.services import staff as register


async def find(session: AsyncSession, staff_id: UUID) -> Any:
    return (await session.execute(
        select(offboardings).where(offboardings.c.staff_id == staff_id))).first()


async def _offboarding(session: AsyncSession, staff_id: UUID, *,
                       for_update: bool = False) -> Any:
    query = select(offboardings).where(offboardings.c.staff_id == staff_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no offboarding for staff member {staff_id}")
    return row


async def get_offboarding(session: AsyncSession, staff_id: UUID) -> dict:
    row = await _offboarding(session, staff_id)
    done = {i.item: i for i in (await session.execute(
        select(offboarding_items).where(offboarding_items.c.staff_id == staff_id))).all()}
    return {
        "staff_id": row.staff_id, "reason": row.reason, "last_day": row.last_day,
        "case_id": row.case_id, "started_by": row.started_by, "started_at": row.started_at,
        "completed_by": row.completed_by, "completed_at": row.completed_at,
        "checklist": [
            {"item": item, "done": item in done,
             "evidence": done[item].evidence if item in done else None,
             "done_by": done[item].done_by if item in done else None,
             "done_at": done[item].done_at if item in done else None}
            for item in rules.CHECKLIST
        ],
    }


async def start(session: AsyncSession, *, now: datetime, staff_id: UUID, reason: str,
                last_day: date, started_by: UUID, case_id: UUID | None = None) -> dict:
    member = await register.get(session, staff_id, for_update=True)
    if member.status == OFFBOARDED:
        raise Conflict("the staff member has already been offboarded")
    existing = await find(session, staff_id)
    if existing is not None:
        raise Conflict(f"the offboarding was already started on "
                       f"{existing.started_at.date().isoformat()}")
    await session.execute(offboardings.insert().values(
        staff_id=staff_id, reason=reason, last_day=last_day, case_id=case_id,
        started_by=started_by, started_at=now))
    return await get_offboarding(session, staff_id)


async def call_off_for_case(session: AsyncSession, *, staff_id: UUID, case_id: UUID) -> None:
    """A termination overturned or reduced on appeal: its unfinished offboarding goes."""
    row = await find(session, staff_id)
    if row is None or row.case_id != case_id:
        return
    if row.completed_at is not None:
        raise Conflict("the staff member has already been offboarded under this termination")
    await session.execute(offboarding_items.delete()
                          .where(offboarding_items.c.staff_id == staff_id))
    await session.execute(offboardings.delete().where(offboardings.c.staff_id == staff_id))


async def check_item(session: AsyncSession, *, now: datetime, staff_id: UUID, item: str,
                     evidence: str, done_by: UUID) -> dict:
    row = await _offboarding(session, staff_id, for_update=True)
    if row.completed_at is not None:
        raise Conflict("the offboarding is complete")
    values = {"evidence": evidence, "done_by": done_by, "done_at": now}
    await session.execute(insert(offboarding_items).values(staff_id=staff_id, item=item,
                                                           **values)
                          .on_conflict_do_update(index_elements=["staff_id", "item"],
                                                 set_=values))
    return await get_offboarding(session, staff_id)


async def complete(session: AsyncSession, *, now: datetime, staff_id: UUID,
                   completed_by: UUID) -> dict:
    row = await _offboarding(session, staff_id, for_update=True)
    if row.completed_at is not None:
        raise Conflict("the offboarding is already complete")
    done = set((await session.execute(
        select(offboarding_items.c.item).where(offboarding_items.c.staff_id == staff_id)
    )).scalars().all())
    rules.check_complete(done)
    await session.execute(offboardings.update().where(offboardings.c.staff_id == staff_id)
                          .values(completed_by=completed_by, completed_at=now))
    # Shifts after they left are no longer theirs.
    await session.execute(shifts.update()
                          .where(shifts.c.staff_id == staff_id, shifts.c.starts_at > now,
                                 shifts.c.status == "scheduled")
                          .values(status="cancelled"))
    await register.offboard(session, now=now, staff_id=staff_id)
    await publish(session, StaffOffboarded(staff_id=staff_id, effective_at=now))
    return await get_offboarding(session, staff_id)
