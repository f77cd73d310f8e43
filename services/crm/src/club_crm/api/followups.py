"""Follow-up calls (R1 §3.5, §5.4): queues, the overdue list, outcomes (followup.completed)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from club_platform.auth import Principal, require_roles
from club_platform.errors import Forbidden
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from club_crm.api.common import (
    CRM_ROLES,
    IDEMPOTENCY_KEY,
    SUPERVISORS,
    now_of,
    once,
    read,
    settings_of,
)
from club_crm.domain.followups import FollowupState, Outcome
from club_crm.services import customers, followups, staff

router = APIRouter(prefix="/followups", tags=["follow-ups"])


class CompleteFollowup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: str | None = Field(default=None, max_length=4000,
                             description="What the customer said; kept as an encrypted "
                                         "customer note, never on the bus.")


class Assignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    staff_id: UUID


@router.get("/queue", summary="A specialist's open calls, soonest first")
async def queue(request: Request, staff_id: UUID | None = Query(
                    default=None, description="Head and deputy: whose queue (default: yours)."),
                principal: Principal = Depends(require_roles(*CRM_ROLES))) -> list[dict]:
    if staff_id is not None and staff_id != principal.id and principal.role not in SUPERVISORS:
        raise Forbidden("a specialist sees their own queue; the head and deputy see anyone's")
    now = now_of(request)
    return await read(request, lambda s: followups.list_followups(
        s, now, assigned_to=staff_id or principal.id, state=FollowupState.OPEN.value))


@router.get("/overdue", summary="Open calls past their due time, for everyone")
async def overdue(request: Request,
                  _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> list[dict]:
    now = now_of(request)
    return await read(request, lambda s: followups.list_followups(s, now, overdue=True))


@router.get("", summary="Follow-ups by visit, complaint, customer, owner or state")
async def list_followups(
    request: Request,
    visit_id: UUID | None = None, complaint_id: UUID | None = None,
    customer_id: UUID | None = None, assigned_to: UUID | None = None,
    state: Literal["open", "completed", "cancelled"] | None = None,
    unassigned: bool = False,
    limit: int = Query(default=200, ge=1, le=1000),
    _principal: Principal = Depends(require_roles(*CRM_ROLES)),
) -> list[dict]:
    now = now_of(request)
    return await read(request, lambda s: followups.list_followups(
        s, now, visit_id=visit_id, complaint_id=complaint_id, customer_id=customer_id,
        assigned_to=assigned_to, state=state, unassigned=unassigned, limit=limit))


@router.get("/team", summary="Active CRM specialists and their open work (assignment fairness)")
async def team(request: Request,
               _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> list[dict]:
    return await read(request, staff.crm_team)


@router.get("/{followup_id}", summary="One follow-up")
async def one(followup_id: UUID, request: Request,
              _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
    now = now_of(request)
    return await read(request, lambda s: followups.read_followup(s, followup_id, now))


@router.post("/{followup_id}/complete", summary="Record the call's outcome (followup.completed)")
async def complete(followup_id: UUID, body: CompleteFollowup, request: Request,
                   principal: Principal = Depends(require_roles(*CRM_ROLES)),
                   idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)

    async def action(session):
        done = await followups.complete_followup(session, principal, now, followup_id,
                                                 body.outcome)
        if body.note and body.note.strip():
            await customers.add_note(session, settings.cipher, principal, now,
                                     done["customer_id"], body.note, followup_id=followup_id)
        return done

    return await once(request, principal, scope=f"followups.complete:{followup_id}",
                      key=idempotency_key, payload=body.model_dump(), status_code=200,
                      action=action)


@router.post("/{followup_id}/assign", summary="Move a call to someone else (head, deputy)")
async def assign(followup_id: UUID, body: Assignment, request: Request,
                 _principal: Principal = Depends(require_roles(*SUPERVISORS))) -> dict:
    now = now_of(request)
    return await read(request, lambda s: followups.assign_followup(s, now, followup_id,
                                                                   body.staff_id))
