"""Complaints (R2 §3.3–3.4, R1 §2.4, §5.4): opening from any channel, the SLA clock and its
escalation, coordination tasks with other departments, resolution with an explanation and a
compensation plan, closing and reopening. Rules live in `domain.complaints`."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import (
    Compensation,
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    ComplaintResolvedV2,
    Money,
)
from club_contracts.catalogue_v2 import RESOLUTION_WORDING
from club_platform.auth import Principal, Role
from club_platform.errors import Conflict, Forbidden, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain import complaints as rules
from club_crm.domain.customers import AccessPurpose, redact
from club_crm.fieldcrypt import FieldCipher
from club_crm.schema import (
    complaint_history,
    complaint_tasks,
    complaints,
    customers,
    followups,
    place,
    staff,
    visits,
)
from club_crm.services.audit import record_access
from club_crm.services.customers import customer_identifiers
from club_crm.services.followups import cancel_open_followups, schedule_followup
from club_crm.services.meetings import actions_citing
from club_crm.services.staff import is_active_specialist, note_assignment, pick_specialist

SUPERVISORS = (Role.HEAD, Role.DEPUTY)


def _seal(cipher: FieldCipher, table: str, column: str, row_id: UUID,
          value: str | None) -> str | None:
    return cipher.seal_optional(value, place=place(table, column, row_id))


async def _history(session: AsyncSession, complaint_id: UUID, now: datetime,
                   actor: UUID | None, action: str, *, from_state: str | None = None,
                   to_state: str | None = None, **extra: object) -> None:
    await session.execute(sa.insert(complaint_history).values(
        complaint_id=complaint_id, at=now, actor_id=actor, action=action,
        from_state=from_state, to_state=to_state, **extra))


async def load_complaint(session: AsyncSession, complaint_id: UUID, *,
                         for_update: bool = False) -> sa.Row:
    query = sa.select(complaints).where(complaints.c.complaint_id == complaint_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no complaint {complaint_id}")
    return row


def _summary(row: sa.Row, now: datetime) -> dict:
    clock = _clock(row)
    return {
        "complaint_id": row.complaint_id,
        "customer_id": row.customer_id,
        "visit_id": row.visit_id,
        "subject_staff_ids": row.subject_staff_ids,
        "category": row.category,
        "severity": row.severity,
        "channel": row.channel,
        "state": row.state,
        "assigned_to": row.assigned_to,
        "opened_at": row.opened_at,
        "first_response_due_at": row.first_response_due_at,
        "sla_due_at": row.resolution_due_at,
        "acknowledged_at": row.acknowledged_at,
        "in_breach": rules.in_breach(clock, now),
        "escalation_level": row.escalation_level,
        "escalated_to_role": row.escalated_to_role,
        "resolved_at": row.resolved_at,
        "within_sla": row.within_sla,
        "closed_at": row.closed_at,
        "reopened_count": row.reopened_count,
    }


def _clock(row: sa.Row) -> rules.SlaClock:
    return rules.SlaClock(state=row.state, level=row.escalation_level,
                          acknowledged_at=row.acknowledged_at,
                          first_response_due_at=row.first_response_due_at,
                          resolution_due_at=row.resolution_due_at,
                          last_escalated_at=row.last_escalated_at)


def _may_work_on(principal: Principal, row: sa.Row) -> None:
    """Head and deputy may act on any complaint; a specialist on theirs or an unassigned one."""
    if principal.role in SUPERVISORS:
        return
    if row.assigned_to not in (None, principal.id):
        raise Forbidden("this complaint is assigned to another specialist; the head or deputy "
                        "can reassign it")


# ------------------------------------------------------------------ opening


async def open_complaint(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                         now: datetime, *, customer_id: UUID | None, visit_id: UUID | None,
                         subject_staff_ids: list[UUID], category: str, severity: str,
                         channel: str, description: str) -> dict:
    if principal.role is Role.MEMBER:
        if customer_id not in (None, principal.id):
            raise Forbidden("a member can open a complaint only for themselves")
        customer_id = principal.id
    if customer_id is None:
        raise Invalid("customer_id is required")
    customer = (await session.execute(sa.select(customers.c.erased_at).where(
        customers.c.customer_id == customer_id))).first()
    if customer is None:
        raise Invalid(f"unknown customer {customer_id}: register the customer first")
    if customer.erased_at is not None:
        raise Invalid(f"customer {customer_id} was erased; a complaint cannot be opened for them")
    if visit_id is not None:
        visit = (await session.execute(sa.select(visits.c.customer_id).where(
            visits.c.visit_id == visit_id))).first()
        if visit is None:
            raise Invalid(f"unknown visit {visit_id}: the CRM knows a visit once reception has "
                          "completed it")
        if visit.customer_id != customer_id:
            raise Invalid(f"visit {visit_id} is another customer's visit")
    text = description.strip()
    if not text:
        raise Invalid("a complaint needs a description of what happened")
    complaint_id = uuid4()
    due = rules.deadlines(category, severity, now)
    assigned_to = await pick_specialist(session, "complaints", now)
    subjects = list(dict.fromkeys(subject_staff_ids))
    await session.execute(sa.insert(complaints).values(
        complaint_id=complaint_id, customer_id=customer_id, visit_id=visit_id,
        subject_staff_ids=subjects, category=category, severity=severity, channel=channel,
        description_enc=_seal(cipher, "complaints", "description_enc", complaint_id, text),
        state=rules.State.OPEN.value, assigned_to=assigned_to, opened_by=principal.id,
        opened_by_role=principal.role.value, opened_at=now,
        first_response_due_at=due.first_response_due_at,
        resolution_due_at=due.resolution_due_at, updated_at=now,
    ))
    await _history(session, complaint_id, now, principal.id, "opened",
                   to_state=rules.State.OPEN.value, assigned_to=assigned_to)
    await publish(session, ComplaintOpened(
        complaint_id=complaint_id, customer_id=customer_id, visit_id=visit_id,
        subject_staff_ids=subjects, category=category, severity=severity, channel=channel,
        opened_at=now, sla_due_at=due.resolution_due_at,
    ), occurred_at=now)
    at_once = rules.escalation_at_opening(category, severity)
    if at_once is not None:
        await _escalate(session, complaint_id, rules.State.OPEN.value, at_once, now, actor=None)
    return _summary(await load_complaint(session, complaint_id), now)


# ------------------------------------------------------------------ reading


async def list_complaints(session: AsyncSession, now: datetime, *, state: str | None = None,
                          assigned_to: UUID | None = None, customer_id: UUID | None = None,
                          escalated_to: str | None = None, in_breach: bool = False,
                          limit: int = 200) -> list[dict]:
    query = sa.select(complaints).order_by(complaints.c.resolution_due_at).limit(limit)
    if state is not None:
        query = query.where(complaints.c.state == state)
    if assigned_to is not None:
        query = query.where(complaints.c.assigned_to == assigned_to)
    if customer_id is not None:
        query = query.where(complaints.c.customer_id == customer_id)
    if escalated_to is not None:
        query = query.where(complaints.c.escalated_to_role == escalated_to,
                            complaints.c.state.in_([s.value for s in rules.ACTIVE]))
    if in_breach:
        query = query.where(complaints.c.state.in_([s.value for s in rules.ACTIVE]), sa.or_(
            complaints.c.resolution_due_at < now,
            sa.and_(complaints.c.acknowledged_at.is_(None),
                    complaints.c.first_response_due_at < now)))
    return [_summary(r, now) for r in await session.execute(query)]


async def read_complaint(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                         now: datetime, complaint_id: UUID, purpose: AccessPurpose) -> dict:
    row = await load_complaint(session, complaint_id)
    if principal.role is Role.MEMBER and row.customer_id != principal.id:
        raise NotFound(f"no complaint {complaint_id}")
    await record_access(session, principal, row.customer_id, action="read_complaint",
                        purpose=purpose.value, now=now, record_id=complaint_id)
    view = _summary(row, now)
    view |= {
        "description": cipher.open_optional(row.description_enc, place=place(
            "complaints", "description_enc", complaint_id)),
        "resolution": row.resolution,
        "resolution_code": row.resolution_code,
        "compensation": None if row.compensation_kind is None else {
            "kind": row.compensation_kind, "amount": row.compensation_amount,
            "currency": row.compensation_currency},
        "upheld": row.upheld,
        "handled_by": row.handled_by,
    }
    if principal.role is Role.MEMBER:
        return view  # coordination inside the club is not the member's to read
    tasks = (await session.execute(sa.select(complaint_tasks).where(
        complaint_tasks.c.complaint_id == complaint_id)
        .order_by(complaint_tasks.c.created_at))).all()
    history = (await session.execute(sa.select(complaint_history).where(
        complaint_history.c.complaint_id == complaint_id)
        .order_by(complaint_history.c.id))).all()
    view["tasks"] = [_task_view(cipher, t) for t in tasks]
    # The improvement actions agreed at service meetings that answer it (R1 §5.3).
    view["improvement_actions"] = await actions_citing(session, complaint_id, now)
    view["history"] = [
        {k: v for k, v in h._mapping.items() if k not in ("id", "complaint_id") and v is not None}
        for h in history
    ]
    return view


def _task_view(cipher: FieldCipher, t: sa.Row) -> dict:
    return {
        "task_id": t.task_id, "department": t.department, "state": t.state, "due_at": t.due_at,
        "description": cipher.open_optional(t.description_enc, place=place(
            "complaint_tasks", "description_enc", t.task_id)),
        "outcome": cipher.open_optional(t.outcome_enc, place=place(
            "complaint_tasks", "outcome_enc", t.task_id)),
        "created_by": t.created_by, "created_at": t.created_at,
        "completed_by": t.completed_by, "completed_at": t.completed_at,
    }


# ------------------------------------------------------------------ moving through the states


async def _move(session: AsyncSession, principal: Principal, now: datetime, complaint_id: UUID,
                action: str, **values: object) -> tuple[sa.Row, str]:
    row = await load_complaint(session, complaint_id, for_update=True)
    _may_work_on(principal, row)
    target = rules.transition(row.state, action)
    if row.assigned_to is None and principal.role is Role.CRM_SPECIALIST:
        values["assigned_to"] = principal.id   # whoever picks up an unassigned complaint owns it
        await note_assignment(session, principal.id, now)
    await session.execute(sa.update(complaints).where(complaints.c.complaint_id == complaint_id)
                          .values(state=target.value, updated_at=now, **values))
    await _history(session, complaint_id, now, principal.id, action, from_state=row.state,
                   to_state=target.value)
    return row, target.value


async def acknowledge(session: AsyncSession, principal: Principal, now: datetime,
                      complaint_id: UUID) -> dict:
    """The first response to the customer: stops the first-response clock."""
    await _move(session, principal, now, complaint_id, "acknowledge", acknowledged_at=now)
    return _summary(await load_complaint(session, complaint_id), now)


async def start_work(session: AsyncSession, principal: Principal, now: datetime,
                     complaint_id: UUID) -> dict:
    await _move(session, principal, now, complaint_id, "start")
    return _summary(await load_complaint(session, complaint_id), now)


async def close(session: AsyncSession, principal: Principal, now: datetime,
                complaint_id: UUID) -> dict:
    await _move(session, principal, now, complaint_id, "close", closed_at=now)
    return _summary(await load_complaint(session, complaint_id), now)


async def reopen(session: AsyncSession, principal: Principal, now: datetime,
                 complaint_id: UUID) -> dict:
    """Back to in progress with a fresh resolution window and a fresh escalation ladder; the
    pending satisfaction call is cancelled (a new one follows the new resolution)."""
    row = await load_complaint(session, complaint_id)
    await _move(session, principal, now, complaint_id, "reopen",
                resolution_due_at=rules.reopened_resolution_due(row.category, row.severity, now),
                escalation_level=0, escalated_to_role=None, last_escalated_at=None,
                resolved_at=None, within_sla=None, closed_at=None,
                reopened_count=row.reopened_count + 1)
    await cancel_open_followups(session, now, reason="complaint_reopened",
                                where=followups.c.complaint_id == complaint_id)
    return _summary(await load_complaint(session, complaint_id), now)


async def assign(session: AsyncSession, principal: Principal, now: datetime, complaint_id: UUID,
                 staff_id: UUID) -> dict:
    row = await load_complaint(session, complaint_id, for_update=True)
    if row.state not in [s.value for s in rules.ACTIVE]:
        raise Conflict(f"a complaint that is {row.state.replace('_', ' ')} cannot be reassigned")
    member = (await session.execute(sa.select(staff).where(staff.c.staff_id == staff_id))).first()
    if member is None or member.status != "active" or member.role not in (
            "crm_specialist", "deputy", "head"):
        raise Invalid(f"staff member {staff_id} is not an active CRM specialist, deputy or head "
                      "(as far as the staff events say)")
    await session.execute(sa.update(complaints).where(complaints.c.complaint_id == complaint_id)
                          .values(assigned_to=staff_id, updated_at=now))
    await note_assignment(session, staff_id, now)
    await _history(session, complaint_id, now, principal.id, "assigned", from_state=row.state,
                   to_state=row.state, assigned_to=staff_id)
    return _summary(await load_complaint(session, complaint_id), now)


# ------------------------------------------------------------------ coordination (R2 §3.3)


async def add_task(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                   now: datetime, complaint_id: UUID, *, department: str, description: str,
                   due_at: datetime | None) -> dict:
    row = await load_complaint(session, complaint_id, for_update=True)
    _may_work_on(principal, row)
    if row.state not in [s.value for s in rules.ACTIVE]:
        raise Conflict(f"a complaint that is {row.state.replace('_', ' ')} takes no new tasks; "
                       "reopen it first")
    if not department.strip() or not description.strip():
        raise Invalid("a coordination task needs a department and a description")
    if due_at is not None and due_at <= now:
        raise Invalid("a coordination task's due_at must be in the future")
    task_id = uuid4()
    await session.execute(sa.insert(complaint_tasks).values(
        task_id=task_id, complaint_id=complaint_id, department=department.strip(),
        description_enc=_seal(cipher, "complaint_tasks", "description_enc", task_id,
                              description.strip()),
        due_at=due_at, state="open", created_by=principal.id, created_at=now))
    await _history(session, complaint_id, now, principal.id, "task_added",
                   from_state=row.state, to_state=row.state, reason=department.strip()[:60])
    return {"task_id": task_id, "complaint_id": complaint_id, "customer_id": row.customer_id,
            "department": department.strip(), "state": "open", "due_at": due_at,
            "created_at": now}


async def complete_task(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                        now: datetime, complaint_id: UUID, task_id: UUID, outcome: str) -> dict:
    row = await load_complaint(session, complaint_id)
    _may_work_on(principal, row)
    task = (await session.execute(sa.select(complaint_tasks).where(
        complaint_tasks.c.task_id == task_id,
        complaint_tasks.c.complaint_id == complaint_id).with_for_update())).first()
    if task is None:
        raise NotFound(f"complaint {complaint_id} has no task {task_id}")
    if task.state != "open":
        raise Conflict("this coordination task is already done")
    if not outcome.strip():
        raise Invalid("say what the other department did (outcome)")
    await session.execute(sa.update(complaint_tasks).where(complaint_tasks.c.task_id == task_id)
                          .values(state="done", completed_by=principal.id, completed_at=now,
                                  outcome_enc=_seal(cipher, "complaint_tasks", "outcome_enc",
                                                    task_id, outcome.strip())))
    await _history(session, complaint_id, now, principal.id, "task_done",
                   from_state=row.state, to_state=row.state, reason=task.department[:60])
    return {"task_id": task_id, "complaint_id": complaint_id, "state": "done",
            "completed_at": now}


# ------------------------------------------------------------------ resolution (R2 §3.4)


async def resolve(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                  now: datetime, complaint_id: UUID, *, explanation: str | None,
                  compensation: rules.CompensationPlan | None, upheld: bool | None,
                  followup_delay: timedelta, resolution_code: str | None = None) -> dict:
    resolution = rules.check_resolution(explanation, compensation, upheld)
    code = rules.resolution_code(resolution_code, resolution.compensation, resolution.upheld)
    row = await load_complaint(session, complaint_id, for_update=True)
    _may_work_on(principal, row)
    rules.transition(row.state, "resolve")
    still_open = await session.scalar(sa.select(sa.func.count()).where(
        complaint_tasks.c.complaint_id == complaint_id, complaint_tasks.c.state == "open"))
    if still_open:
        raise Conflict(f"{still_open} coordination task(s) on this complaint are still open; "
                       "complete them before resolving (R2 §3.3)")
    # The explanation stays here (no free text on the bus); the customer's identifiers are
    # still kept out of it, as when it travelled in v1.
    text = redact(resolution.explanation,
                  **await customer_identifiers(session, cipher, row.customer_id))[:2000]
    within = rules.within_sla(now, row.resolution_due_at)
    plan = resolution.compensation
    row, _state = await _move(
        session, principal, now, complaint_id, "resolve", resolved_at=now,
        handled_by=principal.id, resolution=text, resolution_code=code,
        compensation_kind=plan.kind,
        compensation_amount=plan.amount, compensation_currency=plan.currency if plan.amount
        is not None else None, upheld=resolution.upheld, within_sla=within)
    fields = dict(
        complaint_id=complaint_id, customer_id=row.customer_id, handled_by=principal.id,
        subject_staff_ids=row.subject_staff_ids, upheld=resolution.upheld,
        compensation=Compensation(kind=plan.kind, value=None if plan.amount is None else Money(
            amount=plan.amount, currency=plan.currency)),
        opened_at=row.opened_at, resolved_at=now, within_sla=within,
        **await _first_response(session, row))
    # v2 carries the code; v1, published beside it until its deprecation window ends, carries
    # the code's standard wording, never the text typed here (docs/events.md).
    await publish(session, ComplaintResolved(**fields, resolution=RESOLUTION_WORDING[code]),
                  occurred_at=now)
    await publish(session, ComplaintResolvedV2(**fields, resolution_code=code), occurred_at=now)
    # R1 §5.4: call the customer back to make sure they are satisfied.
    erased = await session.scalar(sa.select(customers.c.erased_at).where(
        customers.c.customer_id == row.customer_id))
    if erased is None:
        handler = principal.id if await is_active_specialist(session, principal.id) else None
        await schedule_followup(session, now, customer_id=row.customer_id,
                                reason="post_complaint", complaint_id=complaint_id,
                                due_at=now + followup_delay, preferred=handler)
    return _summary(await load_complaint(session, complaint_id), now) | {
        "resolution": text, "resolution_code": code, "upheld": resolution.upheld,
        "compensation": {"kind": plan.kind, "amount": plan.amount,
                         "currency": plan.currency if plan.amount is not None else None}}


# ------------------------------------------------------------------ escalation


async def holder_at(session: AsyncSession, complaint_id: UUID, moment: datetime) -> UUID | None:
    """Who held the complaint at `moment`: the last assignment recorded in its history at or
    before then (HR credits a missed deadline to them, not to whoever holds it later)."""
    return await session.scalar(
        sa.select(complaint_history.c.assigned_to)
        .where(complaint_history.c.complaint_id == complaint_id,
               complaint_history.c.assigned_to.is_not(None),
               complaint_history.c.at <= moment)
        .order_by(complaint_history.c.at.desc(), complaint_history.c.id.desc()).limit(1))


async def _first_response(session: AsyncSession, row: sa.Row) -> dict:
    """The first-response clock as complaint.resolved carries it: credited to whoever
    answered in time, else to whoever held the complaint when the answer fell due."""
    due, answered = row.first_response_due_at, row.acknowledged_at
    if answered is not None and answered <= due:
        by = await session.scalar(
            sa.select(complaint_history.c.actor_id)
            .where(complaint_history.c.complaint_id == row.complaint_id,
                   complaint_history.c.action == "acknowledge")
            .order_by(complaint_history.c.id).limit(1))
    else:
        by = await holder_at(session, row.complaint_id, due)
    return {"first_response_due_at": due, "first_responded_at": answered,
            "first_response_by": by}


async def _escalate(session: AsyncSession, complaint_id: UUID, state: str,
                    escalation: rules.Escalation, now: datetime, actor: UUID | None) -> None:
    breach: dict = {}
    if escalation.reason == "sla_breach":
        row = await load_complaint(session, complaint_id)
        late_answer = row.acknowledged_at is None and now > row.first_response_due_at
        if escalation.level == 1 or not late_answer:
            # The first rung is the missed deadline itself; later rungs only repeat it.
            clock, due = (("first_response", row.first_response_due_at) if late_answer
                          else ("resolution", row.resolution_due_at))
            breach = {"breached": clock, "due_at": due,
                      "held_by": await holder_at(session, complaint_id, due)}
    await session.execute(sa.update(complaints).where(complaints.c.complaint_id == complaint_id)
                          .values(escalation_level=escalation.level,
                                  escalated_to_role=escalation.role, last_escalated_at=now,
                                  updated_at=now))
    await _history(session, complaint_id, now, actor, "escalated", from_state=state,
                   to_state=state, escalation_level=escalation.level,
                   escalated_to_role=escalation.role, reason=escalation.reason)
    await publish(session, ComplaintEscalated(
        complaint_id=complaint_id, level=escalation.level, reason=escalation.reason,
        escalated_to_role=escalation.role, escalated_at=now, **breach), occurred_at=now)


async def escalate_manually(session: AsyncSession, principal: Principal, now: datetime,
                            complaint_id: UUID) -> dict:
    row = await load_complaint(session, complaint_id, for_update=True)
    _may_work_on(principal, row)
    escalation = rules.manual_escalation(row.state, row.escalation_level)
    await _escalate(session, complaint_id, row.state, escalation, now, actor=principal.id)
    return _summary(await load_complaint(session, complaint_id), now)


async def escalate_breaches(session: AsyncSession, now: datetime, head_after: timedelta) -> int:
    """The SLA job: escalate every active complaint whose deadline has passed (one rung per
    run). Rows another transaction holds are skipped and caught on the next run."""
    candidates = (await session.execute(
        sa.select(complaints).where(
            complaints.c.state.in_([s.value for s in rules.ACTIVE]),
            complaints.c.escalation_level < rules.TOP,
            sa.or_(complaints.c.resolution_due_at < now,
                   sa.and_(complaints.c.acknowledged_at.is_(None),
                           complaints.c.first_response_due_at < now)))
        .order_by(complaints.c.resolution_due_at)
        .with_for_update(skip_locked=True))).all()
    escalated = 0
    for row in candidates:
        escalation = rules.escalation_due(_clock(row), now, head_after)
        if escalation is not None:
            await _escalate(session, row.complaint_id, row.state, escalation, now, actor=None)
            escalated += 1
    return escalated
