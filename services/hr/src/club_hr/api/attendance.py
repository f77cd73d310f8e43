"""Shifts and attendance endpoints (R2 §6.1)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from club_platform.auth import Principal, Role
from club_platform.errors import Forbidden, Invalid
from club_platform.inputs import Moment
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
    managers,
    now_of,
    read,
)
from club_hr.services import attendance

router = APIRouter(tags=["attendance"])

From = Annotated[AwareDatetime | None, Query(description="From this time (inclusive)")]
Until = Annotated[AwareDatetime | None, Query(description="Until this time (exclusive)")]


class ShiftRequest(Body):
    staff_id: UUID
    starts_at: Moment
    ends_at: Moment


class ClockingRequest(Body):
    direction: Literal["in", "out"]
    staff_id: UUID | None = Field(
        default=None, description="Someone else's clocking, recorded by a supervisor")
    at: Moment | None = Field(
        default=None, description="Only when recording for someone else; yours is now")


@router.post("/shifts", status_code=201, summary="Schedule a shift")
async def schedule_shift(body: ShiftRequest, request: Request, key: IdempotencyKey = None,
                         principal: Principal = Depends(managers)):
    return await create(request, principal, key, body, lambda s: attendance.schedule_shift(
        s, now=now_of(request), staff_id=body.staff_id, starts_at=body.starts_at,
        ends_at=body.ends_at, created_by=principal.id, grace=grace_of(request)))


@router.get("/shifts", summary="Shifts, each with its attendance verdict")
async def list_shifts(request: Request, staff_id: UUID | None = None, since: From = None,
                      until: Until = None,
                      principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "shifts")
    return await read(request, lambda s: attendance.list_shifts(
        s, staff_id=staff_id, start=since, end=until, grace=grace_of(request)))


@router.get("/shifts/{shift_id}", summary="One shift with its attendance verdict")
async def get_shift(shift_id: UUID, request: Request,
                    principal: Principal = Depends(anyone_on_staff)) -> dict:
    shift = await read(request, lambda s: attendance.get_shift(s, shift_id, grace_of(request)))
    check_self_or_managing(principal, shift["staff_id"], "shifts")
    return shift


@router.post("/shifts/{shift_id}/cancellation", summary="Cancel a shift")
async def cancel_shift(shift_id: UUID, request: Request,
                       principal: Principal = Depends(managers)) -> dict:
    return await change(request, lambda s: attendance.cancel_shift(
        s, now=now_of(request), shift_id=shift_id, grace=grace_of(request),
        cancelled_by=principal.id))


@router.post("/attendance/clockings", status_code=201,
             summary="Clock in or out (yourself, now; or a supervisor for someone)")
async def clock(body: ClockingRequest, request: Request, key: IdempotencyKey = None,
                principal: Principal = Depends(anyone_on_staff)):
    now = now_of(request)
    if body.staff_id is None or body.staff_id == principal.id:
        if body.at is not None:
            raise Invalid("you clock yourself at the current time; a supervisor records "
                          "a past clocking for you")
        return await create(request, principal, key, body, lambda s: attendance.clock_myself(
            s, now=now, staff_id=principal.id, direction=body.direction,
            grace=grace_of(request)))
    if principal.role not in (Role.HEAD, Role.DEPUTY, Role.HR_ADMIN):
        raise Forbidden("only the head, the deputy or the HR admin may record someone else's "
                        "clocking")
    return await create(request, principal, key, body, lambda s: attendance.record_for(
        s, now=now, staff_id=body.staff_id, direction=body.direction, at=body.at or now,
        recorded_by=principal.id, grace=grace_of(request)))


@router.get("/attendance/clockings", summary="Clock-ins and -outs")
async def list_clockings(request: Request, staff_id: UUID | None = None, since: From = None,
                         until: Until = None,
                         principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "clockings")
    return await read(request, lambda s: attendance.list_clockings(
        s, staff_id=staff_id, start=since, end=until))


@router.get("/attendance/violations",
            summary="Late arrivals, early leaves and absences (R2 §6.1)")
async def list_violations(request: Request, staff_id: UUID | None = None,
                          status: Literal["active", "withdrawn"] | None = None,
                          principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "violations")
    return await read(request, lambda s: attendance.list_violations(
        s, staff_id=staff_id, status=status))
