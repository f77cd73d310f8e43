"""KPI catalogue, templates, facts and assessments (R2 §5; services/hr/README.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from club_platform.auth import Principal, Role, require_roles
from club_platform.errors import Forbidden
from club_platform.inputs import Day
from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, Field

from club_hr.api.common import (
    MANAGING_ROLES,
    Body,
    IdempotencyKey,
    anyone_on_staff,
    change,
    check_self_or_managing,
    create,
    grace_of,
    head,
    head_or_hr,
    hr_admin,
    now_of,
    read,
    settings_of,
)
from club_hr.domain import kpis as rules
from club_hr.domain.staff import StaffRole
from club_hr.services import assessment_review, assessments, kpis

router = APIRouter(tags=["assessments"])

assessors = require_roles(Role.HEAD, Role.HR_ADMIN)


class TemplateItemBody(Body):
    code: str = Field(description="A KPI of the catalogue (GET /kpis)")
    weight: int = Field(description="Whole percent; the weights of a template sum to 100")
    # Every KPI counts, averages or takes a share of something: never below zero, and never
    # past what a person can reach (a score from 10^100 only looks like one).
    target: Decimal = Field(ge=0, max_digits=12, decimal_places=2,
                            description="The value that scores 5")
    worst: Decimal = Field(ge=0, max_digits=12, decimal_places=2,
                           description="The value that scores 0")
    basis: rules.Basis = Field(
        default=rules.Basis.PERIOD,
        description="`period`: target and worst are the period's; `per_shift` (counts only): "
                    "they are per shift due, scaled by the shifts due in the period")
    min_sample: int = Field(default=0, ge=0, le=1000,
                            description="A mean or share on fewer observations is shown, "
                                        "not scored")


class TemplateBody(Body):
    items: list[TemplateItemBody]


class AssessmentRequest(Body):
    staff_id: UUID
    period_start: Day
    period_end: Day = Field(description="Inclusive; the period must be over")


@router.get("/kpis", summary="The KPIs the service can measure, with their direction")
async def catalogue(_: Principal = Depends(anyone_on_staff)) -> list[dict]:
    return [{"code": k.code, "direction": k.direction.value, "unit": k.unit,
             "description": k.description} for k in rules.CATALOGUE.values()]


@router.get("/kpi-templates", summary="Every version of the KPI templates")
async def list_templates(request: Request, role: StaffRole | None = None,
                         _: Principal = Depends(anyone_on_staff)) -> list[dict]:
    return await read(request, lambda s: kpis.list_templates(s, role))


@router.get("/kpi-templates/{role}/in-force",
            summary="The template a period starting on `on` is assessed with")
async def template_in_force(role: StaffRole, request: Request,
                            on: Annotated[Day | None, Query()] = None,
                            _: Principal = Depends(anyone_on_staff)) -> dict:
    day = on or now_of(request).astimezone(settings_of(request).club_zone).date()
    return await read(request, lambda s: kpis.template_in_force(s, role, day))


@router.put("/kpi-templates/{role}/{effective_from}",
            summary="Set a role's template from a future date on (R2 §5.1)")
async def put_template(role: StaffRole, effective_from: Day, body: TemplateBody,
                       request: Request, principal: Principal = Depends(hr_admin)) -> dict:
    items = [rules.TemplateItem(i.code, i.weight, i.target, i.worst, i.basis, i.min_sample)
             for i in body.items]
    return await change(request, lambda s: kpis.put_template(
        s, role=role, effective_from=effective_from, items=items,
        today=now_of(request).astimezone(settings_of(request).club_zone).date(),
        created_by=principal.id))


@router.get("/kpi-facts", summary="KPI facts, each naming the event (ce_id) it came from")
async def list_facts(request: Request, staff_id: UUID | None = None, kind: str | None = None,
                     since: Annotated[AwareDatetime | None, Query()] = None,
                     until: Annotated[AwareDatetime | None, Query()] = None,
                     principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "KPI facts")
    return await read(request, lambda s: kpis.list_facts(
        s, staff_id=staff_id, kind=kind, start=since, end=until))


@router.post("/assessments", status_code=201,
             summary="Assess a staff member over an ended period: a draft, for the head's "
                     "review (nothing is published yet)")
async def assess(body: AssessmentRequest, request: Request, key: IdempotencyKey = None,
                 principal: Principal = Depends(assessors)):
    return await create(request, principal, key, body, lambda s: assessments.compute_assessment(
        s, now=now_of(request), staff_id=body.staff_id, period_start=body.period_start,
        period_end=body.period_end, computed_by=principal.id, grace=grace_of(request),
        zone=settings_of(request).club_zone))


@router.get("/assessments", summary="Assessments (staff see their own, once published)")
async def list_assessments(request: Request, staff_id: UUID | None = None,
                           period_start: Day | None = None, period_end: Day | None = None,
                           status: Literal["draft", "reviewed", "published"] | None = None,
                           principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
        status = "published"  # a draft is the head's until published
    check_self_or_managing(principal, staff_id, "assessments")
    return await read(request, lambda s: assessments.list_assessments(
        s, staff_id=staff_id, period_start=period_start, period_end=period_end, status=status))


def _check_may_see(principal: Principal, found: dict) -> None:
    check_self_or_managing(principal, found["staff_id"], "assessments")
    if principal.role not in MANAGING_ROLES and found["status"] != "published":
        raise Forbidden("the assessment is not published yet")


class KpiAdjustmentBody(Body):
    code: str
    score: Decimal = Field(ge=0, le=5, max_digits=3, decimal_places=2,
                           description="The score that counts instead of the computed one")
    reason: Annotated[str, Field(min_length=1, max_length=1000,
                                 description="Why: kept beside the computed score")]


class ReviewBody(Body):
    adjustments: list[KpiAdjustmentBody] = Field(default_factory=list)
    total_score: Decimal | None = Field(
        default=None, ge=0, le=5, max_digits=3, decimal_places=2,
        description="The total that counts instead of the weighted mean of the scores")
    total_reason: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class AcknowledgeBody(Body):
    comment: Annotated[str, Field(max_length=2000)] | None = None


class AppealBody(Body):
    grounds: Annotated[str, Field(min_length=1, max_length=2000)]


class AppealDecisionBody(Body):
    outcome: Literal["upheld", "rejected"]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class SelfScore(Body):
    code: str = Field(description="A KPI of the catalogue (GET /kpis)")
    score: Decimal = Field(ge=0, le=5, max_digits=3, decimal_places=2)
    comment: Annotated[str, Field(max_length=1000)] | None = None


class SelfAssessmentBody(Body):
    period_start: Day
    period_end: Day
    text: Annotated[str, Field(min_length=1, max_length=5000)]
    scores: list[SelfScore] = Field(default_factory=list, max_length=50)


@router.post("/assessments/{assessment_id}/review",
             summary="Review a draft (head): adjust a KPI score or the total, each with its "
                     "written reason; the computed numbers stay")
async def review(assessment_id: UUID, body: ReviewBody, request: Request,
                 principal: Principal = Depends(head)) -> dict:
    return await change(request, lambda s: assessment_review.review(
        s, now=now_of(request), assessment_id=assessment_id, reviewer=principal.id,
        adjustments=[assessment_review.Adjustment(a.code, a.score, a.reason)
                     for a in body.adjustments],
        total=body.total_score, total_reason=body.total_reason, note=body.note))


@router.post("/assessments/{assessment_id}/publish",
             summary="Publish a reviewed assessment (head; publishes assessment.published)")
async def publish(assessment_id: UUID, request: Request,
                  principal: Principal = Depends(head)) -> dict:
    return await change(request, lambda s: assessment_review.publish(
        s, now=now_of(request), assessment_id=assessment_id, published_by=principal.id))


@router.post("/assessments/{assessment_id}/acknowledge",
             summary="Acknowledge your own published assessment, with a comment")
async def acknowledge(assessment_id: UUID, body: AcknowledgeBody, request: Request,
                      principal: Principal = Depends(anyone_on_staff)) -> dict:
    return await change(request, lambda s: assessment_review.acknowledge(
        s, now=now_of(request), assessment_id=assessment_id, staff_member=principal.id,
        comment=body.comment))


@router.post("/assessments/{assessment_id}/appeal", status_code=201,
             summary="Appeal your own published assessment within the appeal window")
async def appeal(assessment_id: UUID, body: AppealBody, request: Request,
                 key: IdempotencyKey = None, principal: Principal = Depends(anyone_on_staff)):
    window = timedelta(days=settings_of(request).assessment_appeal_window_days)
    return await create(request, principal, key, body, lambda s: assessment_review.appeal(
        s, now=now_of(request), assessment_id=assessment_id, staff_member=principal.id,
        grounds=body.grounds, window=window))


@router.get("/assessment-appeals", summary="Appeals against assessments (staff see their own)")
async def list_appeals(request: Request,
                       status: Literal["open", "upheld", "rejected"] | None = None,
                       staff_id: UUID | None = None,
                       principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "appeals")
    return await read(request, lambda s: assessment_review.list_appeals(
        s, status=status, staff_id=staff_id))


@router.post("/assessment-appeals/{appeal_id}/decide",
             summary="Decide an appeal (HR admin or a head other than the reviewer): upheld "
                     "sends the assessment back to review")
async def decide_appeal(appeal_id: UUID, body: AppealDecisionBody, request: Request,
                        principal: Principal = Depends(head_or_hr)) -> dict:
    return await change(request, lambda s: assessment_review.decide_appeal(
        s, now=now_of(request), appeal_id=appeal_id, decided_by=principal.id,
        outcome=body.outcome, reason=body.reason))


@router.post("/self-assessments", status_code=201,
             summary="File your own self-assessment for a period (R1 §5.3)")
async def file_self_assessment(body: SelfAssessmentBody, request: Request,
                               key: IdempotencyKey = None,
                               principal: Principal = Depends(anyone_on_staff)):
    return await create(request, principal, key, body,
                        lambda s: assessment_review.file_self_assessment(
                            s, now=now_of(request), staff_member=principal.id,
                            period_start=body.period_start, period_end=body.period_end,
                            text=body.text, scores=[
                                {"code": x.code, "score": float(x.score), "comment": x.comment}
                                for x in body.scores]))


@router.get("/self-assessments", summary="Self-assessments (staff see their own)")
async def list_self_assessments(request: Request, staff_id: UUID | None = None,
                                principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "self-assessments")
    return await read(request, lambda s: assessment_review.list_self_assessments(
        s, staff_id=staff_id))


@router.get("/assessments/{assessment_id}", summary="One assessment, each KPI with the ids "
            "of what it counted")
async def get_assessment(assessment_id: UUID, request: Request,
                         principal: Principal = Depends(anyone_on_staff)) -> dict:
    found = await read(request, lambda s: assessments.get_assessment(s, assessment_id))
    _check_may_see(principal, found)
    return found


@router.get("/assessments/{assessment_id}/evidence",
            summary="What each KPI counted: the events (ce_id, topic, time, value), shifts and "
                    "training attendances")
async def evidence(assessment_id: UUID, request: Request,
                   principal: Principal = Depends(anyone_on_staff)) -> dict:
    found = await read(request, lambda s: assessments.get_assessment(
        s, assessment_id, with_evidence=True))
    _check_may_see(principal, found)
    return found
