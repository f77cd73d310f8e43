"""Staff register endpoints (R1 §2, R2 §2)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from club_platform.auth import Principal
from club_platform.inputs import Day, Moment
from fastapi import APIRouter, Depends, Request
from pydantic import Field

from club_hr.api.common import (
    Body,
    IdempotencyKey,
    anyone_on_staff,
    change,
    check_self_or_managing,
    create,
    head_or_hr,
    hr_admin,
    managers,
    now_of,
    read,
)
from club_hr.domain.offboarding import ChecklistItem, Reason
from club_hr.domain.staff import StaffRole, StaffStatus
from club_hr.services import offboarding
from club_hr.services import staff as register

router = APIRouter(prefix="/staff", tags=["staff"])

Text = Annotated[str, Field(min_length=1, max_length=500)]


class Hire(Body):
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    role: StaffRole
    department: Annotated[str, Field(min_length=1, max_length=120)] = "service"
    hired_at: Moment | None = None
    staff_id: UUID | None = Field(
        default=None, description="An id the person already has in the club's other systems")


class RoleChange(Body):
    role: StaffRole


class Suspension(Body):
    reason: Text
    until: Moment | None = Field(default=None, description="Open-ended when left out")


class Reinstatement(Body):
    reason: Text


@router.post("", status_code=201, summary="Hire: put a staff member on the register")
async def hire(body: Hire, request: Request, key: IdempotencyKey = None,
               principal: Principal = Depends(hr_admin)):
    return await create(request, principal, key, body, lambda s: register.hire(
        s, now=now_of(request), display_name=body.display_name, role=body.role,
        department=body.department, hired_at=body.hired_at, staff_id=body.staff_id))


@router.get("", summary="The register")
async def list_staff(request: Request, role: StaffRole | None = None,
                     status: StaffStatus | None = None,
                     _: Principal = Depends(managers)) -> list[dict]:
    return await read(request, lambda s: register.list_staff(s, role=role, status=status))


@router.get("/{staff_id}", summary="One staff member (staff see themselves)")
async def get_staff(staff_id: UUID, request: Request,
                    principal: Principal = Depends(anyone_on_staff)) -> dict:
    check_self_or_managing(principal, staff_id, "record")

    async def load(session) -> dict:
        return register.staff_view(await register.get(session, staff_id))

    return await read(request, load)


@router.post("/{staff_id}/role", summary="Change role (publishes staff.changed)")
async def change_role(staff_id: UUID, body: RoleChange, request: Request,
                      _: Principal = Depends(hr_admin)) -> dict:
    return await change(request, lambda s: register.change_role(
        s, now=now_of(request), staff_id=staff_id, role=body.role))


@router.post("/{staff_id}/suspension", summary="Suspend from work (R2 §8.2)")
async def suspend(staff_id: UUID, body: Suspension, request: Request,
                  _: Principal = Depends(head_or_hr)) -> dict:
    return await change(request, lambda s: register.suspend(
        s, now=now_of(request), staff_id=staff_id, until=body.until, reason=body.reason))


@router.post("/{staff_id}/reinstatement", summary="End a suspension")
async def reinstate(staff_id: UUID, body: Reinstatement, request: Request,
                    _: Principal = Depends(head_or_hr)) -> dict:
    return await change(request, lambda s: register.reinstate(
        s, now=now_of(request), staff_id=staff_id, reason=body.reason))


# ---------------------------------------------------------------- offboarding (R1 §6.3)


class OffboardingStart(Body):
    reason: Reason
    last_day: Day


class Evidence(Body):
    evidence: Annotated[str, Field(min_length=3, max_length=2000,
                                   description="Who checked what: a receipt, a record number")]


@router.post("/{staff_id}/offboarding", status_code=201,
             summary="Start offboarding: the R1 §6.3 checklist")
async def start_offboarding(staff_id: UUID, body: OffboardingStart, request: Request,
                            key: IdempotencyKey = None,
                            principal: Principal = Depends(head_or_hr)):
    return await create(request, principal, key, body, lambda s: offboarding.start(
        s, now=now_of(request), staff_id=staff_id, reason=body.reason,
        last_day=body.last_day, started_by=principal.id))


@router.get("/{staff_id}/offboarding", summary="The checklist and its evidence")
async def get_offboarding(staff_id: UUID, request: Request,
                          principal: Principal = Depends(anyone_on_staff)) -> dict:
    check_self_or_managing(principal, staff_id, "offboarding")
    return await read(request, lambda s: offboarding.get_offboarding(s, staff_id))


@router.put("/{staff_id}/offboarding/items/{item}", summary="Tick an item, with evidence")
async def check_item(staff_id: UUID, item: ChecklistItem, body: Evidence, request: Request,
                     principal: Principal = Depends(hr_admin)) -> dict:
    return await change(request, lambda s: offboarding.check_item(
        s, now=now_of(request), staff_id=staff_id, item=item, evidence=body.evidence,
        done_by=principal.id))


@router.post("/{staff_id}/offboarding/completion",
             summary="Complete offboarding (publishes staff.offboarded)")
async def complete_offboarding(staff_id: UUID, request: Request,
                               principal: Principal = Depends(hr_admin)) -> dict:
    return await change(request, lambda s: offboarding.complete(
        s, now=now_of(request), staff_id=staff_id, completed_by=principal.id))
