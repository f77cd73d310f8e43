"""Complaints (R2 §3.3–3.4): open, work, coordinate, resolve, close, reopen, escalate."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID

from club_contracts.catalogue import ComplaintCategory, ComplaintChannel
from club_contracts.catalogue_v2 import ResolutionCode
from club_platform.auth import Principal, Role, require_roles
from club_platform.inputs import Moment
from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from club_crm.api.common import (
    CRM_ROLES,
    IDEMPOTENCY_KEY,
    SUPERVISORS,
    now_of,
    once,
    purpose_for,
    read,
    settings_of,
)
from club_crm.domain.complaints import CompensationKind, CompensationPlan, State
from club_crm.domain.customers import PII_WRITERS
from club_crm.services import complaints

router = APIRouter(prefix="/complaints", tags=["complaints"])


class OpenComplaint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: UUID | None = Field(default=None, description="Members may leave it out.")
    visit_id: UUID | None = None
    subject_staff_ids: list[UUID] = Field(default_factory=list, max_length=20,
                                          description="The staff members it concerns.")
    category: ComplaintCategory
    severity: Literal["low", "medium", "high"]
    channel: ComplaintChannel
    description: str = Field(min_length=1, max_length=4000,
                             description="What happened, in the customer's words (encrypted).")


class CompensationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: CompensationKind
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class ResolveComplaint(BaseModel):
    """Every part is checked by the rule (R2 §3.4) so a missing one gets a sentence saying so."""

    model_config = ConfigDict(extra="forbid")

    explanation: str | None = Field(default=None, max_length=2000,
                                    description="The explanation given to the customer.")
    compensation: CompensationIn | None = None
    upheld: bool | None = None
    resolution_code: ResolutionCode | None = Field(
        default=None, description="What the resolution was, as the code published in "
        "complaint.resolved v2 (the explanation itself stays in CRM). Left out: compensated "
        "when there is compensation, else apologised when upheld, else explained.")


class NewTask(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str = Field(min_length=1, max_length=120)
    description: str = Field(min_length=1, max_length=2000)
    due_at: Moment | None = None


class TaskDone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=2000)


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: UUID


@router.post("", status_code=201, summary="Open a complaint (complaint.opened)")
async def open_complaint(body: OpenComplaint, request: Request,
                         principal: Principal = Depends(require_roles(*PII_WRITERS, Role.MEMBER)),
                         idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    return await once(
        request, principal, scope="complaints.open", key=idempotency_key,
        payload=body.model_dump(),
        action=lambda s: complaints.open_complaint(
            s, settings.cipher, principal, now, customer_id=body.customer_id,
            visit_id=body.visit_id, subject_staff_ids=body.subject_staff_ids,
            category=body.category, severity=body.severity, channel=body.channel,
            description=body.description))


@router.get("", summary="Complaints (no personal data): filter by state, owner, escalation")
async def list_complaints(
    request: Request,
    state: State | None = None,
    assigned_to: UUID | None = None,
    customer_id: UUID | None = None,
    escalated_to: Literal["deputy", "head"] | None = None,
    in_breach: bool = Query(default=False, description="Only active complaints past a deadline."),
    limit: int = Query(default=200, ge=1, le=1000),
    principal: Principal = Depends(require_roles(*CRM_ROLES, Role.MEMBER)),
) -> list[dict]:
    if principal.role is Role.MEMBER:
        customer_id = principal.id  # members see only their own (docs/authorization.md)
    now = now_of(request)
    return await read(request, lambda s: complaints.list_complaints(
        s, now, state=state.value if state else None, assigned_to=assigned_to,
        customer_id=customer_id, escalated_to=escalated_to, in_breach=in_breach, limit=limit))


@router.get("/{complaint_id}",
            summary="A complaint with its description, tasks and history (audited; purpose)")
async def read_complaint(complaint_id: UUID, request: Request,
                         x_access_purpose: str | None = Header(default=None),
                         purpose: str | None = Query(default=None),
                         principal: Principal = Depends(require_roles(*CRM_ROLES, Role.MEMBER))
                         ) -> dict:
    stated = purpose_for(principal, x_access_purpose or purpose)
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: complaints.read_complaint(
        s, settings.cipher, principal, now, complaint_id, stated))


def _step(action: str):
    async def step(complaint_id: UUID, request: Request,
                   principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
        now = now_of(request)
        use_case = getattr(complaints, action)
        return await read(request, lambda s: use_case(s, principal, now, complaint_id))

    return step


router.add_api_route("/{complaint_id}/acknowledge", _step("acknowledge"), methods=["POST"],
                     summary="First response to the customer (stops the first-response clock)")
router.add_api_route("/{complaint_id}/start", _step("start_work"), methods=["POST"],
                     summary="Work on it (acknowledged → in progress)")
router.add_api_route("/{complaint_id}/close", _step("close"), methods=["POST"],
                     summary="Close a resolved complaint")
router.add_api_route("/{complaint_id}/reopen", _step("reopen"), methods=["POST"],
                     summary="Reopen a resolved or closed complaint (fresh resolution window)")
router.add_api_route("/{complaint_id}/escalate", _step("escalate_manually"), methods=["POST"],
                     summary="Escalate to the next rung by hand (complaint.escalated, manual)")


@router.post("/{complaint_id}/assign", summary="Give the complaint to someone (head, deputy)")
async def assign(complaint_id: UUID, body: Assignment, request: Request,
                 principal: Principal = Depends(require_roles(*SUPERVISORS))) -> dict:
    now = now_of(request)
    return await read(request, lambda s: complaints.assign(s, principal, now, complaint_id,
                                                           body.staff_id))


@router.post("/{complaint_id}/tasks", status_code=201,
             summary="Record a coordination task with another department (R2 §3.3)")
async def add_task(complaint_id: UUID, body: NewTask, request: Request,
                   principal: Principal = Depends(require_roles(*CRM_ROLES)),
                   idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    return await once(
        request, principal, scope=f"complaints.task:{complaint_id}", key=idempotency_key,
        payload=body.model_dump(),
        action=lambda s: complaints.add_task(s, settings.cipher, principal, now, complaint_id,
                                             department=body.department,
                                             description=body.description, due_at=body.due_at))


@router.post("/{complaint_id}/tasks/{task_id}/complete", summary="Record what the department did")
async def complete_task(complaint_id: UUID, task_id: UUID, body: TaskDone, request: Request,
                        principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: complaints.complete_task(
        s, settings.cipher, principal, now, complaint_id, task_id, body.outcome))


@router.post("/{complaint_id}/resolve",
             summary="Resolve with explanation, compensation plan and upheld (complaint.resolved)")
async def resolve(complaint_id: UUID, body: ResolveComplaint, request: Request,
                  principal: Principal = Depends(require_roles(*CRM_ROLES)),
                  idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    plan = None if body.compensation is None else CompensationPlan(
        body.compensation.kind, body.compensation.amount, body.compensation.currency)
    return await once(
        request, principal, scope=f"complaints.resolve:{complaint_id}", key=idempotency_key,
        payload=body.model_dump(), status_code=200,
        action=lambda s: complaints.resolve(
            s, settings.cipher, principal, now, complaint_id, explanation=body.explanation,
            compensation=plan, upheld=body.upheld, resolution_code=body.resolution_code,
            followup_delay=settings.post_complaint_followup_delay))
