"""Follow-up calls (R1 §2.4, §3.5, §5.4): scheduled after each completed visit and each resolved
complaint, worked from a per-specialist queue, completed with an outcome (followup.completed)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import FollowupCancelled, FollowupCompleted
from club_platform.auth import Principal, Role
from club_platform.errors import Conflict, Forbidden, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.followups import FollowupState
from club_crm.schema import followups, staff
from club_crm.services.staff import note_assignment, pick_specialist


async def schedule_followup(session: AsyncSession, now: datetime, *, customer_id: UUID,
                            reason: str, due_at: datetime, visit_id: UUID | None = None,
                            complaint_id: UUID | None = None,
                            preferred: UUID | None = None) -> UUID | None:
    """Schedule a call; None when one already exists for the visit (or open for the complaint)."""
    if preferred is not None:
        assigned_to: UUID | None = preferred
        await note_assignment(session, preferred, now)
    else:
        assigned_to = await pick_specialist(session, "followups", now)
    followup_id = uuid4()
    inserted = await session.execute(
        pg_insert(followups).values(
            followup_id=followup_id, customer_id=customer_id, reason=reason, visit_id=visit_id,
            complaint_id=complaint_id, assigned_to=assigned_to, due_at=due_at,
            state=FollowupState.OPEN.value, created_at=now,
        ).on_conflict_do_nothing().returning(followups.c.followup_id))
    return inserted.scalar()


async def cancel_open_followups(session: AsyncSession, now: datetime, *, reason: str,
                                where: sa.ColumnElement[bool]) -> int:
    """Cancel the open calls `where` says, each published as followup.cancelled with the
    code why (a specialist's queue elsewhere, or a report, would otherwise wait for it)."""
    cancelled = (await session.execute(
        sa.update(followups).where(where, followups.c.state == FollowupState.OPEN.value)
        .values(state=FollowupState.CANCELLED.value, cancelled_at=now, cancel_reason=reason)
        .returning(followups))).all()
    for row in cancelled:
        await publish(session, FollowupCancelled(
            followup_id=row.followup_id, customer_id=row.customer_id, reason=row.reason,
            visit_id=row.visit_id, complaint_id=row.complaint_id, staff_id=row.assigned_to,
            due_at=row.due_at, cancelled_at=now, cancel_reason=reason), occurred_at=now)
    return len(cancelled)


def _view(row: sa.Row, now: datetime) -> dict:
    return {
        "followup_id": row.followup_id,
        "customer_id": row.customer_id,
        "reason": row.reason,
        "visit_id": row.visit_id,
        "complaint_id": row.complaint_id,
        "assigned_to": row.assigned_to,
        "due_at": row.due_at,
        "state": row.state,
        "overdue": row.state == FollowupState.OPEN.value and row.due_at < now,
        "outcome": row.outcome,
        "completed_by": row.completed_by,
        "completed_at": row.completed_at,
        "cancel_reason": row.cancel_reason,
    }


async def load_followup(session: AsyncSession, followup_id: UUID, *,
                        for_update: bool = False) -> sa.Row:
    query = sa.select(followups).where(followups.c.followup_id == followup_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no follow-up {followup_id}")
    return row


async def read_followup(session: AsyncSession, followup_id: UUID, now: datetime) -> dict:
    return _view(await load_followup(session, followup_id), now)


async def list_followups(session: AsyncSession, now: datetime, *, assigned_to: UUID | None = None,
                         state: str | None = None, overdue: bool = False,
                         visit_id: UUID | None = None, complaint_id: UUID | None = None,
                         customer_id: UUID | None = None, unassigned: bool = False,
                         limit: int = 200) -> list[dict]:
    query = sa.select(followups).order_by(followups.c.due_at, followups.c.followup_id).limit(limit)
    if assigned_to is not None:
        query = query.where(followups.c.assigned_to == assigned_to)
    if unassigned:
        query = query.where(followups.c.assigned_to.is_(None))
    if overdue:
        query = query.where(followups.c.state == FollowupState.OPEN.value,
                            followups.c.due_at < now)
    elif state is not None:
        query = query.where(followups.c.state == state)
    if visit_id is not None:
        query = query.where(followups.c.visit_id == visit_id)
    if complaint_id is not None:
        query = query.where(followups.c.complaint_id == complaint_id)
    if customer_id is not None:
        query = query.where(followups.c.customer_id == customer_id)
    return [_view(r, now) for r in await session.execute(query)]


def _may_work_on(principal: Principal, row: sa.Row) -> None:
    if principal.role in (Role.HEAD, Role.DEPUTY):
        return
    if row.assigned_to not in (None, principal.id):
        raise Forbidden("this follow-up is in another specialist's queue; the head or deputy "
                        "can reassign it")


async def complete_followup(session: AsyncSession, principal: Principal, now: datetime,
                            followup_id: UUID, outcome: str) -> dict:
    row = await load_followup(session, followup_id, for_update=True)
    _may_work_on(principal, row)
    if row.state != FollowupState.OPEN.value:
        raise Conflict(f"this follow-up is already {row.state}")
    await session.execute(sa.update(followups).where(followups.c.followup_id == followup_id)
                          .values(state=FollowupState.COMPLETED.value, outcome=outcome,
                                  completed_by=principal.id, completed_at=now,
                                  assigned_to=row.assigned_to or principal.id))
    await publish(session, FollowupCompleted(
        followup_id=followup_id, customer_id=row.customer_id, reason=row.reason,
        visit_id=row.visit_id, complaint_id=row.complaint_id, staff_id=principal.id,
        due_at=row.due_at, completed_at=now, outcome=outcome,
    ), occurred_at=now)
    return _view(await load_followup(session, followup_id), now)


async def assign_followup(session: AsyncSession, now: datetime, followup_id: UUID,
                          staff_id: UUID) -> dict:
    row = await load_followup(session, followup_id, for_update=True)
    if row.state != FollowupState.OPEN.value:
        raise Conflict(f"this follow-up is already {row.state}")
    member = (await session.execute(sa.select(staff).where(staff.c.staff_id == staff_id))).first()
    if member is None or member.status != "active" or member.role not in (
            "crm_specialist", "deputy", "head"):
        raise Invalid(f"staff member {staff_id} is not an active CRM specialist, deputy or head "
                      "(as far as the staff events say)")
    await session.execute(sa.update(followups).where(followups.c.followup_id == followup_id)
                          .values(assigned_to=staff_id))
    await note_assignment(session, staff_id, now)
    return _view(await load_followup(session, followup_id), now)
