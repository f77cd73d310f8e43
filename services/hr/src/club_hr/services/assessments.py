"""Assessments (R2 §5.1–5.2): a staff member's KPIs over a period, scored with their role's
template as a draft, each KPI listing what it counted; published as `assessment.published`
only after the head's review (services.assessment_review)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import AssessmentPublished, Kpi, KpiAdjustment
from club_platform.errors import Conflict, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import kpis as rules
from club_hr.domain.staff import OFFBOARDED
from club_hr.schema import (
    assessment_appeals,
    assessment_kpis,
    assessments,
    kpi_facts,
    self_assessments,
    shifts,
)
from club_hr.services import attendance, kpis, rewards, training
from club_hr.services import staff as register


def period_bounds(period_start: date, period_end: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """A period is whole days of the club's time zone, both ends included: [start 00:00 local,
    the day after the end 00:00 local), in UTC."""
    return (datetime.combine(period_start, time(), zone).astimezone(UTC),
            datetime.combine(period_end + timedelta(days=1), time(), zone).astimezone(UTC))


async def observations_for(session: AsyncSession, *, staff_id: UUID, codes: list[str],
                           start: datetime, end: datetime, now: datetime,
                           grace: timedelta) -> tuple[list[rules.Observation], int]:
    """What the KPIs `codes` count for the staff member over [start, end), and how many of
    their shifts were due (over, not on approved leave)."""
    kinds = set().union(*(rules.CATALOGUE[c].counts for c in codes))
    found = await kpis.facts_between(session, staff_id=staff_id,
                                     kinds=kinds - rules.DERIVED_KINDS, start=start, end=end)
    shift_observations = await _shift_observations(session, staff_id, start, end, now, grace)
    due = [o for o in shift_observations if not o.attrs.get("on_leave")]
    if "shift" in kinds:
        found += due
    if "training_attendance" in kinds:
        found += await training.attendance_observations(session, start=start, end=end)
    if "credited_survey" in kinds:
        found += await _credited_surveys(session, staff_id, start, end)
    if "resolution_followup" in kinds:
        found += await _resolution_followups(session, staff_id, start, end)
    if "team_shift" in kinds:
        found += await _team_shifts(session, start, end, now, grace)
    if "escalation_outcome" in kinds:
        found += await _escalation_outcomes(session, start, end)
    return found, len(due)


async def _team_shifts(session: AsyncSession, start: datetime, end: datetime, now: datetime,
                       grace: timedelta) -> list[rules.Observation]:
    """Every staff member's shifts due in the period (over, not on approved leave): the
    department's coverage (R2 §2.2)."""
    members = (await session.execute(
        select(shifts.c.staff_id).distinct().where(
            shifts.c.status == "scheduled", shifts.c.starts_at >= start,
            shifts.c.starts_at < end, shifts.c.ends_at <= now)
        .order_by(shifts.c.staff_id))).scalars().all()
    found = []
    for member in members:
        for o in await _shift_observations(session, member, start, end, now, grace):
            if not o.attrs.get("on_leave"):
                found.append(rules.Observation(
                    source=o.source, source_id=o.source_id, kind="team_shift",
                    occurred_at=o.occurred_at, value=o.value,
                    attrs={"staff_id": str(member), "late_minutes": o.attrs["late_minutes"],
                           "arrival_event_id": o.attrs["arrival_event_id"]}))
    return found


async def _escalation_outcomes(session: AsyncSession, start: datetime,
                               end: datetime) -> list[rules.Observation]:
    """The complaints escalated to the deputy in the period, each with whether it was resolved
    within its deadline (one still open: not in time)."""
    escalations = (await session.execute(
        select(kpi_facts).where(kpi_facts.c.kind == "escalation",
                                kpi_facts.c.attrs["to"].astext == "deputy",
                                kpi_facts.c.occurred_at >= start,
                                kpi_facts.c.occurred_at < end)
        .order_by(kpi_facts.c.occurred_at, kpi_facts.c.source_event_id))).all()
    if not escalations:
        return []
    resolved = {r.subject_id: r.attrs for r in (await session.execute(
        select(kpi_facts.c.subject_id, kpi_facts.c.attrs).where(
            kpi_facts.c.kind == "complaint_resolved",
            kpi_facts.c.subject_id.in_([e.subject_id for e in escalations])))).all()}
    return [_observation(e, "escalation_outcome",
                         resolved=e.subject_id in resolved,
                         resolved_within_sla=resolved.get(e.subject_id, {}).get("within_sla")
                         is True)
            for e in escalations]


def _observation(row: Any, kind: str | None = None, **attrs: Any) -> rules.Observation:
    return rules.Observation(source=row.topic, source_id=row.source_event_id,
                             kind=kind or row.kind, occurred_at=row.occurred_at,
                             value=row.value, attrs={**row.attrs, **attrs})


async def _credited_surveys(session: AsyncSession, staff_id: UUID, start: datetime,
                            end: datetime) -> list[rules.Observation]:
    """The surveys naming the staff member, each weighted by their part in the visit: 1 for
    the visit's host, else the share of the visit's service time they gave (0: they gave
    none, and the survey is not theirs to carry). A survey whose visit HR has not seen counts
    fully, as before."""
    surveys = (await session.execute(
        select(kpi_facts).where(kpi_facts.c.kind == "survey_rating",
                                kpi_facts.c.staff_id == staff_id,
                                kpi_facts.c.occurred_at >= start, kpi_facts.c.occurred_at < end)
        .order_by(kpi_facts.c.occurred_at, kpi_facts.c.source_event_id))).all()
    visit_ids = {UUID(r.attrs["visit_id"]) for r in surveys if r.attrs.get("visit_id")}
    parts = {r.subject_id: r.attrs for r in (await session.execute(
        select(kpi_facts.c.subject_id, kpi_facts.c.attrs).where(
            kpi_facts.c.kind == "visit_served", kpi_facts.c.staff_id == staff_id,
            kpi_facts.c.subject_id.in_(visit_ids)))).all()} if visit_ids else {}
    found = []
    for row in surveys:
        part = parts.get(UUID(row.attrs["visit_id"])) if row.attrs.get("visit_id") else None
        if part is None or part.get("host") or "visit_service_minutes" not in part:
            weight, why = Decimal(1), "host" if part and part.get("host") else "visit unknown"
        else:
            total = Decimal(part["visit_service_minutes"])
            given = Decimal(part["service_minutes"])
            weight = (given / total).quantize(Decimal("0.0001")) if total else Decimal(0)
            why = f"{given} of {total} service minutes"
        found.append(_observation(row, "credited_survey", weight=str(weight), credit=why))
    return found


async def _resolution_followups(session: AsyncSession, staff_id: UUID, start: datetime,
                                end: datetime) -> list[rules.Observation]:
    """Follow-up calls made in the period after complaints the staff member resolved, whoever
    made the call: the customer's satisfaction is the resolver's work."""
    resolved = select(sa.cast(kpi_facts.c.subject_id, sa.Text)).where(
        kpi_facts.c.kind == "complaint_resolved", kpi_facts.c.staff_id == staff_id)
    rows = (await session.execute(
        select(kpi_facts).where(
            kpi_facts.c.kind == "followup",
            kpi_facts.c.attrs["reason"].astext == "post_complaint",
            kpi_facts.c.attrs["complaint_id"].astext.in_(resolved),
            kpi_facts.c.occurred_at >= start, kpi_facts.c.occurred_at < end)
        .order_by(kpi_facts.c.occurred_at, kpi_facts.c.source_event_id))).all()
    return [_observation(r, "resolution_followup", called_by=str(r.staff_id)) for r in rows]


async def _shift_observations(session: AsyncSession, staff_id: UUID, start: datetime,
                              end: datetime, now: datetime,
                              grace: timedelta) -> list[rules.Observation]:
    """Each of the staff member's shifts that started in the period and is over (R2 §6.1);
    value 1 when they came. Shifts on approved leave are marked `on_leave` (not due)."""
    rows = (await session.execute(
        select(shifts).where(shifts.c.staff_id == staff_id, shifts.c.status == "scheduled",
                             shifts.c.starts_at >= start, shifts.c.starts_at < end,
                             shifts.c.ends_at <= now)
        .order_by(shifts.c.starts_at)
    )).all()
    verdicts = await attendance.verdicts_for(session, staff_id, list(rows), grace)
    observations = []
    for row in rows:
        verdict = verdicts[row.shift_id]
        observations.append(rules.Observation(
            source="shift", source_id=row.shift_id, kind="shift", occurred_at=row.starts_at,
            value=Decimal(1 if verdict.arrival is not None else 0),
            attrs={
                "kept": verdict.kept,
                "on_leave": str(verdict.on_leave.leave_id) if verdict.on_leave else None,
                "authorised_by_leave": [str(v.leave_id) for v in verdict.authorised],
                "arrival_clocking_id": str(verdict.arrival.clocking_id)
                if verdict.arrival else None,
                "arrival_event_id": str(verdict.arrival.source_event_id)
                if verdict.arrival and verdict.arrival.source_event_id else None,
                "departure_clocking_id": str(verdict.departure.clocking_id)
                if verdict.departure else None,
                "departure_event_id": str(verdict.departure.source_event_id)
                if verdict.departure and verdict.departure.source_event_id else None,
                "late_minutes": verdict.late_minutes if verdict.late else None,
                "early_minutes": verdict.early_minutes if verdict.early else None,
            },
        ))
    return observations


def _counted_entry(observation: rules.Observation) -> dict:
    return {
        "source": observation.source,
        "source_id": str(observation.source_id),
        "kind": observation.kind,
        "occurred_at": observation.occurred_at.isoformat(),
        "value": None if observation.value is None else float(observation.value),
        "attrs": dict(observation.attrs),
    }


def role_parts(held: list[tuple[datetime, str]], period_start: date, period_end: date,
               zone: tzinfo) -> list[tuple[str, date, date]]:
    """The period split by role, in whole club days: a role changed during a day holds from
    that day on (the day goes to the new role); several changes in a day: the last one."""
    by_day: dict[date, str] = {}
    for moment, role in held:
        by_day[max(period_start, moment.astimezone(zone).date())] = role
    days = sorted(by_day)
    return [(by_day[day], day, (days[i + 1] - timedelta(days=1)) if i + 1 < len(days)
             else period_end) for i, day in enumerate(days)]


async def compute_assessment(session: AsyncSession, *, now: datetime, staff_id: UUID,
                             period_start: date, period_end: date, computed_by: UUID,
                             grace: timedelta, zone: tzinfo = UTC) -> dict:
    """Assess a staff member over an ended period (whole days of the club's time zone) with
    the template in force on its first day (R2 §5.1), as a draft: nothing is published until
    the head has reviewed it (services.assessment_review). A day is assessed once. When the
    role changed during the period, each part is assessed with its own role's template, as its
    own assessment (`parts` lists them; the answer is the last part's)."""
    rules.check_period(period_start, period_end, now.astimezone(zone).date())
    member = await register.get(session, staff_id)
    if member.status == OFFBOARDED:
        raise Conflict("the staff member has been offboarded")
    existing = (await session.execute(
        select(assessments.c.assessment_id).where(assessments.c.staff_id == staff_id,
                                                  assessments.c.period_start <= period_end,
                                                  assessments.c.period_end >= period_start)
    )).scalar()
    if existing is not None:
        raise Conflict(f"this period is already assessed (assessment {existing}); the head "
                       "adjusts it on review, with a reason", assessment_id=str(existing))
    start, end = period_bounds(period_start, period_end, zone)
    held = await register.roles_between(session, staff_id, start, end)
    parts = role_parts(held, period_start, period_end, zone) or [
        (member.role, period_start, period_end)]
    made: list[UUID] = []
    nothing: Conflict | None = None
    for role, first, last in parts:
        try:
            made.append(await _assess_part(session, now=now, staff_id=staff_id, role=role,
                                           period_start=first, period_end=last,
                                           computed_by=computed_by, grace=grace, zone=zone))
        except Conflict as refused:  # nothing to assess in this part; the others stand
            nothing = refused
    if not made:
        assert nothing is not None
        raise nothing
    return {**await get_assessment(session, made[-1]), "parts": made}


async def _assess_part(session: AsyncSession, *, now: datetime, staff_id: UUID, role: str,
                       period_start: date, period_end: date, computed_by: UUID,
                       grace: timedelta, zone: tzinfo) -> UUID:
    template = await kpis.template_in_force(session, role, period_start)
    items = kpis.items_of(template)
    start, end = period_bounds(period_start, period_end, zone)
    observations, shifts_due = await observations_for(
        session, staff_id=staff_id, codes=[i.code for i in items], start=start, end=end,
        now=now, grace=grace)
    result = rules.assess(items, observations, shifts_due)

    assessment_id = uuid4()
    await session.execute(assessments.insert().values(
        assessment_id=assessment_id, staff_id=staff_id, role=role,
        period_start=period_start, period_end=period_end,
        template_id=template["template_id"], total_score=result.total, rating=result.rating,
        status="draft", computed_at=now, computed_by=computed_by))
    await session.execute(assessment_kpis.insert(), [
        {"assessment_id": assessment_id, "code": k.code, "position": position,
         "weight": k.weight, "target": k.target, "worst": k.worst, "value": k.value,
         "score": k.score, "counted": [_counted_entry(o) for o in k.counted],
         "status": k.status, "basis": k.basis.value, "target_for_period": k.target_for_period,
         "worst_for_period": k.worst_for_period, "explanation": k.explanation}
        for position, k in enumerate(result.kpis)
    ])
    return assessment_id


async def publish_reviewed(session: AsyncSession, row: Any, *, now: datetime) -> None:
    """Publish a reviewed assessment as `assessment.published`: the scores as the head left
    them, each adjusted one beside its computed score and reason; an outstanding one
    proposes a reward (R2 §5.2)."""
    kpi_rows = (await session.execute(
        select(assessment_kpis).where(assessment_kpis.c.assessment_id == row.assessment_id)
        .order_by(assessment_kpis.c.position))).all()
    scored = [k for k in kpi_rows if k.status == "scored"]
    total = row.final_total_score if row.final_total_score is not None else row.total_score
    rating = row.final_rating or row.rating
    await publish(session, AssessmentPublished(
        assessment_id=row.assessment_id, staff_id=row.staff_id, role=row.role,
        period_start=row.period_start, period_end=row.period_end,
        # Only scored KPIs; `target` is the target for this period (per-shift ones scaled).
        kpis=[Kpi(code=k.code, value=float(k.value),
                  target=float(k.target_for_period if k.target_for_period is not None
                               else k.target),
                  weight=k.weight,
                  score=float(k.adjusted_score if k.adjusted_score is not None else k.score))
              for k in scored],
        total_score=float(total), rating=rating, published_at=now,
        reviewed_by=row.reviewed_by,
        adjustments=[KpiAdjustment(code=k.code, computed_score=float(k.score),
                                   adjusted_score=float(k.adjusted_score))
                     for k in scored if k.adjusted_score is not None] or None,
        computed_total_score=float(row.total_score)))
    if rating == "outstanding":
        await rewards.propose_for(session, assessment_id=row.assessment_id,
                                  staff_id=row.staff_id, now=now)


def _kpi_view(row: Any, *, with_evidence: bool) -> dict:
    definition = rules.CATALOGUE.get(row.code)
    view = {
        "code": row.code,
        "direction": definition.direction.value if definition else None,
        # scored, not_measured, not_assessed (per shift, no shift due), too_few (sample)
        "status": row.status,
        "measured": row.value is not None,
        "value": None if row.value is None else float(row.value),
        "basis": row.basis,
        "target": float(row.target),
        "worst": float(row.worst),
        "target_for_period": None if row.target_for_period is None
        else float(row.target_for_period),
        "worst_for_period": None if row.worst_for_period is None
        else float(row.worst_for_period),
        "weight": row.weight,
        # The score that counts: the head's adjusted one, else the computed one.
        "score": None if row.score is None else float(
            row.adjusted_score if row.adjusted_score is not None else row.score),
        "computed_score": None if row.score is None else float(row.score),
        "adjusted_score": None if row.adjusted_score is None else float(row.adjusted_score),
        "adjustment_reason": row.adjustment_reason,
        "explanation": row.explanation,
        # services/hr/README.md: "which events counted, with their ids"
        "counted_ids": [entry["source_id"] for entry in row.counted],
    }
    if with_evidence:
        view["counted"] = row.counted
    return view


async def get_assessment(session: AsyncSession, assessment_id: UUID, *,
                         with_evidence: bool = False) -> dict:
    row = (await session.execute(
        select(assessments).where(assessments.c.assessment_id == assessment_id))).first()
    if row is None:
        raise NotFound(f"no assessment {assessment_id}")
    return await _assessment_view(session, row, with_evidence=with_evidence)


async def _assessment_view(session: AsyncSession, row: Any, *, with_evidence: bool) -> dict:
    kpi_rows = (await session.execute(
        select(assessment_kpis).where(assessment_kpis.c.assessment_id == row.assessment_id)
        .order_by(assessment_kpis.c.position)
    )).all()
    return {
        "assessment_id": row.assessment_id,
        "staff_id": row.staff_id,
        "role": row.role,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "template_id": row.template_id,
        "status": row.status,
        # What counts: the total after the head's review, else the computed one.
        "total_score": float(row.final_total_score if row.final_total_score is not None
                             else row.total_score),
        "rating": row.final_rating or row.rating,
        "computed_total_score": float(row.total_score),
        "computed_rating": row.rating,
        "total_adjustment_reason": row.total_adjustment_reason,
        "computed_at": row.computed_at,
        "reviewed_by": row.reviewed_by,
        "reviewed_at": row.reviewed_at,
        "review_note": row.review_note,
        "published_at": row.published_at,
        "acknowledged_at": row.acknowledged_at,
        "acknowledgement_comment": row.acknowledgement_comment,
        "kpis": [_kpi_view(k, with_evidence=with_evidence) for k in kpi_rows],
        "appeal": await _appeal_of(session, row.assessment_id),
        "self_assessment": await _self_assessment_for(session, row.staff_id,
                                                      row.period_start, row.period_end),
    }


def appeal_view(row: Any) -> dict:
    return {"appeal_id": row.appeal_id, "assessment_id": row.assessment_id,
            "staff_id": row.staff_id, "grounds": row.grounds, "filed_at": row.filed_at,
            "status": row.status, "decided_by": row.decided_by, "decided_at": row.decided_at,
            "decision_reason": row.decision_reason}


def self_assessment_view(row: Any) -> dict:
    return {"self_assessment_id": row.self_assessment_id, "staff_id": row.staff_id,
            "period_start": row.period_start, "period_end": row.period_end,
            "text": row.text, "scores": row.scores, "filed_at": row.filed_at}


async def _appeal_of(session: AsyncSession, assessment_id: UUID) -> dict | None:
    row = (await session.execute(select(assessment_appeals).where(
        assessment_appeals.c.assessment_id == assessment_id))).first()
    return None if row is None else appeal_view(row)


async def _self_assessment_for(session: AsyncSession, staff_id: UUID, period_start: date,
                               period_end: date) -> dict | None:
    row = (await session.execute(select(self_assessments).where(
        self_assessments.c.staff_id == staff_id,
        self_assessments.c.period_start == period_start,
        self_assessments.c.period_end == period_end))).first()
    return None if row is None else self_assessment_view(row)


async def list_assessments(session: AsyncSession, *, staff_id: UUID | None,
                           period_start: date | None, period_end: date | None,
                           status: str | None = None) -> list[dict]:
    query = select(assessments).order_by(assessments.c.period_start.desc(),
                                         assessments.c.computed_at).limit(500)
    if status:
        query = query.where(assessments.c.status == status)
    if staff_id:
        query = query.where(assessments.c.staff_id == staff_id)
    if period_start:
        query = query.where(assessments.c.period_start >= period_start)
    if period_end:
        query = query.where(assessments.c.period_end <= period_end)
    return [await _assessment_view(session, r, with_evidence=False)
            for r in (await session.execute(query)).all()]
