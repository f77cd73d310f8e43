"""Training sessions (R2 §4.2–4.3; R1 §9.2 for policy revisions): required attendees,
attendance, completion, and the attendances the team-compliance KPI counts. A session may
declare the skills it raises (R2 §4.1): once held, it proposes level changes for those who
came (services/skills.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from club_contracts import TrainingAssigned
from club_platform.errors import Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import training as rules
from club_hr.domain.kpis import Observation
from club_hr.domain.staff import ACTIVE
from club_hr.schema import staff, training_attendees, training_sessions
from club_hr.services import skills


async def _session_row(session: AsyncSession, session_id: UUID, *,
                       for_update: bool = False) -> Any:
    query = select(training_sessions).where(training_sessions.c.session_id == session_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no training session {session_id}")
    return row


async def get_session(session: AsyncSession, session_id: UUID) -> dict:
    row = await _session_row(session, session_id)
    attendees = (await session.execute(
        select(training_attendees).where(training_attendees.c.session_id == session_id)
        .order_by(training_attendees.c.staff_id))).all()
    return {
        "session_id": row.session_id, "title": row.title, "clause": row.clause,
        "starts_at": row.starts_at, "ends_at": row.ends_at, "status": row.status,
        "policy_id": row.policy_id, "policy_version": row.policy_version,
        "completed_at": row.completed_at,
        "attendees": [{"staff_id": a.staff_id, "required": a.required,
                       "attended": a.attended} for a in attendees],
        "skills": await skills.declared_for_session(session, session_id),
    }


async def list_sessions(session: AsyncSession, *, staff_id: UUID | None) -> list[dict]:
    query = select(training_sessions.c.session_id).order_by(training_sessions.c.starts_at)
    if staff_id:
        query = query.join(training_attendees).where(training_attendees.c.staff_id == staff_id)
    ids = (await session.execute(query.limit(500))).scalars().all()
    return [await get_session(session, i) for i in ids]


async def _check_on_register(session: AsyncSession, staff_ids: Iterable[UUID]) -> None:
    wanted = set(staff_ids)
    found = set((await session.execute(
        select(staff.c.staff_id).where(staff.c.staff_id.in_(wanted)))).scalars().all())
    if wanted - found:
        raise Invalid(f"not on the staff register: {', '.join(sorted(map(str, wanted - found)))}")


async def add_attendees(session: AsyncSession, session_id: UUID, staff_ids: Iterable[UUID],
                        *, required: bool, now: datetime) -> None:
    """Add attendees; each one newly required is told (`training.assigned`, in this same
    transaction), someone already on the list is not told twice."""
    rows = [{"session_id": session_id, "staff_id": s, "attendance_id": uuid4(),
             "required": required} for s in dict.fromkeys(staff_ids)]
    if not rows:
        return
    added = (await session.execute(
        insert(training_attendees).values(rows).on_conflict_do_nothing()
        .returning(training_attendees.c.staff_id))).scalars().all()
    if not required or not added:
        return
    row = await _session_row(session, session_id)
    for staff_id in sorted(added):
        await publish(session, TrainingAssigned(
            session_id=session_id, staff_id=staff_id, clause=row.clause,
            starts_at=row.starts_at, ends_at=row.ends_at, policy_id=row.policy_id,
            policy_version=row.policy_version, assigned_at=now))


async def schedule(session: AsyncSession, *, now: datetime, title: str, clause: str,
                   starts_at: datetime, ends_at: datetime, staff_ids: list[UUID],
                   roles: list[str], created_by: UUID, policy_id: UUID | None = None,
                   policy_version: int | None = None,
                   raises: list[tuple[str, int, int]] | None = None) -> UUID:
    """Schedule a session; the named staff and every active member of the named roles are
    required to attend. `raises`: (skill, raise_by, up_to) for each skill it raises."""
    rules.check_session(starts_at, ends_at)
    await _check_on_register(session, staff_ids)
    by_role = (await session.execute(
        select(staff.c.staff_id).where(staff.c.role.in_(roles), staff.c.status == ACTIVE)
    )).scalars().all() if roles else []
    required = [*staff_ids, *by_role]
    if not required:
        raise Invalid("a training session needs required attendees: staff ids or roles")
    session_id = uuid4()
    await session.execute(training_sessions.insert().values(
        session_id=session_id, title=title, clause=clause, starts_at=starts_at,
        ends_at=ends_at, policy_id=policy_id, policy_version=policy_version,
        created_by=created_by))
    await skills.declare_for_session(session, session_id, raises or [])
    await add_attendees(session, session_id, required, required=True, now=now)
    return session_id


async def record_attendance(session: AsyncSession, *, now: datetime, session_id: UUID,
                            records: list[tuple[UUID, bool]], recorded_by: UUID) -> dict:
    row = await _session_row(session, session_id, for_update=True)
    rules.check_can_record(row.status, row.starts_at, now)
    await _check_on_register(session, [s for s, _ in records])
    for staff_id, attended in records:
        # Someone not required who came is added as a voluntary attendee.
        await session.execute(insert(training_attendees).values(
            session_id=session_id, staff_id=staff_id, attendance_id=uuid4(), required=False,
            attended=attended, recorded_by=recorded_by, recorded_at=now,
        ).on_conflict_do_update(
            index_elements=["session_id", "staff_id"],
            set_={"attended": attended, "recorded_by": recorded_by, "recorded_at": now}))
    if row.status == rules.HELD:
        # attendance recorded after completion still earns the session's proposals
        await skills.propose_for_session(session, now=now, session_id=session_id)
    return await get_session(session, session_id)


async def complete(session: AsyncSession, *, now: datetime, session_id: UUID,
                   completed_by: UUID) -> dict:
    """The session took place: whoever was required and not recorded was absent."""
    row = await _session_row(session, session_id, for_update=True)
    rules.check_can_complete(row.status, row.starts_at, now)
    await session.execute(training_attendees.update()
                          .where(training_attendees.c.session_id == session_id,
                                 training_attendees.c.attended.is_(None))
                          .values(attended=False, recorded_by=completed_by, recorded_at=now))
    await session.execute(training_sessions.update()
                          .where(training_sessions.c.session_id == session_id)
                          .values(status=rules.HELD, completed_at=now))
    await skills.propose_for_session(session, now=now, session_id=session_id)
    return await get_session(session, session_id)


async def attendance_observations(session: AsyncSession, *, start: datetime,
                                  end: datetime) -> list[Observation]:
    """Required attendances at sessions held in [start, end), for team training compliance."""
    rows = (await session.execute(
        select(training_attendees.c.attendance_id, training_attendees.c.attended,
               training_attendees.c.staff_id, training_sessions.c.session_id,
               training_sessions.c.starts_at)
        .join(training_sessions)
        .where(training_sessions.c.status == rules.HELD, training_attendees.c.required,
               training_sessions.c.starts_at >= start, training_sessions.c.starts_at < end)
        .order_by(training_sessions.c.starts_at, training_attendees.c.staff_id)
    )).all()
    return [Observation(source="training", source_id=r.attendance_id,
                        kind="training_attendance", occurred_at=r.starts_at,
                        value=Decimal(1 if r.attended else 0),
                        attrs={"session_id": str(r.session_id), "staff_id": str(r.staff_id)})
            for r in rows]
