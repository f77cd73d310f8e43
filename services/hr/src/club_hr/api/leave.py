"""Leave requests and their decisions (R2 §6.1: only *unauthorised* late arrival and early
leave are violations; R2 §2.1–2.2: the head and the deputy run the department's people)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from club_platform.auth import Principal
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
    grace_of,
    now_of,
    read,
    supervisors,
)
from club_hr.domain.attendance import LEAVE_KINDS
from club_hr.services import leave

router = APIRouter(tags=["leave"])

LeaveKind = Literal[LEAVE_KINDS]  # type: ignore[valid-type]


class LeaveRequest(Body):
    kind: LeaveKind = Field(description="annual, sick or personal leave takes whole shifts "
                                        "off; late_start authorises arriving up to `ends_at`; "
                                        "early_leave authorises leaving from `starts_at`")
    starts_at: Moment
    ends_at: Moment
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    staff_id: UUID | None = Field(
        default=None, description="Someone else's leave, recorded by the head, the deputy "
                                  "or the HR admin (e.g. sick leave reported by phone)")


class LeaveDecision(Body):
    approve: bool
    note: Annotated[str | None, Field(max_length=500)] = None


@router.post("/leave", status_code=201, summary="Ask for leave (or record it for someone)")
async def request_leave(body: LeaveRequest, request: Request, key: IdempotencyKey = None,
                        principal: Principal = Depends(anyone_on_staff)):
    staff_id = body.staff_id or principal.id
    if staff_id != principal.id and principal.role not in MANAGING_ROLES:
        raise Forbidden("only the head, the deputy or the HR admin may ask for leave for "
                        "someone else")
    return await create(request, principal, key, body, lambda s: leave.request_leave(
        s, now=now_of(request), staff_id=staff_id, kind=body.kind, starts_at=body.starts_at,
        ends_at=body.ends_at, reason=body.reason, requested_by=principal.id))


@router.post("/leave/{leave_id}/decision", summary="Approve or decline leave (head, deputy)")
async def decide(leave_id: UUID, body: LeaveDecision, request: Request,
                 principal: Principal = Depends(supervisors)) -> dict:
    return await change(request, lambda s: leave.decide(
        s, now=now_of(request), leave_id=leave_id, approve=body.approve,
        decided_by=principal.id, note=body.note, grace=grace_of(request)))


@router.post("/leave/{leave_id}/cancellation",
             summary="Withdraw a request (its owner) or cancel leave (head, deputy)")
async def cancel(leave_id: UUID, request: Request,
                 principal: Principal = Depends(anyone_on_staff)) -> dict:
    found = await read(request, lambda s: leave.get(s, leave_id))
    if principal.role.value not in ("head", "deputy") and (
            found["staff_id"] != principal.id or found["status"] != "requested"):
        raise Forbidden("you may withdraw only your own request before it is decided")
    return await change(request, lambda s: leave.cancel(
        s, now=now_of(request), leave_id=leave_id, by=principal.id, grace=grace_of(request)))


@router.get("/leave", summary="Leave requests (staff see their own)")
async def list_leave(request: Request, staff_id: UUID | None = None,
                     status: Literal["requested", "approved", "declined", "cancelled"]
                     | None = None,
                     principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "leave")
    return await read(request, lambda s: leave.list_leave(s, staff_id=staff_id, status=status))
