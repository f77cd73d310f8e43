"""Service meetings and improvement actions (R2 §9.1, R1 §5.3): schedule a meeting for a
period, read its agenda of the period's real figures, record minutes and attendance, hold it
(`meeting.held`), agree actions with owners and due dates that answer complaints and
incidents (`improvement.action_assigned`), complete them (`improvement.action_completed`).
Also the consumers' side: incidents and safety findings from reception, kept as ids, codes and
times for the agendas. Rules live in `domain.meetings`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import (
    ImprovementActionAssigned,
    ImprovementActionCompleted,
    IncidentReported,
    ServiceMeetingHeld,
)
from club_platform.auth import Principal, Role
from club_platform.errors import Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain import meetings as rules
from club_crm.fieldcrypt import FieldCipher
from club_crm.schema import (
    complaints,
    improvement_actions,
    incidents_seen,
    place,
    safety_findings,
    service_meetings,
    staff,
)

# ------------------------------------------------------------------ consumed facts


async def record_incident(session: AsyncSession, event: IncidentReported) -> None:
    await session.execute(pg_insert(incidents_seen).values(
        incident_id=event.incident_id, category=event.category, severity=event.severity,
        location_id=event.location_id, visit_id=event.visit_id,
        occurred_at=event.occurred_at, reported_at=event.reported_at,
    ).on_conflict_do_nothing())


async def record_finding(session: AsyncSession, *, finding_id: UUID, owner_id: UUID,
                         due_at: datetime, state: str, **facts: object) -> None:
    """One finding's row from any of its three events, in any order (domain.meetings)."""
    await session.execute(pg_insert(safety_findings).values(
        finding_id=finding_id, owner_id=owner_id, due_at=due_at, state=state, **facts,
    ).on_conflict_do_nothing())
    row = (await session.execute(sa.select(safety_findings.c.state).where(
        safety_findings.c.finding_id == finding_id).with_for_update())).one()
    # Each event's own facts are kept whatever came first; the state only moves forward.
    await session.execute(sa.update(safety_findings)
                          .where(safety_findings.c.finding_id == finding_id)
                          .values(state=rules.finding_state(row.state, state), **facts))


# ------------------------------------------------------------------ meetings


async def _known_staff(session: AsyncSession, ids: list[UUID], *, active: bool) -> list[UUID]:
    query = sa.select(staff.c.staff_id).where(staff.c.staff_id.in_(ids))
    query = query.where(staff.c.status == "active") if active else query.where(
        staff.c.status != "offboarded")
    return list((await session.scalars(query)).all())


async def _check_staff(session: AsyncSession, ids: list[UUID], what: str) -> None:
    missing = rules.unknown(ids, await _known_staff(session, ids, active=False))
    if missing:
        raise Invalid(f"{what} not in the staff directory (or offboarded): "
                      f"{', '.join(map(str, missing))}")


async def schedule(session: AsyncSession, principal: Principal, now: datetime, *,
                   period_from: datetime, period_until: datetime, scheduled_for: datetime,
                   attendee_ids: list[UUID]) -> dict:
    rules.check_period(period_from, period_until)
    attendees = list(dict.fromkeys(attendee_ids))
    await _check_staff(session, attendees, "attendees")
    meeting_id = uuid4()
    await session.execute(sa.insert(service_meetings).values(
        meeting_id=meeting_id, period_from=period_from, period_until=period_until,
        scheduled_for=scheduled_for, attendee_ids=attendees, scheduled_by=principal.id,
        scheduled_at=now))
    return {"meeting_id": meeting_id, "period_from": period_from, "period_until": period_until,
            "scheduled_for": scheduled_for, "attendee_ids": attendees, "state": "scheduled"}


async def _load(session: AsyncSession, meeting_id: UUID, *, for_update: bool = False) -> sa.Row:
    query = sa.select(service_meetings).where(service_meetings.c.meeting_id == meeting_id)
    row = (await session.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound(f"no meeting {meeting_id}")
    return row


def _meeting_view(cipher: FieldCipher, row: sa.Row) -> dict:
    return {
        "meeting_id": row.meeting_id, "period_from": row.period_from,
        "period_until": row.period_until, "scheduled_for": row.scheduled_for,
        "attendee_ids": row.attendee_ids, "scheduled_by": row.scheduled_by,
        "state": "held" if row.held_at else "scheduled",
        "minutes": cipher.open_optional(row.minutes_enc, place=place(
            "service_meetings", "minutes_enc", row.meeting_id)),
        "attended_ids": row.attended_ids, "held_by": row.held_by, "held_at": row.held_at,
    }


async def read_meeting(session: AsyncSession, cipher: FieldCipher, now: datetime,
                       meeting_id: UUID) -> dict:
    row = await _load(session, meeting_id)
    actions = (await session.execute(sa.select(improvement_actions).where(
        improvement_actions.c.meeting_id == meeting_id)
        .order_by(improvement_actions.c.assigned_at, improvement_actions.c.action_id))).all()
    return _meeting_view(cipher, row) | {
        "actions": [_action_view(cipher, a, now) for a in actions]}


async def agenda(session: AsyncSession, now: datetime, meeting_id: UUID) -> dict:
    """The period's figures, counted now (so always the real ones): CSAT from the survey
    answers given in the period, complaints opened in it, incidents reported in it, and the
    safety findings overdue at its end."""
    row = await _load(session, meeting_id)
    window = {"since": row.period_from, "until": row.period_until}
    csat = (await session.execute(sa.text(
        "SELECT count(*) AS n, coalesce(sum(csat), 0) AS total FROM survey_responses "
        "WHERE submitted_at >= :since AND submitted_at < :until"), window)).one()
    by_category = (await session.execute(
        sa.select(complaints.c.category, sa.func.count().label("opened"),
                  sa.func.count(complaints.c.resolved_at).label("resolved"),
                  sa.func.count().filter(complaints.c.upheld.is_(True)).label("upheld"))
        .where(complaints.c.opened_at >= row.period_from,
               complaints.c.opened_at < row.period_until)
        .group_by(complaints.c.category).order_by(complaints.c.category))).all()
    incidents = (await session.execute(
        sa.select(incidents_seen.c.category, incidents_seen.c.severity,
                  sa.func.count().label("count"))
        .where(incidents_seen.c.reported_at >= row.period_from,
               incidents_seen.c.reported_at < row.period_until)
        .group_by(incidents_seen.c.category, incidents_seen.c.severity)
        .order_by(incidents_seen.c.category, incidents_seen.c.severity))).all()
    # Overdue at the period's end (or now, for a period still running): due before then and
    # not closed by then; a finding closed later was still overdue in the period reviewed.
    cut = min(row.period_until, now)
    overdue = (await session.execute(
        sa.select(safety_findings).where(
            safety_findings.c.due_at < cut,
            sa.or_(safety_findings.c.closed_at.is_(None), safety_findings.c.closed_at > cut))
        .order_by(safety_findings.c.due_at, safety_findings.c.finding_id))).all()
    return {
        "meeting_id": meeting_id, "period_from": row.period_from,
        "period_until": row.period_until,
        "csat": {"answers": csat.n, "mean": rules.csat_mean(csat.total, csat.n)},
        "complaints": [{"category": c.category, "opened": c.opened, "resolved": c.resolved,
                        "upheld": c.upheld} for c in by_category],
        "incidents": [{"category": i.category, "severity": i.severity, "count": i.count}
                      for i in incidents],
        "overdue_findings": [{"finding_id": f.finding_id, "area": f.area, "item": f.item,
                              "owner_id": f.owner_id, "due_at": f.due_at, "state": f.state}
                             for f in overdue],
    }


async def record_minutes(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                         now: datetime, meeting_id: UUID, *, minutes: str,
                         attended_ids: list[UUID]) -> dict:
    row = await _load(session, meeting_id, for_update=True)
    attended = list(dict.fromkeys(attended_ids))
    await _check_staff(session, attended, "attended")
    text = minutes.strip()
    if not text:
        raise Invalid("minutes must say something")
    # Minutes may be corrected after the meeting is held; meeting.held does not carry them.
    await session.execute(sa.update(service_meetings)
                          .where(service_meetings.c.meeting_id == meeting_id)
                          .values(minutes_enc=cipher.seal(text, place=place(
                              "service_meetings", "minutes_enc", meeting_id)),
                                  attended_ids=attended, minutes_by=principal.id,
                                  minutes_at=now))
    return _meeting_view(cipher, (await _load(session, row.meeting_id)))


async def hold(session: AsyncSession, cipher: FieldCipher, principal: Principal, now: datetime,
               meeting_id: UUID) -> dict:
    """Held once: `meeting.held` with who attended; holding it again answers the same."""
    row = await _load(session, meeting_id, for_update=True)
    if row.held_at is None:
        if row.minutes_enc is None:
            raise Invalid("record the minutes and who attended before holding the meeting")
        await session.execute(sa.update(service_meetings)
                              .where(service_meetings.c.meeting_id == meeting_id)
                              .values(held_by=principal.id, held_at=now))
        await publish(session, ServiceMeetingHeld(
            meeting_id=meeting_id, chaired_by=principal.id,
            attendee_ids=row.attended_ids or [], held_at=now), occurred_at=now)
        row = await _load(session, meeting_id)
    return _meeting_view(cipher, row)


# ------------------------------------------------------------------ actions


def _action_view(cipher: FieldCipher, row: sa.Row, now: datetime) -> dict:
    return {
        "action_id": row.action_id, "meeting_id": row.meeting_id,
        "text": cipher.open_optional(row.text_enc, place=place(
            "improvement_actions", "text_enc", row.action_id)),
        "owner_id": row.owner_id, "due_at": row.due_at,
        "state": rules.action_state(row.due_at, row.completed_at, now),
        "complaint_ids": row.complaint_ids, "incident_ids": row.incident_ids,
        "assigned_by": row.assigned_by, "assigned_at": row.assigned_at,
        "completed_by": row.completed_by, "completed_at": row.completed_at,
        "completion_note": cipher.open_optional(row.completion_note_enc, place=place(
            "improvement_actions", "completion_note_enc", row.action_id)),
        "on_time": row.on_time,
    }


async def add_action(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                     now: datetime, meeting_id: UUID, *, text: str, owner_id: UUID,
                     due_at: datetime, complaint_ids: list[UUID],
                     incident_ids: list[UUID]) -> dict:
    await _load(session, meeting_id)
    if not text.strip():
        raise Invalid("say what is to be done: the text is required")
    if due_at <= now:
        raise Invalid("due_at must be in the future")
    if not await _known_staff(session, [owner_id], active=True):
        raise Invalid(f"owner {owner_id} is not an active member of staff")
    cited = list(dict.fromkeys(complaint_ids))
    missing = rules.unknown(cited, await session.scalars(
        sa.select(complaints.c.complaint_id).where(complaints.c.complaint_id.in_(cited))))
    if missing:
        raise Invalid(f"unknown complaints: {', '.join(map(str, missing))}")
    incidents = list(dict.fromkeys(incident_ids))
    missing = rules.unknown(incidents, await session.scalars(
        sa.select(incidents_seen.c.incident_id).where(
            incidents_seen.c.incident_id.in_(incidents))))
    if missing:
        raise Invalid(f"unknown incidents (CRM knows an incident once reception has reported "
                      f"it): {', '.join(map(str, missing))}")
    action_id = uuid4()
    await session.execute(sa.insert(improvement_actions).values(
        action_id=action_id, meeting_id=meeting_id,
        text_enc=cipher.seal(text.strip(), place=place("improvement_actions", "text_enc",
                                                       action_id)),
        owner_id=owner_id, due_at=due_at, complaint_ids=cited, incident_ids=incidents,
        assigned_by=principal.id, assigned_at=now))
    await publish(session, ImprovementActionAssigned(
        action_id=action_id, meeting_id=meeting_id, owner_id=owner_id, due_at=due_at,
        complaint_ids=cited, incident_ids=incidents, assigned_at=now), occurred_at=now)
    # The creating answer is stored for Idempotency-Key replays: ids and times only.
    return {"action_id": action_id, "meeting_id": meeting_id, "owner_id": owner_id,
            "due_at": due_at, "complaint_ids": cited, "incident_ids": incidents,
            "state": "open"}


async def complete_action(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                          now: datetime, action_id: UUID, *, note: str) -> dict:
    row = (await session.execute(sa.select(improvement_actions).where(
        improvement_actions.c.action_id == action_id).with_for_update())).first()
    if row is None:
        raise NotFound(f"no improvement action {action_id}")
    rules.check_may_complete(principal, row.owner_id)
    if row.completed_at is None:
        if not note.strip():
            raise Invalid("say what was done: the note is required")
        in_time = rules.on_time(row.due_at, now)
        await session.execute(sa.update(improvement_actions)
                              .where(improvement_actions.c.action_id == action_id)
                              .values(completed_by=principal.id, completed_at=now,
                                      on_time=in_time,
                                      completion_note_enc=cipher.seal(note.strip(), place=place(
                                          "improvement_actions", "completion_note_enc",
                                          action_id))))
        await publish(session, ImprovementActionCompleted(
            action_id=action_id, meeting_id=row.meeting_id, owner_id=row.owner_id,
            due_at=row.due_at, completed_at=now, on_time=in_time), occurred_at=now)
    # Completing it again answers what was recorded the first time.
    done = (await session.execute(sa.select(improvement_actions).where(
        improvement_actions.c.action_id == action_id))).one()
    return _action_view(cipher, done, now)


async def list_actions(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                       now: datetime, *, state: str | None, owner: UUID | None,
                       limit: int) -> list[dict]:
    if principal.role in (Role.ATTENDANT,):
        owner = principal.id  # an attendant sees the actions given to them
    query = sa.select(improvement_actions)
    if owner is not None:
        query = query.where(improvement_actions.c.owner_id == owner)
    if state == "done":
        query = query.where(improvement_actions.c.completed_at.isnot(None))
    elif state == "open":
        query = query.where(improvement_actions.c.completed_at.is_(None),
                            improvement_actions.c.due_at >= now)
    elif state == "overdue":
        query = query.where(improvement_actions.c.completed_at.is_(None),
                            improvement_actions.c.due_at < now)
    rows = (await session.execute(query.order_by(improvement_actions.c.due_at,
                                                 improvement_actions.c.action_id)
                                  .limit(limit))).all()
    return [_action_view(cipher, r, now) for r in rows]


async def actions_citing(session: AsyncSession, complaint_id: UUID, now: datetime) -> list[dict]:
    """What the department agreed to do about this complaint (shown on the complaint)."""
    rows = (await session.execute(sa.select(improvement_actions).where(
        improvement_actions.c.complaint_ids.contains([complaint_id]))
        .order_by(improvement_actions.c.assigned_at))).all()
    return [{"action_id": r.action_id, "meeting_id": r.meeting_id, "owner_id": r.owner_id,
             "due_at": r.due_at, "state": rules.action_state(r.due_at, r.completed_at, now),
             "completed_at": r.completed_at} for r in rows]
