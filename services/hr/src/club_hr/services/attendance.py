"""Shifts and attendance (R2 §6.1). Clockings come from the API and from door or badge systems
(`attendance.clocked`); after every change the staff member's nearby shifts are evaluated
again, and late arrivals and early leaves beyond the grace period become attendance
violations (which open discipline cases, R2 §8.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from club_contracts import ShiftChanged
from club_platform.errors import Conflict, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import attendance as rules
from club_hr.domain.staff import OFFBOARDED
from club_hr.schema import attendance_violations, clockings, leave_requests, shifts
from club_hr.services import discipline, lock
from club_hr.services import staff as staff_register

# How far around a change to look: shifts starting within a day of it, and every clocking
# that could belong to one of those shifts.
_SHIFT_REACH = timedelta(days=1)
_CLOCKING_REACH = _SHIFT_REACH + rules.MAX_SHIFT + rules.MATCH_WINDOW


@dataclass(frozen=True)
class ViolationChange:
    """What an evaluation changed: a violation `opened` (or opened again), `updated` or
    `withdrawn`."""

    change: str
    violation: dict


def violation_view(row: Any) -> dict:
    return {
        "violation_id": row.violation_id,
        "staff_id": row.staff_id,
        "shift_id": row.shift_id,
        "kind": row.kind,
        "minutes": row.minutes,
        "clocking_id": row.clocking_id,
        "source_event_id": row.source_event_id,
        "occurred_at": row.occurred_at,
        "status": row.status,
        "detected_at": row.detected_at,
        "withdrawn_at": row.withdrawn_at,
    }


def clocking_view(row: Any) -> dict:
    return {
        "clocking_id": row.clocking_id,
        "staff_id": row.staff_id,
        "direction": row.direction,
        "at": row.at,
        "source": row.source,
        "device_id": row.device_id,
        "source_event_id": row.source_event_id,
        "recorded_by": row.recorded_by,
    }


def shift_view(row: Any, verdict: rules.ShiftAttendance | None) -> dict:
    view = {
        "shift_id": row.shift_id,
        "staff_id": row.staff_id,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "status": row.status,
    }
    if verdict is not None:
        view["attendance"] = {
            "arrived_at": verdict.arrival.at if verdict.arrival else None,
            "left_at": verdict.departure.at if verdict.departure else None,
            "late_minutes": verdict.late_minutes if verdict.late else None,
            "early_minutes": verdict.early_minutes if verdict.early else None,
            "kept": verdict.kept,
            "on_leave": str(verdict.on_leave.leave_id) if verdict.on_leave else None,
            "authorised_by_leave": [str(leave.leave_id) for leave in verdict.authorised],
        }
    return view


def _shift(row: Any) -> rules.Shift:
    return rules.Shift(row.shift_id, row.starts_at, row.ends_at)


def _clocking(row: Any) -> rules.Clocking:
    return rules.Clocking(row.clocking_id, row.direction, row.at, row.source_event_id)


async def _scheduled_shifts(session: AsyncSession, staff_id: UUID, start: datetime,
                            end: datetime) -> list[Any]:
    return (await session.execute(
        select(shifts).where(shifts.c.staff_id == staff_id, shifts.c.status == "scheduled",
                             shifts.c.starts_at < end, shifts.c.ends_at > start)
        .order_by(shifts.c.starts_at)
    )).all()


async def _clockings_between(session: AsyncSession, staff_id: UUID, start: datetime,
                             end: datetime) -> list[Any]:
    return (await session.execute(
        select(clockings).where(clockings.c.staff_id == staff_id, clockings.c.at >= start,
                                clockings.c.at < end)
        .order_by(clockings.c.at)
    )).all()


async def approved_leave(session: AsyncSession, staff_id: UUID, start: datetime,
                         end: datetime) -> list[rules.Leave]:
    rows = (await session.execute(
        select(leave_requests).where(leave_requests.c.staff_id == staff_id,
                                     leave_requests.c.status == "approved",
                                     leave_requests.c.starts_at < end,
                                     leave_requests.c.ends_at > start)
        .order_by(leave_requests.c.starts_at, leave_requests.c.leave_id)
    )).all()
    return [rules.Leave(r.leave_id, r.kind, r.starts_at, r.ends_at) for r in rows]


async def verdicts_for(session: AsyncSession, staff_id: UUID, shift_rows: list[Any],
                       grace: timedelta) -> dict[UUID, rules.ShiftAttendance]:
    """The attendance verdict of each shift in `shift_rows` (of one staff member), with the
    approved leave around them."""
    if not shift_rows:
        return {}
    start = min(r.starts_at for r in shift_rows)
    end = max(r.ends_at for r in shift_rows)
    # Neighbouring shifts compete for the clockings near the edges, so load them too.
    neighbours = await _scheduled_shifts(session, staff_id, start - _SHIFT_REACH,
                                         end + _SHIFT_REACH)
    found = await _clockings_between(session, staff_id, start - _CLOCKING_REACH,
                                     end + _CLOCKING_REACH)
    leaves = await approved_leave(session, staff_id, start - _SHIFT_REACH, end + _SHIFT_REACH)
    verdicts = rules.attendance_of([_shift(r) for r in neighbours],
                                   [_clocking(c) for c in found], grace, leaves)
    return {r.shift_id: verdicts[r.shift_id] for r in shift_rows if r.shift_id in verdicts}


async def evaluate(session: AsyncSession, *, staff_id: UUID, start: datetime, end: datetime,
                   grace: timedelta, now: datetime,
                   judge_absence: bool = False) -> list[ViolationChange]:
    """Evaluate the staff member's shifts near [start, end] and bring their violations up to
    date: new ones opened, corrected ones updated, disproved ones withdrawn. Absences are
    opened only when `judge_absence` (the absence job): a clocking, a leave decision or a
    shift scheduled after the fact must not call the neighbouring shifts missed before their
    own clockings arrive; any evaluation withdraws an absence that an arrival or leave
    disproves."""
    nearby = await _scheduled_shifts(session, staff_id, start - _SHIFT_REACH,
                                      end + _SHIFT_REACH)
    verdicts = await verdicts_for(session, staff_id, nearby, grace)
    changes: list[ViolationChange] = []
    for row in nearby:
        changes += await _apply(session, row, verdicts[row.shift_id].violations(now), now,
                                judge_absence=judge_absence)
    return changes


async def _apply(session: AsyncSession, shift_row: Any,
                 found: dict[str, tuple[int, rules.Clocking | None]], now: datetime, *,
                 judge_absence: bool) -> list[ViolationChange]:
    existing = {
        r.kind: r for r in (await session.execute(
            select(attendance_violations)
            .where(attendance_violations.c.shift_id == shift_row.shift_id)
        )).all()
    }
    changes = []
    for kind in (rules.LATE_ARRIVAL, rules.EARLY_LEAVE, rules.ABSENCE):
        current = existing.get(kind)
        if kind in found:
            if kind == rules.ABSENCE and not judge_absence and (
                    current is None or current.status == "withdrawn"):
                continue
            minutes, clocking = found[kind]
            values = ({"minutes": minutes, "clocking_id": clocking.clocking_id,
                       "source_event_id": clocking.source_event_id, "occurred_at": clocking.at}
                      if clocking is not None else
                      {"minutes": minutes, "clocking_id": None, "source_event_id": None,
                       "occurred_at": shift_row.starts_at})
            if current is None:
                await session.execute(attendance_violations.insert().values(
                    violation_id=uuid4(), staff_id=shift_row.staff_id,
                    shift_id=shift_row.shift_id, kind=kind, detected_at=now, **values))
                change = "opened"
            elif current.status == "withdrawn":
                await _update(session, current.violation_id, status="active",
                              withdrawn_at=None, detected_at=now, **values)
                change = "opened"
            elif (current.minutes, current.clocking_id) != (
                    minutes, clocking.clocking_id if clocking is not None else None):
                await _update(session, current.violation_id, **values)
                change = "updated"
            else:
                continue
        elif current is not None and current.status == "active":
            await _update(session, current.violation_id, status="withdrawn", withdrawn_at=now)
            change = "withdrawn"
        else:
            continue
        row = (await session.execute(
            select(attendance_violations).where(attendance_violations.c.shift_id
                                                == shift_row.shift_id,
                                                attendance_violations.c.kind == kind)
        )).one()
        changes.append(ViolationChange(change, violation_view(row)))
    return changes


async def _update(session: AsyncSession, violation_id: UUID, **values: Any) -> None:
    await session.execute(attendance_violations.update()
                          .where(attendance_violations.c.violation_id == violation_id)
                          .values(**values))


async def after_violation_changes(session: AsyncSession, changes: list[ViolationChange],
                                  now: datetime) -> None:
    """Attendance violations open discipline cases (R2 §6.1, §8.2); withdrawn ones withdraw
    the cases still open."""
    for change in changes:
        await discipline.follow_violation(session, change.change, change.violation, now=now)


# ---------------------------------------------------------------- shifts


async def schedule_shift(session: AsyncSession, *, now: datetime, staff_id: UUID,
                         starts_at: datetime, ends_at: datetime, created_by: UUID,
                         grace: timedelta) -> dict:
    rules.check_shift(starts_at, ends_at)
    member = await staff_register.get(session, staff_id)
    if member.status == OFFBOARDED:
        raise Conflict("the staff member has been offboarded; no shifts can be scheduled")
    await lock(session, "attendance", staff_id)
    overlapping = await _scheduled_shifts(session, staff_id, starts_at, ends_at)
    if overlapping:
        other = overlapping[0]
        raise Conflict(f"the staff member already has a shift from {other.starts_at.isoformat()}"
                       f" to {other.ends_at.isoformat()} (shift {other.shift_id})")
    shift_id = uuid4()
    await session.execute(shifts.insert().values(
        shift_id=shift_id, staff_id=staff_id, starts_at=starts_at, ends_at=ends_at,
        created_by=created_by))
    # The staff member is told of their new shift (CRM sends the message).
    await publish(session, ShiftChanged(
        shift_id=shift_id, staff_id=staff_id, change="scheduled", starts_at=starts_at,
        ends_at=ends_at, changed_by=created_by, changed_at=now))
    # Clockings may already be there (a schedule entered after the fact, or a door that
    # reported first): judge them now.
    changes = await evaluate(session, staff_id=staff_id, start=starts_at, end=ends_at,
                             grace=grace, now=now)
    await after_violation_changes(session, changes, now)
    return await get_shift(session, shift_id, grace)


async def get_shift(session: AsyncSession, shift_id: UUID, grace: timedelta) -> dict:
    row = (await session.execute(select(shifts).where(shifts.c.shift_id == shift_id))).first()
    if row is None:
        raise NotFound(f"no shift {shift_id}")
    verdicts = await verdicts_for(session, row.staff_id, [row], grace)
    return shift_view(row, verdicts.get(row.shift_id))


async def cancel_shift(session: AsyncSession, *, now: datetime, shift_id: UUID,
                       grace: timedelta, cancelled_by: UUID | None = None) -> dict:
    row = (await session.execute(
        select(shifts).where(shifts.c.shift_id == shift_id).with_for_update()
    )).first()
    if row is None:
        raise NotFound(f"no shift {shift_id}")
    if row.status == "cancelled":
        raise Conflict("the shift is already cancelled")
    await lock(session, "attendance", row.staff_id)
    await session.execute(shifts.update().where(shifts.c.shift_id == shift_id)
                          .values(status="cancelled"))
    await publish(session, ShiftChanged(
        shift_id=shift_id, staff_id=row.staff_id, change="cancelled", starts_at=row.starts_at,
        ends_at=row.ends_at, changed_by=cancelled_by, changed_at=now))
    changes = []
    for violation in (await session.execute(
        select(attendance_violations).where(attendance_violations.c.shift_id == shift_id,
                                            attendance_violations.c.status == "active")
    )).all():
        await _update(session, violation.violation_id, status="withdrawn", withdrawn_at=now)
        changes.append(ViolationChange("withdrawn", violation_view(violation)
                                       | {"status": "withdrawn", "withdrawn_at": now}))
    # Its clockings may now belong to a neighbouring shift.
    changes += await evaluate(session, staff_id=row.staff_id, start=row.starts_at,
                              end=row.ends_at, grace=grace, now=now)
    await after_violation_changes(session, changes, now)
    return await get_shift(session, shift_id, grace)


async def list_shifts(session: AsyncSession, *, staff_id: UUID | None, start: datetime | None,
                      end: datetime | None, grace: timedelta) -> list[dict]:
    query = select(shifts).order_by(shifts.c.starts_at, shifts.c.shift_id).limit(1000)
    if staff_id:
        query = query.where(shifts.c.staff_id == staff_id)
    if start:
        query = query.where(shifts.c.ends_at > start)
    if end:
        query = query.where(shifts.c.starts_at < end)
    rows = (await session.execute(query)).all()
    by_staff: dict[UUID, list[Any]] = {}
    for row in rows:
        by_staff.setdefault(row.staff_id, []).append(row)
    verdicts: dict[UUID, rules.ShiftAttendance] = {}
    for member, member_rows in by_staff.items():
        verdicts |= await verdicts_for(session, member,
                                       [r for r in member_rows if r.status == "scheduled"],
                                       grace)
    return [shift_view(r, verdicts.get(r.shift_id)) for r in rows]


# ---------------------------------------------------------------- clockings


async def record_clocking(session: AsyncSession, *, now: datetime, staff_id: UUID,
                          direction: str, at: datetime, source: str, grace: timedelta,
                          device_id: UUID | None = None, source_event_id: UUID | None = None,
                          recorded_by: UUID | None = None) -> dict | None:
    """Record a clock-in or -out and judge the shifts around it. Returns None when the
    door event was recorded already."""
    await lock(session, "attendance", staff_id)
    clocking_id = uuid4()
    inserted = await session.execute(
        insert(clockings).values(
            clocking_id=clocking_id, staff_id=staff_id, direction=direction, at=at,
            source=source, device_id=device_id, source_event_id=source_event_id,
            recorded_by=recorded_by)
        .on_conflict_do_nothing(index_elements=["source_event_id"])
        .returning(clockings.c.clocking_id)
    )
    if inserted.first() is None:
        return None
    changes = await evaluate(session, staff_id=staff_id, start=at, end=at, grace=grace,
                             now=now)
    await after_violation_changes(session, changes, now)
    row = (await session.execute(
        select(clockings).where(clockings.c.clocking_id == clocking_id))).one()
    return clocking_view(row)


async def clock_myself(session: AsyncSession, *, now: datetime, staff_id: UUID,
                       direction: str, grace: timedelta) -> dict:
    member = await staff_register.get(session, staff_id)
    if member.status != "active":
        raise Conflict(f"the staff member is {member.status} and cannot clock {direction}")
    recorded = await record_clocking(session, now=now, staff_id=staff_id, direction=direction,
                                     at=now, source="api", grace=grace, recorded_by=staff_id)
    assert recorded is not None  # only door events can repeat
    return recorded


async def record_for(session: AsyncSession, *, now: datetime, staff_id: UUID, direction: str,
                     at: datetime, recorded_by: UUID, grace: timedelta) -> dict:
    """A supervisor records a clocking someone could not make themselves (a broken reader)."""
    await staff_register.get(session, staff_id)
    if at > now:
        raise Invalid("a clocking cannot be in the future")
    recorded = await record_clocking(session, now=now, staff_id=staff_id, direction=direction,
                                     at=at, source="api", grace=grace, recorded_by=recorded_by)
    assert recorded is not None
    return recorded


async def list_clockings(session: AsyncSession, *, staff_id: UUID | None,
                         start: datetime | None, end: datetime | None) -> list[dict]:
    query = select(clockings).order_by(clockings.c.at, clockings.c.clocking_id).limit(1000)
    conditions = []
    if staff_id:
        conditions.append(clockings.c.staff_id == staff_id)
    if start:
        conditions.append(clockings.c.at >= start)
    if end:
        conditions.append(clockings.c.at < end)
    if conditions:
        query = query.where(and_(*conditions))
    return [clocking_view(r) for r in (await session.execute(query)).all()]


async def list_violations(session: AsyncSession, *, staff_id: UUID | None,
                          status: str | None) -> list[dict]:
    query = (select(attendance_violations)
             .order_by(attendance_violations.c.occurred_at, attendance_violations.c.kind)
             .limit(1000))
    if staff_id:
        query = query.where(attendance_violations.c.staff_id == staff_id)
    if status:
        query = query.where(attendance_violations.c.status == status)
    return [violation_view(r) for r in (await session.execute(query)).all()]


# ---------------------------------------------------------------- absences


async def detect_absences(session: AsyncSession, *, now: datetime, grace: timedelta,
                          lookback: timedelta = timedelta(days=2)) -> int:
    """Judge the shifts that ended in the last `lookback` and have no verdict of absence yet:
    a shift nobody came to and no leave covers is an absence (R2 §6.1), which opens a case.
    Returns how many shifts' staff were evaluated."""
    due = (await session.execute(
        select(shifts.c.staff_id, shifts.c.starts_at, shifts.c.ends_at).where(
            shifts.c.status == "scheduled", shifts.c.ends_at <= now,
            shifts.c.ends_at > now - lookback,
            ~select(attendance_violations.c.violation_id).where(
                attendance_violations.c.shift_id == shifts.c.shift_id,
                attendance_violations.c.kind == rules.ABSENCE).exists(),
            # only shifts nobody clocked in for: the others were judged when they clocked
            ~select(clockings.c.clocking_id).where(
                clockings.c.staff_id == shifts.c.staff_id, clockings.c.direction == "in",
                clockings.c.at >= shifts.c.starts_at - rules.MATCH_WINDOW,
                clockings.c.at <= shifts.c.ends_at + rules.MATCH_WINDOW).exists())
        .order_by(shifts.c.ends_at).limit(500)
    )).all()
    for row in due:
        await lock(session, "attendance", row.staff_id)
        changes = await evaluate(session, staff_id=row.staff_id, start=row.starts_at,
                                 end=row.ends_at, grace=grace, now=now, judge_absence=True)
        await after_violation_changes(session, changes, now)
    return len(due)
