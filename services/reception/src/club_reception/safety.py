"""Safety rounds' use cases (R2 §7.1, §7.2), beside services.py and in its shape: each runs in
the caller's transaction, loads (locking what it changes), applies a rule from
`domain/safety.py`, saves and publishes in the same transaction (the outbox).

Checklists · rounds (scheduled by a supervisor or called for by an incident, walked and
answered) · findings (opened from failed items, possibly opening an incident, escalated once
when past due, closed with evidence) · the escalation job.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import (
    SafetyFindingClosed,
    SafetyFindingOpened,
    SafetyFindingOverdue,
    SafetyRoundCompleted,
)
from club_platform.errors import Forbidden, Invalid, NotFound
from club_platform.outbox import publish
from club_platform.runtime import PeriodicJob
from sqlalchemy.ext.asyncio import AsyncSession

from club_reception import services
from club_reception.domain import incidents as incident_rules
from club_reception.domain import safety as rules
from club_reception.domain.errors import UnknownLocation
from club_reception.schema import (
    locations,
    safety_checklist_items,
    safety_findings,
    safety_round_items,
    safety_rounds,
)
from club_reception.settings import ReceptionSettings

OVERDUE_FINDINGS = "safety_findings_overdue"


# ================================================================ checklists


async def list_checklists(session: AsyncSession, area: str | None = None) -> list[dict]:
    query = sa.select(safety_checklist_items).order_by(safety_checklist_items.c.area,
                                                       safety_checklist_items.c.position)
    if area is not None:
        query = query.where(safety_checklist_items.c.area == area)
    grouped: dict[str, list[dict]] = defaultdict(list)
    for row in await session.execute(query):
        grouped[row.area].append({"item": row.item, "wording": row.wording})
    return [{"area": a, "items": items} for a, items in grouped.items()]


async def get_checklist(session: AsyncSession, area: str) -> dict:
    found = await list_checklists(session, area)
    if not found:
        raise rules.UnknownChecklist(f"there is no checklist for area {area!r}", area=area)
    return found[0]


async def define_checklist(session: AsyncSession, area: str, items: Sequence[tuple[str, str]],
                           *, by: UUID, now: datetime) -> dict:
    """The head or deputy writes an area's checklist (R2 §7.1); rounds already scheduled keep
    the items they were given."""
    rules.ensure_items_unique(item for item, _ in items)
    await session.execute(sa.delete(safety_checklist_items)
                          .where(safety_checklist_items.c.area == area))
    await session.execute(sa.insert(safety_checklist_items), [
        {"area": area, "item": item, "position": position, "wording": wording,
         "updated_by": by, "updated_at": now}
        for position, (item, wording) in enumerate(items, start=1)])
    return await get_checklist(session, area)


# ================================================================ rounds


async def schedule_round(session: AsyncSession, *, area: str, location_id: UUID | None,
                         walker_id: UUID, scheduled_for: datetime | None, by: UUID,
                         now: datetime, incident_id: UUID | None = None) -> dict:
    checklist = await get_checklist(session, area)
    if location_id is not None and await session.scalar(
            sa.select(locations.c.location_id)
            .where(locations.c.location_id == location_id)) is None:
        raise UnknownLocation(f"there is no location {location_id}",
                              location_id=str(location_id))
    await services._ensure_on_duty(session, walker_id, now, "walk a safety round")
    round_id = uuid4()
    await session.execute(sa.insert(safety_rounds).values(
        round_id=round_id, area=area, location_id=location_id, walker_id=walker_id,
        scheduled_for=scheduled_for or now, scheduled_by=by, scheduled_at=now,
        incident_id=incident_id))
    await session.execute(sa.insert(safety_round_items), [
        {"round_id": round_id, "item": entry["item"], "position": position,
         "wording": entry["wording"]}
        for position, entry in enumerate(checklist["items"], start=1)])
    return await round_view(session, round_id)


async def call_round_for_incident(session: AsyncSession, incident_id: UUID, *, area: str,
                                  walker_id: UUID, scheduled_for: datetime | None, by: UUID,
                                  now: datetime) -> dict:
    """An incident calls for a round of its place (R2 §7.2: find what else is wrong there)."""
    incident = await services._load_incident(session, incident_id, lock=True)
    incident_rules.ensure_open(services._incident_from(incident), "call for a safety round")
    return await schedule_round(session, area=area, location_id=incident["location_id"],
                                walker_id=walker_id, scheduled_for=scheduled_for, by=by,
                                now=now, incident_id=incident_id)


async def _load_round(session: AsyncSession, round_id: UUID, *, lock: bool = False) -> dict:
    query = sa.select(safety_rounds).where(safety_rounds.c.round_id == round_id)
    if lock:
        query = query.with_for_update()
    row = services._plain((await session.execute(query)).first())
    if row is None:
        raise NotFound(f"there is no safety round {round_id}")
    return row


@dataclass(frozen=True)
class FailedItemOrders:
    """What a supervisor may decide for a failed item as the round is recorded."""

    owner_id: UUID | None = None
    due_at: datetime | None = None
    incident_severity: str | None = None


async def complete_round(session: AsyncSession, round_id: UUID, answers: Sequence[rules.Answer],
                         orders: Mapping[str, FailedItemOrders], *, by: UUID,
                         supervisor: bool, settings: ReceptionSettings,
                         now: datetime) -> dict:
    """Record the walk (R2 §7.1): every item answered; each failed one becomes a finding, and
    may open an incident (R2 §7.2) in this same transaction."""
    found = await _load_round(session, round_id, lock=True)
    if found["completed_at"] is not None:
        raise rules.RoundCompleted(f"safety round {round_id} was completed at "
                                   f"{found['completed_at'].isoformat()}")
    rules.ensure_may_walk(found["walker_id"], by, supervisor)
    expected = list(await session.scalars(
        sa.select(safety_round_items.c.item).where(safety_round_items.c.round_id == round_id)
        .order_by(safety_round_items.c.position)))
    rules.check_answers(expected, answers)
    if not supervisor and any(o.owner_id or o.due_at for o in orders.values()):
        raise Forbidden("only a supervisor assigns a finding's owner or due date")
    failed = {a.item for a in answers if a.result == "fail"}
    stray = sorted(set(orders) - failed)
    if stray:
        raise Invalid(f"orders are for failed items only: {', '.join(stray)}",
                            items=stray)
    for answer in answers:
        await session.execute(sa.update(safety_round_items).where(
            safety_round_items.c.round_id == round_id,
            safety_round_items.c.item == answer.item).values(result=answer.result,
                                                             note=answer.note))
    await session.execute(sa.update(safety_rounds).where(safety_rounds.c.round_id == round_id)
                          .values(completed_at=now, completed_by=by))
    for answer in answers:
        if answer.result == "fail":
            await _open_finding(session, found, answer, orders.get(answer.item,
                                                                   FailedItemOrders()),
                                by=by, settings=settings, now=now)
    await publish(session, SafetyRoundCompleted(
        round_id=round_id, area=found["area"], conducted_by=by, items_checked=len(answers),
        items_failed=len(failed), completed_at=now))
    return await round_view(session, round_id)


async def _open_finding(session: AsyncSession, found: dict, answer: rules.Answer,
                        order: FailedItemOrders, *, by: UUID, settings: ReceptionSettings,
                        now: datetime) -> None:
    owner = order.owner_id or found["walker_id"]
    if order.owner_id is not None:
        await services._ensure_on_duty(session, owner, now, "own a safety finding")
    due = order.due_at or rules.due_at(found["area"], now, settings.safety_finding_hours,
                                       settings.safety_finding_default_hours)
    if due <= now:
        raise Invalid(f"a finding's due date must be in the future ({answer.item})",
                            item=answer.item)
    incident_id = None
    if order.incident_severity is not None:
        if found["location_id"] is None:
            raise Invalid(f"item {answer.item} cannot open an incident: the round has "
                                "no location", item=answer.item)
        incident = await services.report_incident(
            session, category="safety", severity=order.incident_severity,
            location_id=found["location_id"], visit_id=None,
            description=f"{found['area']}/{answer.item}: {answer.note}", occurred_at=now,
            by=by, now=now)
        incident_id = incident["incident_id"]
    finding_id = uuid4()
    await session.execute(sa.insert(safety_findings).values(
        finding_id=finding_id, round_id=found["round_id"], area=found["area"],
        item=answer.item, location_id=found["location_id"], note=answer.note, owner_id=owner,
        due_at=due, opened_at=now, incident_id=incident_id))
    await publish(session, SafetyFindingOpened(
        finding_id=finding_id, round_id=found["round_id"], area=found["area"],
        item=answer.item, owner_id=owner, due_at=due, incident_id=incident_id, opened_at=now))


async def _round_views(session: AsyncSession, rows: Sequence[dict]) -> list[dict]:
    ids = [r["round_id"] for r in rows]
    items: dict[UUID, list[dict]] = defaultdict(list)
    findings: dict[UUID, list[UUID]] = defaultdict(list)
    if ids:
        for row in await session.execute(
                sa.select(safety_round_items).where(safety_round_items.c.round_id.in_(ids))
                .order_by(safety_round_items.c.position)):
            items[row.round_id].append({"item": row.item, "wording": row.wording,
                                        "result": row.result, "note": row.note})
        for row in await session.execute(
                sa.select(safety_findings.c.round_id, safety_findings.c.finding_id)
                .where(safety_findings.c.round_id.in_(ids))
                .order_by(safety_findings.c.opened_at, safety_findings.c.item)):
            findings[row.round_id].append(row.finding_id)
    return [{**row, "status": "completed" if row["completed_at"] else "scheduled",
             "items": items[row["round_id"]], "finding_ids": findings[row["round_id"]]}
            for row in rows]


async def round_view(session: AsyncSession, round_id: UUID) -> dict:
    return (await _round_views(session, [await _load_round(session, round_id)]))[0]


async def list_rounds(session: AsyncSession, *, status: str | None, area: str | None,
                      walker_id: UUID | None) -> list[dict]:
    query = sa.select(safety_rounds).order_by(safety_rounds.c.scheduled_for,
                                              safety_rounds.c.round_id)
    if status == "scheduled":
        query = query.where(safety_rounds.c.completed_at.is_(None))
    elif status == "completed":
        query = query.where(safety_rounds.c.completed_at.isnot(None))
    if area is not None:
        query = query.where(safety_rounds.c.area == area)
    if walker_id is not None:
        query = query.where(safety_rounds.c.walker_id == walker_id)
    rows = [dict(r._mapping) for r in await session.execute(query.limit(500))]
    return await _round_views(session, rows)


# ================================================================ findings


def _finding_view(row: dict) -> dict:
    return {**row, "state": rules.state_of(row["closed_at"], row["overdue_at"]),
            "on_time": None if row["closed_at"] is None else row["closed_at"] <= row["due_at"]}


async def _load_finding(session: AsyncSession, finding_id: UUID, *, lock: bool = False) -> dict:
    query = sa.select(safety_findings).where(safety_findings.c.finding_id == finding_id)
    if lock:
        query = query.with_for_update()
    row = services._plain((await session.execute(query)).first())
    if row is None:
        raise NotFound(f"there is no safety finding {finding_id}")
    return row


async def finding_view(session: AsyncSession, finding_id: UUID) -> dict:
    return _finding_view(await _load_finding(session, finding_id))


async def list_findings(session: AsyncSession, *, state: str | None,
                        owner_id: UUID | None) -> list[dict]:
    f = safety_findings.c
    query = sa.select(safety_findings).order_by(f.due_at, f.finding_id)
    if state == "open":
        query = query.where(f.closed_at.is_(None), f.overdue_at.is_(None))
    elif state == "overdue":
        query = query.where(f.closed_at.is_(None), f.overdue_at.isnot(None))
    elif state == "closed":
        query = query.where(f.closed_at.isnot(None))
    if owner_id is not None:
        query = query.where(f.owner_id == owner_id)
    return [_finding_view(dict(r._mapping)) for r in await session.execute(query.limit(500))]


async def close_finding(session: AsyncSession, finding_id: UUID, *, evidence: str, by: UUID,
                        supervisor: bool, now: datetime) -> dict:
    """Fixed, with evidence (R2 §7.1). Closing again returns the finding as it was closed and
    publishes nothing."""
    found = await _load_finding(session, finding_id, lock=True)
    rules.ensure_may_close(found["owner_id"], by, supervisor)
    if found["closed_at"] is not None:
        return _finding_view(found)
    await session.execute(sa.update(safety_findings)
                          .where(safety_findings.c.finding_id == finding_id)
                          .values(closed_at=now, closed_by=by, evidence=evidence))
    await publish(session, SafetyFindingClosed(
        finding_id=finding_id, owner_id=found["owner_id"], closed_by=by,
        due_at=found["due_at"], closed_at=now, on_time=now <= found["due_at"]))
    return await finding_view(session, finding_id)


# ================================================================ escalation (the job)


async def escalate_overdue(session: AsyncSession, now: datetime) -> int:
    """Findings past due and not closed are escalated once (R2 §7.1, §2.2): marked overdue,
    and `safety.finding_overdue` names who follows up."""
    f = safety_findings.c
    due = (await session.execute(
        sa.select(f.finding_id, f.owner_id, f.due_at, f.closed_at, f.overdue_at)
        .where(f.closed_at.is_(None), f.overdue_at.is_(None), f.due_at < now)
        .order_by(f.due_at).limit(500).with_for_update(skip_locked=True))).all()
    due = [row for row in due if rules.is_overdue(row.due_at, row.closed_at, row.overdue_at,
                                                 now)]
    for finding_id, owner_id, due_at, _, _ in due:
        standing = await services.standing_of(session, owner_id, now)
        role = rules.escalated_to(standing.role)
        await session.execute(sa.update(safety_findings)
                              .where(safety_findings.c.finding_id == finding_id)
                              .values(overdue_at=now, escalated_to_role=role))
        await publish(session, SafetyFindingOverdue(
            finding_id=finding_id, owner_id=owner_id, due_at=due_at, escalated_to_role=role,
            overdue_at=now))
    return len(due)


def build_safety_jobs(settings: ReceptionSettings) -> tuple[PeriodicJob, ...]:
    return (PeriodicJob(OVERDUE_FINDINGS, settings.safety_overdue_check_seconds,
                        escalate_overdue),)
