"""The staff register (R1 §2, R2 §2): hire, change role, suspend, reinstate. Every change is
published (`staff.hired`, `staff.changed`) so the other services keep their staff directory."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from club_contracts import StaffChanged, StaffHired
from club_platform.errors import Conflict, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import staff as rules
from club_hr.schema import staff, staff_roles
from club_hr.services import policies


def staff_view(row: Any) -> dict:
    return {
        "staff_id": row.staff_id,
        "display_name": row.display_name,
        "role": row.role,
        "department": row.department,
        "status": row.status,
        "hired_at": row.hired_at,
        "suspended_until": row.suspended_until,
        "status_reason": row.status_reason,
        "changed_at": row.changed_at,
    }


async def find(session: AsyncSession, staff_id: UUID, *, for_update: bool = False) -> Any:
    query = select(staff).where(staff.c.staff_id == staff_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def get(session: AsyncSession, staff_id: UUID, *, for_update: bool = False) -> Any:
    row = await find(session, staff_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no staff member {staff_id} on the register")
    return row


async def hire(session: AsyncSession, *, now: datetime, display_name: str, role: str,
               department: str, hired_at: datetime | None = None,
               staff_id: UUID | None = None) -> dict:
    """Register a staff member. `staff_id` may be given to register someone who already has
    an id in the club's other systems (a badge, an earlier register)."""
    staff_id = staff_id or uuid4()
    if await find(session, staff_id) is not None:
        raise Conflict(f"staff member {staff_id} is already on the register")
    hired_at = hired_at or now
    await session.execute(staff.insert().values(
        staff_id=staff_id, display_name=display_name, role=role, department=department,
        status=rules.ACTIVE, hired_at=hired_at, changed_at=now,
    ))
    await session.execute(staff_roles.insert().values(staff_id=staff_id, effective_at=hired_at,
                                                      role=role))
    await publish(session, StaffHired(staff_id=staff_id, display_name=display_name, role=role,
                                      department=department, hired_at=hired_at))
    # R1 §9.2: newcomers, too, acknowledge the rules in force.
    await policies.request_acknowledgements_from_newcomer(session, staff_id=staff_id, now=now)
    return staff_view(await get(session, staff_id))


async def list_staff(session: AsyncSession, *, role: str | None = None,
                     status: str | None = None) -> list[dict]:
    query = select(staff).order_by(staff.c.display_name, staff.c.staff_id)
    if role:
        query = query.where(staff.c.role == role)
    if status:
        query = query.where(staff.c.status == status)
    return [staff_view(r) for r in (await session.execute(query)).all()]


async def _changed(session: AsyncSession, staff_id: UUID, now: datetime, **values: Any) -> dict:
    await session.execute(staff.update().where(staff.c.staff_id == staff_id)
                          .values(changed_at=now, **values))
    row = await get(session, staff_id)
    await publish(session, StaffChanged(staff_id=staff_id, role=row.role, status=row.status,
                                        effective_at=now))
    return staff_view(row)


async def change_role(session: AsyncSession, *, now: datetime, staff_id: UUID,
                      role: str) -> dict:
    row = await get(session, staff_id, for_update=True)
    rules.check_can_change(row.status, "change their role")
    if row.role == role:
        raise Conflict(f"the staff member is already {role}")
    # The role history a period is assessed by (one role per instant: a second change in the
    # same instant replaces the first).
    await session.execute(insert(staff_roles).values(
        staff_id=staff_id, effective_at=now, role=role).on_conflict_do_update(
        index_elements=["staff_id", "effective_at"], set_={"role": role}))
    return await _changed(session, staff_id, now, role=role)


async def roles_between(session: AsyncSession, staff_id: UUID, start: datetime,
                        end: datetime) -> list[tuple[datetime, str]]:
    """The roles held over [start, end): (from when, role), the first from `start` (or from
    hiring, when hired later), each later one from its change."""
    before = (await session.execute(
        select(staff_roles.c.role).where(staff_roles.c.staff_id == staff_id,
                                         staff_roles.c.effective_at <= start)
        .order_by(staff_roles.c.effective_at.desc()).limit(1))).scalar()
    changes = (await session.execute(
        select(staff_roles.c.effective_at, staff_roles.c.role).where(
            staff_roles.c.staff_id == staff_id, staff_roles.c.effective_at > start,
            staff_roles.c.effective_at < end).order_by(staff_roles.c.effective_at))).all()
    held = [(start, before)] if before is not None else []
    return held + [(c.effective_at, c.role) for c in changes]


async def suspend(session: AsyncSession, *, now: datetime, staff_id: UUID,
                  until: datetime | None, reason: str) -> dict:
    """Suspend from work (R2 §8.2), until a time or until reinstated."""
    row = await get(session, staff_id, for_update=True)
    rules.check_can_suspend(row.status)
    if until is not None and until <= now:
        raise Invalid("a suspension must end in the future")
    return await _changed(session, staff_id, now, status=rules.SUSPENDED, suspended_until=until,
                          suspended_by_case=None, status_reason=reason)


async def reinstate(session: AsyncSession, *, now: datetime, staff_id: UUID,
                    reason: str) -> dict:
    row = await get(session, staff_id, for_update=True)
    rules.check_can_reinstate(row.status)
    return await _changed(session, staff_id, now, status=rules.ACTIVE, suspended_until=None,
                          suspended_by_case=None, status_reason=reason)


async def suspend_for_case(session: AsyncSession, *, now: datetime, staff_id: UUID,
                           until: datetime | None, case_id: UUID, reason: str) -> dict:
    """A suspension decided in a discipline case (R2 §8.2), or a termination awaiting its
    offboarding (`until` None). An ongoing suspension is extended, never shortened."""
    row = await find(session, staff_id, for_update=True)
    if row is None:
        raise Conflict(f"staff member {staff_id} is not on the register; register them before "
                       "suspending them")
    rules.check_can_change(row.status, "suspend them")
    if row.status == rules.SUSPENDED and (
            row.suspended_until is None or (until is not None and row.suspended_until > until)):
        until = row.suspended_until
    return await _changed(session, staff_id, now, status=rules.SUSPENDED, suspended_until=until,
                          suspended_by_case=case_id, status_reason=reason)


async def lift_case_suspension(session: AsyncSession, *, now: datetime, staff_id: UUID,
                               case_id: UUID, reason: str) -> bool:
    """Reinstate a staff member suspended by this case (its decision was overturned or
    reduced on appeal); False when the suspension is not this case's."""
    row = await find(session, staff_id, for_update=True)
    if row is None or row.status != rules.SUSPENDED or row.suspended_by_case != case_id:
        return False
    await _changed(session, staff_id, now, status=rules.ACTIVE, suspended_until=None,
                   suspended_by_case=None, status_reason=reason)
    return True


async def offboard(session: AsyncSession, *, now: datetime, staff_id: UUID) -> dict:
    """The last step of offboarding (R1 §6.3): the record closes."""
    row = await get(session, staff_id, for_update=True)
    rules.check_can_change(row.status, "offboard them again")
    return await _changed(session, staff_id, now, status=rules.OFFBOARDED, suspended_until=None,
                          suspended_by_case=None, status_reason="offboarded")


async def end_suspensions(session: AsyncSession, now: datetime) -> int:
    """The job: reinstate everyone whose suspension has run its course."""
    due = (await session.execute(
        select(staff.c.staff_id).where(staff.c.status == rules.SUSPENDED,
                                       staff.c.suspended_until <= now)
        .with_for_update(skip_locked=True)
    )).scalars().all()
    for staff_id in due:
        await _changed(session, staff_id, now, status=rules.ACTIVE, suspended_until=None,
                       suspended_by_case=None, status_reason="suspension ended")
    return len(due)
