"""The staff directory (from HR's staff events) and fair assignment of work to CRM specialists
(R1 §2.4, §8.3: CRM specialists handle complaints and follow-ups).

The directory converges whatever order the events come in: role and status are taken from
the event with the latest effective time (an offboarding wins a tie), names and departments
from staff.hired whenever it arrives.

When a specialist stops being an active specialist (suspended, offboarded, another role),
their open follow-ups and complaints go to the others by the fair rule; when one becomes
active, unassigned work is handed out.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.complaints import ACTIVE
from club_crm.domain.followups import Candidate, FollowupState, choose_assignee
from club_crm.schema import complaint_history, complaints, followups, staff

# Assignments are serialised, so two at once do not both pick the same "least busy" person.
ASSIGNMENT_LOCK = zlib.crc32(b"club-crm:assignment")

WorkKind = Literal["followups", "complaints"]


def _active_specialist():
    return sa.and_(staff.c.role == "crm_specialist", staff.c.status == "active")


async def record_staff(session: AsyncSession, *, staff_id: UUID, role: str | None, status: str,
                       effective_at: datetime, display_name: str | None = None,
                       department: str | None = None, hired_at: datetime | None = None,
                       now: datetime) -> None:
    new = pg_insert(staff).values(
        staff_id=staff_id, role=role, status=status, status_at=effective_at,
        display_name=display_name, department=department, hired_at=hired_at)
    newer = sa.or_(new.excluded.status_at > staff.c.status_at,
                   sa.and_(new.excluded.status_at == staff.c.status_at,
                           new.excluded.status == "offboarded"))
    await session.execute(new.on_conflict_do_update(
        index_elements=[staff.c.staff_id],
        set_={
            "display_name": sa.func.coalesce(new.excluded.display_name, staff.c.display_name),
            "department": sa.func.coalesce(new.excluded.department, staff.c.department),
            "hired_at": sa.func.coalesce(new.excluded.hired_at, staff.c.hired_at),
            "role": sa.case((sa.and_(newer, new.excluded.role.isnot(None)), new.excluded.role),
                            else_=sa.func.coalesce(staff.c.role, new.excluded.role)),
            "status": sa.case((newer, new.excluded.status), else_=staff.c.status),
            "status_at": sa.func.greatest(new.excluded.status_at, staff.c.status_at),
        },
    ))
    await rebalance(session, staff_id, now)


async def is_revoked(session: AsyncSession, staff_id: UUID) -> bool:
    """HR has suspended or offboarded this person (unknown ids are not refused here: the
    token's signature and lifetime still bound them)."""
    return bool(await session.scalar(
        sa.select(sa.literal(True)).where(staff.c.staff_id == staff_id,
                                          staff.c.status.in_(("suspended", "offboarded")))))


async def is_active_specialist(session: AsyncSession, staff_id: UUID) -> bool:
    return bool(await session.scalar(
        sa.select(sa.literal(True)).where(staff.c.staff_id == staff_id, _active_specialist())))


async def pick_specialist(session: AsyncSession, kind: WorkKind, now: datetime) -> UUID | None:
    """The active CRM specialist with the fewest open items of `kind` (see domain.followups)."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(ASSIGNMENT_LOCK)))
    if kind == "followups":
        open_items = (sa.select(sa.func.count()).where(
            followups.c.assigned_to == staff.c.staff_id,
            followups.c.state == FollowupState.OPEN.value))
    else:
        open_items = (sa.select(sa.func.count()).where(
            complaints.c.assigned_to == staff.c.staff_id,
            complaints.c.state.in_([s.value for s in ACTIVE])))
    rows = (await session.execute(
        sa.select(staff.c.staff_id, staff.c.last_assigned_at,
                  open_items.scalar_subquery().label("open_items"))
        .where(_active_specialist()))).all()
    chosen = choose_assignee([Candidate(r.staff_id, r.open_items, r.last_assigned_at)
                              for r in rows])
    if chosen is not None:
        await note_assignment(session, chosen, now)
    return chosen


async def note_assignment(session: AsyncSession, staff_id: UUID, now: datetime) -> None:
    await session.execute(sa.update(staff).where(staff.c.staff_id == staff_id)
                          .values(last_assigned_at=now))


async def rebalance(session: AsyncSession, staff_id: UUID, now: datetime) -> int:
    """Move work after a change of `staff_id`'s role or status; returns the items moved.

    An active specialist is handed the work nobody holds; someone who can no longer hold
    work (not active, or no longer a specialist, deputy or head) gives theirs back."""
    member = await staff_member(session, staff_id)
    if member is None:
        return 0
    if member.status == "active" and member.role == "crm_specialist":
        owner = None           # hand out what nobody holds
    elif member.status == "active" and member.role in ("deputy", "head"):
        return 0               # a supervisor keeps what was given to them (R2 §2.2)
    else:
        owner = staff_id       # take back what this person can no longer do
    moved = 0
    open_followups = (await session.execute(
        sa.select(followups.c.followup_id).where(
            followups.c.state == FollowupState.OPEN.value,
            followups.c.assigned_to.is_(None) if owner is None
            else followups.c.assigned_to == owner)
        .order_by(followups.c.due_at).with_for_update())).scalars().all()
    for followup_id in open_followups:
        to = await pick_specialist(session, "followups", now)
        if to == owner:
            continue
        await session.execute(sa.update(followups).where(followups.c.followup_id == followup_id)
                              .values(assigned_to=to))
        moved += 1
    open_complaints = (await session.execute(
        sa.select(complaints.c.complaint_id, complaints.c.state).where(
            complaints.c.state.in_([s.value for s in ACTIVE]),
            complaints.c.assigned_to.is_(None) if owner is None
            else complaints.c.assigned_to == owner)
        .order_by(complaints.c.resolution_due_at).with_for_update())).all()
    for complaint_id, state in open_complaints:
        to = await pick_specialist(session, "complaints", now)
        if to == owner:
            continue
        await session.execute(sa.update(complaints).where(complaints.c.complaint_id == complaint_id)
                              .values(assigned_to=to, updated_at=now))
        await session.execute(sa.insert(complaint_history).values(
            complaint_id=complaint_id, at=now, actor_id=None, action="reassigned",
            from_state=state, to_state=state, assigned_to=to,
            reason="staff_unavailable" if owner is not None else "specialist_available"))
        moved += 1
    return moved


async def crm_team(session: AsyncSession) -> list[dict]:
    """Active CRM specialists with their open work (the fairness rule, visible)."""
    open_followups = sa.select(sa.func.count()).where(
        followups.c.assigned_to == staff.c.staff_id,
        followups.c.state == FollowupState.OPEN.value).scalar_subquery()
    open_complaints = sa.select(sa.func.count()).where(
        complaints.c.assigned_to == staff.c.staff_id,
        complaints.c.state.in_([s.value for s in ACTIVE])).scalar_subquery()
    rows = (await session.execute(
        sa.select(staff.c.staff_id, staff.c.display_name, staff.c.last_assigned_at,
                  open_followups.label("open_followups"),
                  open_complaints.label("open_complaints"))
        .where(_active_specialist()).order_by(staff.c.staff_id))).all()
    return [dict(r._mapping) for r in rows]


async def staff_member(session: AsyncSession, staff_id: UUID) -> sa.Row | None:
    return (await session.execute(sa.select(staff).where(staff.c.staff_id == staff_id))).first()
