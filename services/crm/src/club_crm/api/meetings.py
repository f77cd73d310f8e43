"""Service meetings and improvement actions (R2 §9.1, R1 §5.3): the head or deputy schedules
a meeting for a period, its agenda shows the period's real figures, its minutes and attendance
are recorded, it is held (`meeting.held`), and the actions agreed at it have owners and due
dates (`improvement.action_assigned` / `improvement.action_completed`)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from club_platform.auth import Principal, Role, require_roles
from club_platform.inputs import Moment
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
from club_crm.services import meetings

router = APIRouter(tags=["meetings"])
# Everyone who may own an action may see and complete their own (an attendant too).
ACTION_OWNERS = (*CRM_ROLES, Role.ATTENDANT)


class ScheduleMeeting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_from: Moment = Field(description="The period the meeting reviews, from…")
    period_until: Moment = Field(description="…until (excluded).")
    scheduled_for: Moment = Field(description="When the meeting takes place.")
    attendee_ids: list[UUID] = Field(min_length=1, max_length=200,
                                     description="Staff ids from the staff directory.")


class Minutes(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: str = Field(min_length=1, max_length=20_000,
                         description="What was discussed (stays in CRM, encrypted).")
    attended_ids: list[UUID] = Field(min_length=1, max_length=200,
                                     description="Who attended (staff ids).")


class NewAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="What is to be done.")
    owner_id: UUID = Field(description="An active member of staff.")
    due_at: Moment
    complaint_ids: list[UUID] = Field(default_factory=list, max_length=100,
                                      description="The complaints it answers.")
    incident_ids: list[UUID] = Field(default_factory=list, max_length=100,
                                     description="The incidents it answers.")


class ActionDone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000, description="What was done.")


@router.post("/meetings", status_code=201, summary="Schedule a service meeting (R2 §9.1)")
async def schedule_meeting(body: ScheduleMeeting, request: Request,
                           principal: Principal = Depends(require_roles(*SUPERVISORS)),
                           idempotency_key: str | None = IDEMPOTENCY_KEY):
    now = now_of(request)
    return await once(
        request, principal, scope="meetings.schedule", key=idempotency_key,
        payload=body.model_dump(mode="json"),
        action=lambda s: meetings.schedule(
            s, principal, now, period_from=body.period_from, period_until=body.period_until,
            scheduled_for=body.scheduled_for, attendee_ids=body.attendee_ids))


@router.get("/meetings/{meeting_id}", summary="A meeting with its minutes and actions")
async def read_meeting(meeting_id: UUID, request: Request,
                       _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: meetings.read_meeting(s, settings.cipher, now,
                                                               meeting_id))


@router.get("/meetings/{meeting_id}/agenda",
            summary="The period's figures, counted now: CSAT, complaints, incidents, overdue "
                    "safety findings")
async def agenda(meeting_id: UUID, request: Request,
                 _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
    now = now_of(request)
    return await read(request, lambda s: meetings.agenda(s, now, meeting_id))


@router.put("/meetings/{meeting_id}/minutes", summary="Record the minutes and who attended")
async def record_minutes(meeting_id: UUID, body: Minutes, request: Request,
                         principal: Principal = Depends(require_roles(*SUPERVISORS))) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: meetings.record_minutes(
        s, settings.cipher, principal, now, meeting_id, minutes=body.minutes,
        attended_ids=body.attended_ids))


@router.post("/meetings/{meeting_id}/hold",
             summary="Hold the meeting (meeting.held, once; again answers the same)")
async def hold(meeting_id: UUID, request: Request,
               principal: Principal = Depends(require_roles(*SUPERVISORS))) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: meetings.hold(s, settings.cipher, principal, now,
                                                       meeting_id))


@router.post("/meetings/{meeting_id}/actions", status_code=201,
             summary="Agree an action with an owner and a due date "
                     "(improvement.action_assigned)")
async def add_action(meeting_id: UUID, body: NewAction, request: Request,
                     principal: Principal = Depends(require_roles(*SUPERVISORS)),
                     idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    return await once(
        request, principal, scope=f"meetings.action:{meeting_id}", key=idempotency_key,
        payload=body.model_dump(mode="json"),
        action=lambda s: meetings.add_action(
            s, settings.cipher, principal, now, meeting_id, text=body.text,
            owner_id=body.owner_id, due_at=body.due_at, complaint_ids=body.complaint_ids,
            incident_ids=body.incident_ids))


@router.get("/actions", summary="Improvement actions: open, overdue or done, by owner "
                                "(an attendant sees their own)")
async def list_actions(request: Request,
                       state: Literal["open", "overdue", "done"] | None = None,
                       owner: UUID | None = None,
                       limit: int = Query(default=200, ge=1, le=1000),
                       principal: Principal = Depends(require_roles(*ACTION_OWNERS))
                       ) -> list[dict]:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: meetings.list_actions(
        s, settings.cipher, principal, now, state=state, owner=owner, limit=limit))


@router.post("/actions/{action_id}/complete",
             summary="Complete an action with a note (improvement.action_completed, on_time)")
async def complete_action(action_id: UUID, body: ActionDone, request: Request,
                          principal: Principal = Depends(require_roles(*ACTION_OWNERS))
                          ) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: meetings.complete_action(
        s, settings.cipher, principal, now, action_id, note=body.note))
