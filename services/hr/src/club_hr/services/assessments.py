"""Assessments (R2 §5.1–5.2): a staff member's KPIs over a period, scored with their role's
template, published as `assessment.published`, each KPI listing what it counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from club_contracts import AssessmentPublished, Kpi
from club_platform.errors import Conflict, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import kpis as rules
from club_hr.domain.staff import OFFBOARDED
from club_hr.schema import assessment_kpis, assessments, shifts
from club_hr.services import attendance, kpis, rewards, training
from club_hr.services import staff as register


def period_bounds(period_start: date, period_end: date) -> tuple[datetime, datetime]:
    """A period is whole UTC days, both ends included: [start 00:00, day after end 00:00)."""
    return (datetime.combine(period_start, time(), UTC),
            datetime.combine(period_end + timedelta(days=1), time(), UTC))


async def observations_for(session: AsyncSession, *, staff_id: UUID, codes: list[str],
                           start: datetime, end: datetime, now: datetime,
                           grace: timedelta) -> list[rules.Observation]:
    kinds = set().union(*(rules.CATALOGUE[c].counts for c in codes))
    found = await kpis.facts_between(session, staff_id=staff_id,
                                     kinds=kinds - {"shift", "training_attendance"},
                                     start=start, end=end)
    if "shift" in kinds:
        found += await _shift_observations(session, staff_id, start, end, now, grace)
    if "training_attendance" in kinds:
        found += await training.attendance_observations(session, start=start, end=end)
    return found


async def _shift_observations(session: AsyncSession, staff_id: UUID, start: datetime,
                              end: datetime, now: datetime,
                              grace: timedelta) -> list[rules.Observation]:
    """Each of the staff member's shifts that started in the period and is over (R2 §6.1)."""
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
            value=Decimal(1 if verdict.kept else 0),
            attrs={
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


async def publish_assessment(session: AsyncSession, *, now: datetime, staff_id: UUID,
                             period_start: date, period_end: date, published_by: UUID,
                             grace: timedelta) -> dict:
    """Assess a staff member over an ended period with the template in force on its first day
    (R2 §5.1), and publish it. A period is assessed once."""
    rules.check_period(period_start, period_end, now.date())
    member = await register.get(session, staff_id)
    if member.status == OFFBOARDED:
        raise Conflict("the staff member has been offboarded")
    existing = (await session.execute(
        select(assessments.c.assessment_id).where(assessments.c.staff_id == staff_id,
                                                  assessments.c.period_start == period_start,
                                                  assessments.c.period_end == period_end)
    )).scalar()
    if existing is not None:
        raise Conflict(f"this period is already assessed (assessment {existing}); published "
                       "assessments are final", assessment_id=str(existing))
    template = await kpis.template_in_force(session, member.role, period_start)
    items = kpis.items_of(template)
    start, end = period_bounds(period_start, period_end)
    observations = await observations_for(session, staff_id=staff_id,
                                          codes=[i.code for i in items], start=start, end=end,
                                          now=now, grace=grace)
    result = rules.assess(items, observations)

    assessment_id = uuid4()
    await session.execute(assessments.insert().values(
        assessment_id=assessment_id, staff_id=staff_id, role=member.role,
        period_start=period_start, period_end=period_end,
        template_id=template["template_id"], total_score=result.total, rating=result.rating,
        published_at=now, published_by=published_by))
    await session.execute(assessment_kpis.insert(), [
        {"assessment_id": assessment_id, "code": k.code, "position": position,
         "weight": k.weight, "target": k.target, "worst": k.worst, "value": k.value,
         "score": k.score, "counted": [_counted_entry(o) for o in k.counted]}
        for position, k in enumerate(result.kpis)
    ])
    await publish(session, AssessmentPublished(
        assessment_id=assessment_id, staff_id=staff_id, role=member.role,
        period_start=period_start, period_end=period_end,
        kpis=[Kpi(code=k.code, value=float(k.value), target=float(k.target), weight=k.weight,
                  score=float(k.score)) for k in result.measured],
        total_score=float(result.total), rating=result.rating, published_at=now))
    if result.rating == "outstanding":
        await rewards.propose_for(session, assessment_id=assessment_id, staff_id=staff_id,
                                  now=now)
    return await get_assessment(session, assessment_id)


def _kpi_view(row: Any, *, with_evidence: bool) -> dict:
    definition = rules.CATALOGUE.get(row.code)
    view = {
        "code": row.code,
        "direction": definition.direction.value if definition else None,
        "measured": row.value is not None,
        "value": None if row.value is None else float(row.value),
        "target": float(row.target),
        "worst": float(row.worst),
        "weight": row.weight,
        "score": None if row.score is None else float(row.score),
        # BLUEPRINT §6: "which events counted, with their ids"
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
        "total_score": float(row.total_score),
        "rating": row.rating,
        "published_at": row.published_at,
        "kpis": [_kpi_view(k, with_evidence=with_evidence) for k in kpi_rows],
    }


async def list_assessments(session: AsyncSession, *, staff_id: UUID | None,
                           period_start: date | None, period_end: date | None) -> list[dict]:
    query = select(assessments).order_by(assessments.c.period_start.desc(),
                                         assessments.c.published_at).limit(500)
    if staff_id:
        query = query.where(assessments.c.staff_id == staff_id)
    if period_start:
        query = query.where(assessments.c.period_start >= period_start)
    if period_end:
        query = query.where(assessments.c.period_end <= period_end)
    return [await _assessment_view(session, r, with_evidence=False)
            for r in (await session.execute(query)).all()]
