"""Discipline endpoints: the rule catalogue, cases, decisions and appeals (R1 §7.2, R2 §6, §8)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from club_platform.auth import Principal
from club_platform.inputs import Moment
from fastapi import APIRouter, Depends, Request
from pydantic import Field

from club_hr.api.common import (
    MANAGING_ROLES,
    Body,
    IdempotencyKey,
    anyone_on_staff,
    change,
    check_self_or_managing,
    create,
    head,
    hr_admin,
    managers,
    now_of,
    read,
    settings_of,
    supervisors,
)
from club_hr.domain import discipline as rules
from club_hr.domain.discipline import Action, AppealOutcome, Severity
from club_hr.services import discipline

router = APIRouter(prefix="/discipline", tags=["discipline"])

Text = Annotated[str, Field(min_length=1, max_length=2000)]


class RuleBody(Body):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    rule_ref: Annotated[str, Field(description="The clause, e.g. 'R2 §6.1'")]
    severity: Severity
    window_days: int = Field(description="Prior cases within this many days climb the ladder")
    ladder: list[Action]
    fine: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2,
                                 description="The usual fine")  # as the numeric(14, 2) column
    suspension_days: int | None = Field(default=None, description="The usual suspension")
    active: bool = True


class CaseRequest(Body):
    staff_id: UUID
    violation: str = Field(description="A rule code of the catalogue (GET /discipline/rules)")
    occurred_at: Moment
    description: Text


class Fine(Body):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class Decision(Body):
    action: Action
    fine: Fine | None = Field(default=None, description="Default: the rule's usual fine")
    suspension_days: int | None = Field(default=None, ge=1, le=365)
    reason: str | None = Field(default=None, max_length=2000,
                               description="Required when deciding other than the proposal")


class Dismissal(Body):
    reason: Text


class Appeal(Body):
    grounds: Text


class AppealDecision(Body):
    outcome: AppealOutcome
    action: Action | None = Field(default=None, description="The reduced action")
    fine: Fine | None = None
    suspension_days: int | None = Field(default=None, ge=1, le=365)
    reason: Text


@router.get("/rules", summary="The rule catalogue: violation → clause, severity, ladder")
async def list_rules(request: Request, _: Principal = Depends(anyone_on_staff)) -> list[dict]:
    return await read(request, discipline.list_rules)


@router.put("/rules/{code}", summary="Add or change a rule (HR admin)")
async def put_rule(code: str, body: RuleBody, request: Request,
                   principal: Principal = Depends(hr_admin)) -> dict:
    rule = rules.Rule(code, body.title, body.rule_ref, body.severity, body.window_days,
                      tuple(body.ladder), body.fine, body.suspension_days, body.active)
    return await change(request, lambda s: discipline.put_rule(
        s, rule=rule, updated_by=principal.id, now=now_of(request)))


@router.post("/cases", status_code=201, summary="Open a case by hand")
async def open_case(body: CaseRequest, request: Request, key: IdempotencyKey = None,
                    principal: Principal = Depends(managers)):
    return await create(request, principal, key, body, lambda s: discipline.open_case_by_hand(
        s, now=now_of(request), staff_id=body.staff_id, violation=body.violation,
        occurred_at=body.occurred_at, description=body.description, opened_by=principal.id))


@router.get("/cases", summary="Cases (staff see their own); open ones with the ladder's proposal")
async def list_cases(request: Request, staff_id: UUID | None = None,
                     status: Literal["open", "decided", "dismissed", "withdrawn", "appealed",
                                     "overturned"] | None = None,
                     violation: str | None = None,
                     principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "cases")
    return await read(request, lambda s: discipline.list_cases(
        s, staff_id=staff_id, status=status, violation=violation))


@router.get("/cases/{case_id}", summary="One case")
async def get_case(case_id: UUID, request: Request,
                   principal: Principal = Depends(anyone_on_staff)) -> dict:
    found = await read(request, lambda s: discipline.get_case(s, case_id))
    check_self_or_managing(principal, found["staff_id"], "cases")
    return found


@router.post("/cases/{case_id}/decision",
             summary="Decide the action (head or deputy; termination: head only)")
async def decide(case_id: UUID, body: Decision, request: Request, key: IdempotencyKey = None,
                 principal: Principal = Depends(supervisors)):
    currency = (body.fine.currency if body.fine else None) or settings_of(request).currency
    return await create(request, principal, key, body, lambda s: discipline.decide(
        s, now=now_of(request), case_id=case_id, principal=principal, action=body.action,
        fine=body.fine.amount if body.fine else None, currency=currency,
        suspension_days=body.suspension_days, reason=body.reason), status_code=200)


@router.post("/cases/{case_id}/dismissal", summary="No violation: close without an action")
async def dismiss(case_id: UUID, body: Dismissal, request: Request,
                  principal: Principal = Depends(supervisors)) -> dict:
    return await change(request, lambda s: discipline.dismiss(
        s, now=now_of(request), case_id=case_id, principal=principal, reason=body.reason))


@router.post("/cases/{case_id}/appeal", summary="Appeal a decision (the staff member concerned)")
async def appeal(case_id: UUID, body: Appeal, request: Request,
                 principal: Principal = Depends(anyone_on_staff)) -> dict:
    return await change(request, lambda s: discipline.appeal(
        s, now=now_of(request), case_id=case_id, principal=principal, grounds=body.grounds,
        window_days=settings_of(request).appeal_window_days))


@router.post("/cases/{case_id}/appeal/decision",
             summary="Decide an appeal: upheld, reduced or overturned (head)")
async def decide_appeal(case_id: UUID, body: AppealDecision, request: Request,
                        principal: Principal = Depends(head)) -> dict:
    currency = (body.fine.currency if body.fine else None) or settings_of(request).currency
    return await change(request, lambda s: discipline.decide_appeal(
        s, now=now_of(request), case_id=case_id, principal=principal, outcome=body.outcome,
        action=body.action, fine=body.fine.amount if body.fine else None, currency=currency,
        suspension_days=body.suspension_days, reason=body.reason))
