"""The gift register (R2 §6.3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from club_platform.auth import Principal, Role
from club_platform.errors import Forbidden
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
    now_of,
    read,
    settings_of,
    supervisors,
)
from club_hr.domain.gifts import Disposition
from club_hr.services import gifts

router = APIRouter(prefix="/gifts", tags=["gifts"])


class Value(Body):
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class Declaration(Body):
    description: Annotated[str, Field(min_length=1, max_length=1000)]
    received_at: Moment
    disposition: Disposition
    estimated_value: Value | None = None
    customer_id: UUID | None = None
    staff_id: UUID | None = Field(default=None,
                                  description="Declared by the HR admin for someone")


class GiftDecision(Body):
    approved: bool
    note: Annotated[str, Field(min_length=1, max_length=1000)]


@router.post("", status_code=201, summary="Declare a gift offered by a customer")
async def declare(body: Declaration, request: Request, key: IdempotencyKey = None,
                  principal: Principal = Depends(anyone_on_staff)):
    staff_id = body.staff_id or principal.id
    if staff_id != principal.id and principal.role is not Role.HR_ADMIN:
        raise Forbidden("you declare your own gifts; the HR admin may declare for someone")
    value = body.estimated_value
    currency = (value.currency if value else None) or settings_of(request).currency
    return await create(request, principal, key, body, lambda s: gifts.declare(
        s, now=now_of(request), staff_id=staff_id, declared_by=principal.id,
        customer_id=body.customer_id, description=body.description,
        value=value.amount if value else None, currency=currency,
        received_at=body.received_at, disposition=body.disposition))


@router.get("", summary="The register (staff see their own)")
async def list_gifts(request: Request, staff_id: UUID | None = None,
                     status: Literal["recorded", "pending_approval", "approved",
                                     "rejected"] | None = None,
                     principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "gifts")
    return await read(request, lambda s: gifts.list_gifts(s, staff_id=staff_id, status=status))


@router.get("/{gift_id}", summary="One declaration")
async def get_gift(gift_id: UUID, request: Request,
                   principal: Principal = Depends(anyone_on_staff)) -> dict:
    found = await read(request, lambda s: gifts.get_gift(s, gift_id))
    check_self_or_managing(principal, found["staff_id"], "gifts")
    return found


@router.post("/{gift_id}/decision",
             summary="Approve keeping an accepted gift, or have it handed over (head, deputy)")
async def decide(gift_id: UUID, body: GiftDecision, request: Request,
                 principal: Principal = Depends(supervisors)) -> dict:
    return await change(request, lambda s: gifts.decide(
        s, now=now_of(request), gift_id=gift_id, decided_by=principal.id,
        approved=body.approved, note=body.note))
