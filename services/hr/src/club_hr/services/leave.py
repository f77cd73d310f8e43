"""Leave and authorised absence (R2 §6.1 forbids only *unauthorised* late arrival and early
leave): a staff member asks (or a manager records it for them, e.g. sick leave after the
fact); the head or the deputy (R2 §2.1–2.2) approves or declines. Approving or cancelling
approved leave judges the shifts it touches again, so a late arrival, early leave or absence
it authorises is withdrawn with its open discipline case (domain/attendance.py). Absences are
opened only by the absence job, which looks at shifts ended in the last two days: cancelling
leave for a shift older than that opens none by itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from club_platform.errors import Conflict, Forbidden, Invalid, NotFound
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import attendance as rules
from club_hr.domain.staff import OFFBOARDED
from club_hr.schema import leave_requests
from club_hr.services import attendance, lock
from club_hr.services import staff as register


def leave_view(row: Any) -> dict:
    return {
        "leave_id": row.leave_id,
        "staff_id": row.staff_id,
        "kind": row.kind,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "reason": row.reason,
        "status": row.status,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "decision_note": row.decision_note,
    }


async def _row(session: AsyncSession, leave_id: UUID, *, for_update: bool = False) -> Any:
    query = select(leave_requests).where(leave_requests.c.leave_id == leave_id)
    row = (await session.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound(f"no leave request {leave_id}")
    return row


async def request_leave(session: AsyncSession, *, now: datetime, staff_id: UUID, kind: str,
                        starts_at: datetime, ends_at: datetime, reason: str,
                        requested_by: UUID) -> dict:
    rules.check_leave(kind, starts_at, ends_at)
    if not reason.strip():
        raise Invalid("a leave request needs a reason")
    member = await register.get(session, staff_id)
    if member.status == OFFBOARDED:
        raise Conflict("the staff member has been offboarded")
    leave_id = uuid4()
    await session.execute(leave_requests.insert().values(
        leave_id=leave_id, staff_id=staff_id, kind=kind, starts_at=starts_at, ends_at=ends_at,
        reason=reason.strip(), requested_by=requested_by, requested_at=now))
    return leave_view(await _row(session, leave_id))


async def _judge_again(session: AsyncSession, row: Any, *, now: datetime,
                       grace: timedelta) -> None:
    await lock(session, "attendance", row.staff_id)
    changes = await attendance.evaluate(session, staff_id=row.staff_id, start=row.starts_at,
                                        end=row.ends_at, grace=grace, now=now)
    await attendance.after_violation_changes(session, changes, now)


async def decide(session: AsyncSession, *, now: datetime, leave_id: UUID, approve: bool,
                 decided_by: UUID, note: str | None, grace: timedelta) -> dict:
    row = await _row(session, leave_id, for_update=True)
    if row.status != "requested":
        raise Conflict(f"the leave request is already {row.status}")
    if row.staff_id == decided_by:
        raise Forbidden("nobody approves their own leave")
    await session.execute(leave_requests.update().where(leave_requests.c.leave_id == leave_id)
                          .values(status="approved" if approve else "declined",
                                  decided_by=decided_by, decided_at=now, decision_note=note))
    if approve:
        await _judge_again(session, await _row(session, leave_id), now=now, grace=grace)
    return leave_view(await _row(session, leave_id))


async def cancel(session: AsyncSession, *, now: datetime, leave_id: UUID, by: UUID,
                 grace: timedelta) -> dict:
    """The staff member withdraws a request, or a manager cancels approved leave (the shifts
    it covered are judged again)."""
    row = await _row(session, leave_id, for_update=True)
    if row.status not in ("requested", "approved"):
        raise Conflict(f"the leave request is already {row.status}")
    await session.execute(leave_requests.update().where(leave_requests.c.leave_id == leave_id)
                          .values(status="cancelled", decided_by=by, decided_at=now))
    if row.status == "approved":
        await _judge_again(session, row, now=now, grace=grace)
    return leave_view(await _row(session, leave_id))


async def get(session: AsyncSession, leave_id: UUID) -> dict:
    return leave_view(await _row(session, leave_id))


async def list_leave(session: AsyncSession, *, staff_id: UUID | None,
                     status: str | None) -> list[dict]:
    query = select(leave_requests).order_by(leave_requests.c.starts_at,
                                            leave_requests.c.leave_id).limit(1000)
    if staff_id:
        query = query.where(leave_requests.c.staff_id == staff_id)
    if status:
        query = query.where(leave_requests.c.status == status)
    return [leave_view(r) for r in (await session.execute(query)).all()]
