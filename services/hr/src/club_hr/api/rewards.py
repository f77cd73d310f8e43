"""Rewards (R1 §7.1, R2 §5.2–5.3): proposals from outstanding assessments; the head grants."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from club_contracts.catalogue_v2 import RewardReasonCode
from club_platform.auth import Principal
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
    managers,
    now_of,
    read,
    settings_of,
)
from club_hr.domain.rewards import RewardKind
from club_hr.domain.staff import StaffRole
from club_hr.services import rewards

router = APIRouter(tags=["rewards"])


class Bonus(Body):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class Grant(Body):
    staff_id: UUID
    kind: RewardKind
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    reason_code: RewardReasonCode | None = Field(
        default=None, description="The code published in reward.granted v2 (the reason itself "
        "stays in HR). Left out: outstanding_assessment with a proposal, else other.")
    proposal_id: UUID | None = Field(default=None, description="The proposal it answers")
    bonus: Bonus | None = Field(default=None, description="For a bonus (R2 §5.3)")
    new_role: StaffRole | None = Field(default=None, description="For a promotion")
    training_session_id: UUID | None = Field(
        default=None, description="For a training opportunity (R2 §5.3): the session, still "
        "to come, it is a place on. Published in reward.granted as a commendation")


@router.post("/rewards", status_code=201,
             summary="Grant a commendation, bonus, promotion or training opportunity (head; "
                     "publishes reward.granted)")
async def grant(body: Grant, request: Request, key: IdempotencyKey = None,
                principal: Principal = Depends(head)):
    currency = (body.bonus.currency if body.bonus else None) or settings_of(request).currency
    return await create(request, principal, key, body, lambda s: rewards.grant(
        s, now=now_of(request), granted_by=principal.id, staff_id=body.staff_id,
        kind=body.kind, reason=body.reason, proposal_id=body.proposal_id,
        bonus=body.bonus.amount if body.bonus else None, currency=currency,
        new_role=body.new_role, reason_code=body.reason_code,
        training_session_id=body.training_session_id))


@router.get("/rewards", summary="Rewards granted (staff see their own)")
async def list_rewards(request: Request, staff_id: UUID | None = None,
                       principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "rewards")
    return await read(request, lambda s: rewards.list_rewards(s, staff_id=staff_id))


@router.get("/reward-proposals", summary="Rewards proposed by outstanding assessments")
async def list_proposals(request: Request,
                         status: Literal["proposed", "granted", "declined"] | None = None,
                         staff_id: UUID | None = None,
                         _: Principal = Depends(managers)) -> list[dict]:
    return await read(request, lambda s: rewards.list_proposals(s, status=status,
                                                                 staff_id=staff_id))


@router.post("/reward-proposals/{proposal_id}/decline", summary="Decline a proposal (head)")
async def decline(proposal_id: UUID, request: Request,
                  principal: Principal = Depends(head)) -> dict:
    return await change(request, lambda s: rewards.decline(
        s, now=now_of(request), proposal_id=proposal_id, declined_by=principal.id))
