"""The assessment lifecycle (R2 §5.1–5.2, R1 §5.3, R1 §7.2): a computed draft is reviewed by
the head, who may adjust a KPI score or the total only with a written reason, kept beside the
computed number; then published (only now `assessment.published`); the staff member
acknowledges it with a comment, and may appeal within a window after publication; someone
other than the reviewer decides the appeal (upheld: back to draft for a new review). Beside it,
the staff member's self-assessment for the same period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from club_platform.errors import Conflict, Forbidden, Invalid, NotFound
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import kpis as rules
from club_hr.schema import assessment_appeals, assessment_kpis, assessments, self_assessments
from club_hr.services import assessments as assessing
from club_hr.services import staff as register


@dataclass(frozen=True)
class Adjustment:
    code: str
    score: Decimal
    reason: str


async def _locked(session: AsyncSession, assessment_id: UUID) -> Any:
    row = (await session.execute(
        select(assessments).where(assessments.c.assessment_id == assessment_id)
        .with_for_update())).first()
    if row is None:
        raise NotFound(f"no assessment {assessment_id}")
    return row


async def review(session: AsyncSession, *, now: datetime, assessment_id: UUID,
                 reviewer: UUID, adjustments: list[Adjustment], total: Decimal | None,
                 total_reason: str | None, note: str | None) -> dict:
    """The head's review of a draft. Each adjustment replaces the KPI's score for what counts
    (the computed score stays); the total is the weighted mean of the scores as adjusted,
    unless the head sets it, with a reason. A review again before publication replaces the
    previous one."""
    row = await _locked(session, assessment_id)
    if row.status == "published":
        raise Conflict("the assessment is published; only an upheld appeal reopens it for "
                       "review")
    if (total is None) != (total_reason is None):
        raise Invalid("an adjusted total needs its written reason, and a reason its total")
    kpi_rows = {k.code: k for k in (await session.execute(
        select(assessment_kpis).where(assessment_kpis.c.assessment_id == assessment_id)
    )).all()}
    seen: set[str] = set()
    for adjustment in adjustments:
        kpi = kpi_rows.get(adjustment.code)
        if kpi is None:
            raise Invalid(f"the assessment has no KPI {adjustment.code!r}")
        if adjustment.code in seen:
            raise Invalid(f"KPI {adjustment.code!r} is adjusted twice")
        seen.add(adjustment.code)
        if kpi.status != "scored":
            raise Invalid(f"KPI {adjustment.code!r} is {kpi.status}, not scored: it has no "
                          "score to adjust")
    await session.execute(assessment_kpis.update()
                          .where(assessment_kpis.c.assessment_id == assessment_id)
                          .values(adjusted_score=None, adjustment_reason=None))
    for adjustment in adjustments:
        await session.execute(assessment_kpis.update().where(
            assessment_kpis.c.assessment_id == assessment_id,
            assessment_kpis.c.code == adjustment.code).values(
            adjusted_score=adjustment.score, adjustment_reason=adjustment.reason))
    by_code = {a.code: a.score for a in adjustments}
    scored = [k for k in kpi_rows.values() if k.status == "scored"]
    weights = sum(k.weight for k in scored)
    from_kpis = rules.rounded(sum((k.weight * by_code.get(k.code, k.score) for k in scored),
                                  Decimal(0)) / weights)
    final = total if total is not None else from_kpis
    await session.execute(assessments.update()
                          .where(assessments.c.assessment_id == assessment_id)
                          .values(status="reviewed", reviewed_by=reviewer, reviewed_at=now,
                                  review_note=note, final_total_score=final,
                                  final_rating=rules.rating(final),
                                  total_adjustment_reason=total_reason))
    return await assessing.get_assessment(session, assessment_id)


async def publish(session: AsyncSession, *, now: datetime, assessment_id: UUID,
                  published_by: UUID) -> dict:
    row = await _locked(session, assessment_id)
    if row.status == "published":
        raise Conflict(f"the assessment was already published at "
                       f"{row.published_at.isoformat()}")
    if row.status != "reviewed":
        raise Conflict("the assessment is a draft: the head reviews it before it is published")
    await session.execute(assessments.update()
                          .where(assessments.c.assessment_id == assessment_id)
                          .values(status="published", published_at=now,
                                  published_by=published_by))
    await assessing.publish_reviewed(session, await _locked(session, assessment_id), now=now)
    return await assessing.get_assessment(session, assessment_id)


def _check_own_published(row: Any, staff_member: UUID, doing: str) -> None:
    if row.staff_id != staff_member:
        raise Forbidden(f"you may {doing} only your own assessments")
    if row.status != "published":
        raise Conflict(f"the assessment is not published; there is nothing to {doing} yet")


async def acknowledge(session: AsyncSession, *, now: datetime, assessment_id: UUID,
                      staff_member: UUID, comment: str | None) -> dict:
    row = await _locked(session, assessment_id)
    _check_own_published(row, staff_member, "acknowledge")
    if row.acknowledged_at is not None:
        raise Conflict(f"already acknowledged at {row.acknowledged_at.isoformat()}")
    await session.execute(assessments.update()
                          .where(assessments.c.assessment_id == assessment_id)
                          .values(acknowledged_at=now, acknowledgement_comment=comment))
    return await assessing.get_assessment(session, assessment_id)


async def appeal(session: AsyncSession, *, now: datetime, assessment_id: UUID,
                 staff_member: UUID, grounds: str, window: timedelta) -> dict:
    row = await _locked(session, assessment_id)
    _check_own_published(row, staff_member, "appeal")
    closes = row.published_at + window
    if now > closes:
        raise Conflict(f"the appeal window closed at {closes.isoformat()} "
                       f"({window.days} days after publication)")
    existing = (await session.execute(select(assessment_appeals.c.status).where(
        assessment_appeals.c.assessment_id == assessment_id))).scalar()
    if existing is not None:
        raise Conflict(f"this assessment was already appealed (the appeal is {existing})")
    appeal_id = uuid4()
    await session.execute(assessment_appeals.insert().values(
        appeal_id=appeal_id, assessment_id=assessment_id, staff_id=staff_member,
        grounds=grounds, filed_at=now, status="open"))
    return await _appeal(session, appeal_id)


async def _appeal(session: AsyncSession, appeal_id: UUID, *, for_update: bool = False) -> Any:
    query = select(assessment_appeals).where(assessment_appeals.c.appeal_id == appeal_id)
    row = (await session.execute(query.with_for_update() if for_update else query)).first()
    if row is None:
        raise NotFound(f"no appeal {appeal_id}")
    return row if for_update else assessing.appeal_view(row)


async def decide_appeal(session: AsyncSession, *, now: datetime, appeal_id: UUID,
                        decided_by: UUID, outcome: str, reason: str) -> dict:
    """Upheld: the assessment goes back to draft, for the head to review again (an adjustment
    with its reason) and publish anew. Rejected: it stays as published."""
    found = await _appeal(session, appeal_id, for_update=True)
    if found.status != "open":
        raise Conflict(f"the appeal is already {found.status}")
    row = await _locked(session, found.assessment_id)
    if decided_by == row.reviewed_by:
        raise Forbidden("the reviewer of the assessment may not decide its appeal")
    if decided_by == row.staff_id:
        raise Forbidden("you may not decide your own appeal")
    await session.execute(assessment_appeals.update()
                          .where(assessment_appeals.c.appeal_id == appeal_id)
                          .values(status=outcome, decided_by=decided_by, decided_at=now,
                                  decision_reason=reason))
    if outcome == "upheld":
        await session.execute(assessments.update()
                              .where(assessments.c.assessment_id == row.assessment_id)
                              .values(status="draft"))
    return await _appeal(session, appeal_id)


async def list_appeals(session: AsyncSession, *, status: str | None,
                       staff_id: UUID | None) -> list[dict]:
    query = select(assessment_appeals).order_by(assessment_appeals.c.filed_at).limit(500)
    if status:
        query = query.where(assessment_appeals.c.status == status)
    if staff_id:
        query = query.where(assessment_appeals.c.staff_id == staff_id)
    return [assessing.appeal_view(r) for r in (await session.execute(query)).all()]


async def file_self_assessment(session: AsyncSession, *, now: datetime, staff_member: UUID,
                               period_start: date, period_end: date, text: str,
                               scores: list[dict]) -> dict:
    """R1 §5.3: the staff member's own view of a period, with a self-score (0–5) per KPI of
    the catalogue; once per period."""
    if period_end < period_start:
        raise Invalid("the period ends before it starts")
    await register.get(session, staff_member)
    codes = [s["code"] for s in scores]
    unknown = [c for c in codes if c not in rules.CATALOGUE]
    if unknown:
        raise Invalid(f"unknown KPI {unknown[0]!r}")
    if len(set(codes)) != len(codes):
        raise Invalid("a KPI is self-scored twice")
    existing = (await session.execute(select(self_assessments.c.self_assessment_id).where(
        self_assessments.c.staff_id == staff_member,
        self_assessments.c.period_start == period_start,
        self_assessments.c.period_end == period_end))).scalar()
    if existing is not None:
        raise Conflict(f"you already filed a self-assessment for this period ({existing})")
    self_assessment_id = uuid4()
    await session.execute(self_assessments.insert().values(
        self_assessment_id=self_assessment_id, staff_id=staff_member,
        period_start=period_start, period_end=period_end, text=text, scores=scores,
        filed_at=now))
    row = (await session.execute(select(self_assessments).where(
        self_assessments.c.self_assessment_id == self_assessment_id))).one()
    return assessing.self_assessment_view(row)


async def list_self_assessments(session: AsyncSession, *, staff_id: UUID | None) -> list[dict]:
    query = select(self_assessments).order_by(self_assessments.c.period_start.desc(),
                                              self_assessments.c.filed_at).limit(500)
    if staff_id:
        query = query.where(self_assessments.c.staff_id == staff_id)
    return [assessing.self_assessment_view(r) for r in (await session.execute(query)).all()]
