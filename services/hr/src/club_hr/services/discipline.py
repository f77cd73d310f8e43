"""Discipline cases (R1 §7.2, R2 §6, §8): opened from events (an upheld complaint against a
staff member, an attendance violation) or by hand, decided by a person on the ladder's
proposal, published as `discipline.recorded` citing the clause, and open to appeal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from club_contracts import (
    DisciplineAppealDecided,
    DisciplineDismissed,
    DisciplineOpened,
    DisciplineRecorded,
    Money,
)
from club_platform.auth import Principal, Role
from club_platform.errors import Conflict, Forbidden, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import discipline as rules
from club_hr.schema import discipline_cases, discipline_rules
from club_hr.services import lock, offboarding
from club_hr.services import staff as register

# ---------------------------------------------------------------- the rule catalogue


def _rule(row: Any) -> rules.Rule:
    return rules.Rule(row.code, row.title, row.rule_ref, row.severity, row.window_days,
                      tuple(row.ladder), row.fine_amount, row.suspension_days, row.active)


def rule_view(rule: rules.Rule) -> dict:
    return {
        "code": rule.code, "title": rule.title, "rule_ref": rule.rule_ref,
        "severity": rule.severity, "window_days": rule.window_days, "ladder": list(rule.ladder),
        "fine": None if rule.fine is None else f"{rule.fine:.2f}",
        "suspension_days": rule.suspension_days, "active": rule.active,
    }


async def find_rule(session: AsyncSession, code: str) -> rules.Rule | None:
    row = (await session.execute(
        select(discipline_rules).where(discipline_rules.c.code == code))).first()
    return _rule(row) if row else None


async def rule_for(session: AsyncSession, code: str) -> rules.Rule:
    rule = await find_rule(session, code)
    if rule is None or not rule.active:
        known = (await session.execute(
            select(discipline_rules.c.code).where(discipline_rules.c.active)
            .order_by(discipline_rules.c.code))).scalars().all()
        raise Invalid(f"unknown rule {code!r}; the catalogue has: {', '.join(known)}")
    return rule


async def list_rules(session: AsyncSession) -> list[dict]:
    rows = (await session.execute(select(discipline_rules).order_by(discipline_rules.c.code)))
    return [rule_view(_rule(r)) for r in rows.all()]


async def put_rule(session: AsyncSession, *, rule: rules.Rule, updated_by: UUID,
                   now: datetime) -> dict:
    """Add or change a rule (HR admin). Open cases keep the clause they were opened under."""
    rules.check_rule(rule)
    values = {"title": rule.title, "rule_ref": rule.rule_ref, "severity": rule.severity,
              "window_days": rule.window_days, "ladder": list(rule.ladder),
              "fine_amount": rule.fine, "suspension_days": rule.suspension_days,
              "active": rule.active, "updated_by": updated_by, "updated_at": now}
    await session.execute(insert(discipline_rules).values(code=rule.code, **values)
                          .on_conflict_do_update(index_elements=["code"], set_=values))
    return rule_view(rule)


# ---------------------------------------------------------------- cases


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def case_view(row: Any, proposal: rules.Proposal | None = None) -> dict:
    view = {
        "case_id": row.case_id, "staff_id": row.staff_id, "violation": row.violation,
        "rule_ref": row.rule_ref, "description": row.description,
        "occurred_at": row.occurred_at, "origin": row.origin, "subject_ref": row.subject_ref,
        "source_event_id": row.source_event_id, "opened_by": row.opened_by,
        "opened_at": row.opened_at, "status": row.status, "action": row.action,
        "fine": None if row.fine_amount is None else {
            "amount": _money(row.fine_amount), "currency": row.fine_currency},
        "suspension_days": row.suspension_days, "proposed_action": row.proposed_action,
        "decision_reason": row.decision_reason, "decided_by": row.decided_by,
        "decided_at": row.decided_at,
        "appeal": None if row.appealed_at is None else {
            "grounds": row.appeal_grounds, "appealed_by": row.appealed_by,
            "appealed_at": row.appealed_at, "outcome": row.appeal_outcome,
            "reason": row.appeal_reason, "action_before": row.action_before_appeal,
            "decided_by": row.appeal_decided_by, "decided_at": row.appeal_decided_at,
        },
    }
    if proposal is not None:
        # The ladder's proposal for an open case, and the prior cases it climbed from.
        view["proposed_action"] = proposal.action
        view["ladder_counted"] = [
            {"case_id": p.case_id, "occurred_at": p.occurred_at, "action": p.action}
            for p in proposal.counted]
    return view


async def _case(session: AsyncSession, case_id: UUID, *, for_update: bool = False) -> Any:
    query = select(discipline_cases).where(discipline_cases.c.case_id == case_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no discipline case {case_id}")
    return row


async def _priors(session: AsyncSession, staff_id: UUID,
                  excluding: UUID) -> list[rules.PriorCase]:
    rows = (await session.execute(
        select(discipline_cases.c.case_id, discipline_cases.c.rule_ref,
               discipline_cases.c.occurred_at, discipline_cases.c.action)
        .where(discipline_cases.c.staff_id == staff_id,
               discipline_cases.c.status.in_(rules.COUNTING),
               discipline_cases.c.action.is_not(None),
               discipline_cases.c.case_id != excluding)
    )).all()
    return [rules.PriorCase(r.case_id, r.rule_ref, r.occurred_at, r.action) for r in rows]


async def _proposal(session: AsyncSession, row: Any) -> rules.Proposal:
    rule = await find_rule(session, row.violation)
    assert rule is not None  # a foreign key keeps it
    # The clause the case was opened under, even if the catalogue changed since.
    rule = replace(rule, rule_ref=row.rule_ref)
    return rules.propose(rule, await _priors(session, row.staff_id, row.case_id),
                         row.occurred_at)


async def get_case(session: AsyncSession, case_id: UUID) -> dict:
    row = await _case(session, case_id)
    return case_view(row, await _proposal(session, row) if row.status == rules.OPEN else None)


async def list_cases(session: AsyncSession, *, staff_id: UUID | None, status: str | None,
                     violation: str | None) -> list[dict]:
    query = select(discipline_cases).order_by(discipline_cases.c.occurred_at,
                                              discipline_cases.c.case_id).limit(1000)
    if staff_id:
        query = query.where(discipline_cases.c.staff_id == staff_id)
    if status:
        query = query.where(discipline_cases.c.status == status)
    if violation:
        query = query.where(discipline_cases.c.violation == violation)
    found = []
    for row in (await session.execute(query)).all():
        found.append(case_view(row, await _proposal(session, row)
                               if row.status == rules.OPEN else None))
    return found


async def open_case(session: AsyncSession, *, now: datetime, staff_id: UUID, violation: str,
                    occurred_at: datetime, description: str, origin: str,
                    subject_ref: str | None = None, source_event_id: UUID | None = None,
                    opened_by: UUID | None = None) -> UUID:
    """Open a case. One per subject (a complaint, a violation): a repeat returns the existing
    case, and a withdrawn one is opened again. Each opening (not a repeat) publishes
    `discipline.opened` in this transaction: the staff member is told a case concerns them
    (R1 §7.2). The description stays in HR."""
    rule = await rule_for(session, violation)
    if subject_ref is not None:
        existing = (await session.execute(
            select(discipline_cases).where(discipline_cases.c.violation == violation,
                                           discipline_cases.c.subject_ref == subject_ref,
                                           discipline_cases.c.staff_id == staff_id)
            .with_for_update()
        )).first()
        if existing is not None:
            if existing.status == rules.WITHDRAWN:
                await session.execute(
                    discipline_cases.update().where(discipline_cases.c.case_id
                                                    == existing.case_id)
                    .values(status=rules.OPEN, description=description,
                            occurred_at=occurred_at, source_event_id=source_event_id))
                await _announce_opening(
                    session, case_id=existing.case_id, staff_id=staff_id,
                    rule_ref=existing.rule_ref, violation=violation, origin=existing.origin,
                    occurred_at=occurred_at, opened_by=existing.opened_by, opened_at=now,
                    source_event_id=source_event_id)
            return existing.case_id
    case_id = uuid4()
    await session.execute(insert(discipline_cases).values(
        case_id=case_id, staff_id=staff_id, violation=violation, rule_ref=rule.rule_ref,
        description=description, occurred_at=occurred_at, origin=origin,
        subject_ref=subject_ref, source_event_id=source_event_id, opened_by=opened_by,
        opened_at=now, status=rules.OPEN))
    await _announce_opening(
        session, case_id=case_id, staff_id=staff_id, rule_ref=rule.rule_ref,
        violation=violation, origin=origin, occurred_at=occurred_at, opened_by=opened_by,
        opened_at=now, source_event_id=source_event_id)
    return case_id


async def _announce_opening(session: AsyncSession, *, case_id: UUID, staff_id: UUID,
                            rule_ref: str, violation: str, origin: str,
                            occurred_at: datetime, opened_by: UUID | None,
                            opened_at: datetime, source_event_id: UUID | None) -> None:
    await publish(session, DisciplineOpened(
        case_id=case_id, staff_id=staff_id, rule_ref=rule_ref, violation=violation,
        origin=origin, occurred_at=occurred_at, opened_by=opened_by, opened_at=opened_at,
        source_event_id=source_event_id))


async def open_case_by_hand(session: AsyncSession, *, now: datetime, staff_id: UUID,
                            violation: str, occurred_at: datetime, description: str,
                            opened_by: UUID) -> dict:
    """Dress code (R1 §4.2), gifts (R2 §6.3), privacy (R1 §4.4, §6), private dealings
    (R1 §4.5), facility misuse (R2 §6.4), or any rule of the catalogue."""
    await register.get(session, staff_id)
    if occurred_at > now:
        raise Invalid("a violation cannot have happened in the future")
    case_id = await open_case(session, now=now, staff_id=staff_id, violation=violation,
                              occurred_at=occurred_at, description=description,
                              origin="manual", opened_by=opened_by)
    return await get_case(session, case_id)


async def _in_force(session: AsyncSession, code: str) -> bool:
    """Whether the HR admin keeps the rule that automatic cases are opened under."""
    rule = await find_rule(session, code)
    return rule is not None and rule.active


async def open_for_upheld_complaint(session: AsyncSession, *, now: datetime,
                                    complaint_id: UUID, staff_ids: list[UUID],
                                    opened_at: datetime, resolved_at: datetime,
                                    source_event_id: UUID) -> None:
    """An upheld complaint against staff members opens a case for each (R1 §8.2, R2 §8)."""
    if not await _in_force(session, "upheld_complaint"):
        return
    for staff_id in dict.fromkeys(staff_ids):
        await open_case(
            session, now=now, staff_id=staff_id, violation="upheld_complaint",
            occurred_at=opened_at,
            description=f"complaint {complaint_id} was upheld against the staff member on "
                        f"{resolved_at.date().isoformat()}",
            origin="complaint", subject_ref=f"complaint:{complaint_id}",
            source_event_id=source_event_id)


async def follow_violation(session: AsyncSession, change: str, violation: dict, *,
                           now: datetime) -> None:
    """Attendance violations (late arrival, early leave, absence) open cases (R2 §6.1); a
    withdrawn one (later clockings, approved leave) withdraws its open case."""
    subject_ref = f"violation:{violation['violation_id']}"
    kind = violation["kind"]
    if kind == "absence":
        description = (f"missed shift {violation['shift_id']} without approved leave "
                       f"({violation['minutes']} minutes)")
    else:
        what = "arrived" if kind == "late_arrival" else "left"
        how = "late" if kind == "late_arrival" else "early"
        description = (f"{what} {violation['minutes']} minutes {how} for shift "
                       f"{violation['shift_id']}")
    if change == "opened":
        if not await _in_force(session, kind):
            return
        await open_case(session, now=now, staff_id=violation["staff_id"], violation=kind,
                        occurred_at=violation["occurred_at"], description=description,
                        origin="attendance", subject_ref=subject_ref,
                        source_event_id=violation["source_event_id"])
        return
    values: dict[str, Any] = (
        {"status": rules.WITHDRAWN} if change == "withdrawn"
        else {"description": description, "occurred_at": violation["occurred_at"],
              "source_event_id": violation["source_event_id"]})
    await session.execute(
        discipline_cases.update()
        .where(discipline_cases.c.subject_ref == subject_ref,
               discipline_cases.c.status == rules.OPEN)
        .values(**values))


# ---------------------------------------------------------------- deciding


async def _record(session: AsyncSession, row: Any, *, action: str, fine: Decimal | None,
                  currency: str | None, suspension_days: int | None, decided_by: UUID,
                  decided_at: datetime) -> None:
    """Publish the action, citing its clause and the event that started the case."""
    await publish(session, DisciplineRecorded(
        case_id=row.case_id, staff_id=row.staff_id, rule_ref=row.rule_ref,
        violation=row.violation, action=action,
        fine=Money(amount=fine, currency=currency) if fine is not None else None,
        suspension_days=suspension_days, decided_by=decided_by, decided_at=decided_at,
        source_event_id=row.source_event_id))


async def _apply_to_staff(session: AsyncSession, row: Any, *, action: str,
                          suspension_days: int | None, decided_by: UUID,
                          now: datetime) -> None:
    """A suspension sets the staff status (R2 §8.2); so does a termination, until the
    offboarding is done (R1 §6.3)."""
    if action == "suspension":
        await register.suspend_for_case(
            session, now=now, staff_id=row.staff_id,
            until=now + timedelta(days=suspension_days), case_id=row.case_id,
            reason=f"suspended for {suspension_days} days: case {row.case_id} ({row.rule_ref})")
    elif action == "termination":
        await register.suspend_for_case(
            session, now=now, staff_id=row.staff_id, until=None, case_id=row.case_id,
            reason=f"terminated: case {row.case_id} ({row.rule_ref}); offboarding pending")
        # R1 §6.3: leaving starts the checklist (unless a resignation already started it).
        if await offboarding.find(session, row.staff_id) is None:
            await offboarding.start(session, now=now, staff_id=row.staff_id,
                                    reason="termination", last_day=now.date(),
                                    started_by=decided_by,
                                    case_id=row.case_id)


async def decide(session: AsyncSession, *, now: datetime, case_id: UUID, principal: Principal,
                 action: str, fine: Decimal | None, currency: str,
                 suspension_days: int | None, reason: str | None) -> dict:
    rules.check_authority(principal.role.value, action)
    row = await _case(session, case_id)
    await lock(session, "discipline", row.staff_id)  # decisions for one person take turns
    row = await _case(session, case_id, for_update=True)
    rules.check_open(row.status)
    rule = await find_rule(session, row.violation)
    assert rule is not None
    proposal = await _proposal(session, row)
    rules.check_deviation(action, proposal, reason)
    decided = rules.penalty(rule, action, fine, suspension_days)
    await session.execute(discipline_cases.update()
                          .where(discipline_cases.c.case_id == case_id)
                          .values(status=rules.DECIDED, action=action, fine_amount=decided.fine,
                                  fine_currency=currency if decided.fine is not None else None,
                                  suspension_days=decided.suspension_days,
                                  proposed_action=proposal.action, decision_reason=reason,
                                  decided_by=principal.id, decided_at=now))
    await _apply_to_staff(session, row, action=action, suspension_days=decided.suspension_days,
                          decided_by=principal.id, now=now)
    await _record(session, row, action=action, fine=decided.fine, currency=currency,
                  suspension_days=decided.suspension_days, decided_by=principal.id,
                  decided_at=now)
    return await get_case(session, case_id)


async def dismiss(session: AsyncSession, *, now: datetime, case_id: UUID,
                  principal: Principal, reason: str) -> dict:
    """No violation after all: nothing is recorded against the staff member."""
    row = await _case(session, case_id, for_update=True)
    rules.check_open(row.status)
    await session.execute(discipline_cases.update()
                          .where(discipline_cases.c.case_id == case_id)
                          .values(status=rules.DISMISSED, decision_reason=reason,
                                  decided_by=principal.id, decided_at=now))
    await publish(session, DisciplineDismissed(
        case_id=case_id, staff_id=row.staff_id, rule_ref=row.rule_ref, violation=row.violation,
        dismissed_by=principal.id, dismissed_at=now, source_event_id=row.source_event_id))
    return await get_case(session, case_id)


# ---------------------------------------------------------------- appeals


async def appeal(session: AsyncSession, *, now: datetime, case_id: UUID, principal: Principal,
                 grounds: str, window_days: int) -> dict:
    row = await _case(session, case_id, for_update=True)
    if principal.id != row.staff_id and principal.role is not Role.HR_ADMIN:
        raise Forbidden("only the staff member concerned (or the HR admin for them) may appeal")
    rules.check_appeal(row.status, row.decided_at, now, window_days,
                       already_appealed=row.appealed_at is not None)
    await session.execute(discipline_cases.update()
                          .where(discipline_cases.c.case_id == case_id)
                          .values(status=rules.APPEALED, appeal_grounds=grounds,
                                  appealed_by=principal.id, appealed_at=now))
    return await get_case(session, case_id)


async def decide_appeal(session: AsyncSession, *, now: datetime, case_id: UUID,
                        principal: Principal, outcome: str, action: str | None,
                        fine: Decimal | None, currency: str, suspension_days: int | None,
                        reason: str) -> dict:
    row = await _case(session, case_id)
    await lock(session, "discipline", row.staff_id)
    row = await _case(session, case_id, for_update=True)
    if row.status != rules.APPEALED:
        raise Conflict(f"the case is {row.status}, not under appeal")
    values: dict[str, Any] = {"appeal_outcome": outcome, "appeal_reason": reason,
                              "appeal_decided_by": principal.id, "appeal_decided_at": now}
    lifted = f"case {case_id} {outcome} on appeal"
    if outcome != "upheld" and row.action == "termination":
        # The termination no longer stands: its offboarding is called off (R1 §6.3).
        await offboarding.call_off_for_case(session, staff_id=row.staff_id, case_id=case_id)
    if outcome == "upheld":
        if action is not None:
            raise Invalid("an upheld decision keeps its action; name none")
        values["status"] = rules.DECIDED
    elif outcome == "overturned":
        if action is not None:
            raise Invalid("an overturned decision has no action; name none")
        values["status"] = rules.OVERTURNED
        await register.lift_case_suspension(session, now=now, staff_id=row.staff_id,
                                            case_id=case_id, reason=lifted)
    else:
        if action is None:
            raise Invalid("a reduced decision needs the new, less severe action")
        rules.check_reduction(row.action, action)
        rule = await find_rule(session, row.violation)
        assert rule is not None
        reduced = rules.penalty(rule, action, fine, suspension_days)
        values |= {"status": rules.DECIDED, "action": action, "fine_amount": reduced.fine,
                   "fine_currency": currency if reduced.fine is not None else None,
                   "suspension_days": reduced.suspension_days,
                   "action_before_appeal": row.action}
        await register.lift_case_suspension(session, now=now, staff_id=row.staff_id,
                                            case_id=case_id, reason=lifted)
        if action == "suspension":
            # reduced from termination: suspended for the days counted from the decision
            until = row.decided_at + timedelta(days=reduced.suspension_days)
            if until > now:
                await register.suspend_for_case(
                    session, now=now, staff_id=row.staff_id, until=until, case_id=case_id,
                    reason=f"suspension reduced on appeal: case {case_id} ({row.rule_ref})")
        await _record(session, row, action=action, fine=reduced.fine, currency=currency,
                      suspension_days=reduced.suspension_days, decided_by=principal.id,
                      decided_at=now)
    await session.execute(discipline_cases.update()
                          .where(discipline_cases.c.case_id == case_id).values(**values))
    await publish(session, DisciplineAppealDecided(
        case_id=case_id, staff_id=row.staff_id, outcome=outcome, action_appealed=row.action,
        action=None if outcome == "overturned" else values.get("action", row.action),
        decided_by=principal.id, decided_at=now))
    return await get_case(session, case_id)
