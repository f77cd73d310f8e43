"""Training (R2 §4.2–4.3) and policy revisions (R1 §9.2) endpoints."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from club_platform.auth import Principal, Role, require_roles
from club_platform.inputs import Moment
from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from club_hr.api.common import (
    MANAGING_ROLES,
    Body,
    IdempotencyKey,
    anyone_on_staff,
    change,
    check_self_or_managing,
    create,
    managers,
    now_of,
    read,
)
from club_hr.domain.staff import StaffRole
from club_hr.services import policies, training

router = APIRouter(tags=["training and policies"])

# R1 §9.1: the company writes and revises the rules: here the head and the HR admin.
policy_makers = require_roles(Role.HEAD, Role.HR_ADMIN)

Title = Annotated[str, Field(min_length=1, max_length=200)]


class SkillRaise(Body):
    skill: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,47}$",
                                description="A skill of the matrix (GET /skills)")]
    raise_by: Annotated[int, Field(ge=1, le=4, description="Levels it raises")] = 1
    up_to: Annotated[int, Field(ge=1, le=4, description="Never above this level")] = 4


class SessionRequest(Body):
    title: Title
    clause: Annotated[str, Field(min_length=1, max_length=64)] = "R2 §4.2"
    starts_at: Moment
    ends_at: Moment
    staff_ids: list[UUID] = Field(default_factory=list, description="Required attendees")
    roles: list[StaffRole] = Field(default_factory=list,
                                   description="Every active member of these roles is required")
    skills: Annotated[list[SkillRaise], Field(max_length=50)] = Field(
        default_factory=list,
        description="The skills it raises (R2 §4.1): once held, each attendee who came gets a "
                    "proposed level for the head or deputy to confirm")


class AttendanceRecord(Body):
    staff_id: UUID
    attended: bool


class AttendanceRequest(Body):
    records: Annotated[list[AttendanceRecord], Field(min_length=1)]


class PolicyRequest(Body):
    title: Title
    summary: Annotated[str, Field(min_length=1, max_length=20_000)]
    effective_at: Moment
    requires_training: bool = False
    training_at: Moment | None = Field(
        default=None, description="When the training starts (default: when it takes effect)")


class RevisionRequest(Body):
    title: Title | None = None
    summary: Annotated[str, Field(min_length=1, max_length=20_000)]
    effective_at: Moment
    requires_training: bool = False
    training_at: Moment | None = None


@router.post("/training/sessions", status_code=201, summary="Schedule a training session")
async def schedule(body: SessionRequest, request: Request, key: IdempotencyKey = None,
                   principal: Principal = Depends(managers)):
    async def action(session) -> dict:
        session_id = await training.schedule(
            session, now=now_of(request), title=body.title, clause=body.clause,
            starts_at=body.starts_at, ends_at=body.ends_at, staff_ids=body.staff_ids,
            roles=list(body.roles), created_by=principal.id,
            raises=[(r.skill, r.raise_by, r.up_to) for r in body.skills])
        return await training.get_session(session, session_id)

    return await create(request, principal, key, body, action)


@router.get("/training/sessions", summary="Training sessions (staff see theirs)")
async def list_sessions(request: Request, staff_id: UUID | None = None,
                        principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    if principal.role not in MANAGING_ROLES:
        staff_id = staff_id or principal.id
    check_self_or_managing(principal, staff_id, "training")
    return await read(request, lambda s: training.list_sessions(s, staff_id=staff_id))


@router.get("/training/sessions/{session_id}", summary="One session with its attendees")
async def get_session(session_id: UUID, request: Request,
                      _: Principal = Depends(anyone_on_staff)) -> dict:
    return await read(request, lambda s: training.get_session(s, session_id))


@router.post("/training/sessions/{session_id}/attendance", summary="Record who attended")
async def record_attendance(session_id: UUID, body: AttendanceRequest, request: Request,
                            principal: Principal = Depends(managers)) -> dict:
    return await change(request, lambda s: training.record_attendance(
        s, now=now_of(request), session_id=session_id,
        records=[(r.staff_id, r.attended) for r in body.records], recorded_by=principal.id))


@router.post("/training/sessions/{session_id}/completion",
             summary="The session took place: unrecorded required attendees were absent")
async def complete(session_id: UUID, request: Request,
                   principal: Principal = Depends(managers)) -> dict:
    return await change(request, lambda s: training.complete(
        s, now=now_of(request), session_id=session_id, completed_by=principal.id))


@router.post("/policies", status_code=201,
             summary="Publish a policy (version 1): notify everyone, schedule training")
async def publish_policy(body: PolicyRequest, request: Request, key: IdempotencyKey = None,
                         principal: Principal = Depends(policy_makers)):
    return await create(request, principal, key, body, lambda s: policies.publish_policy(
        s, now=now_of(request), title=body.title, summary=body.summary,
        effective_at=body.effective_at, requires_training=body.requires_training,
        training_at=body.training_at, published_by=principal.id))


@router.post("/policies/{policy_id}/versions", status_code=201,
             summary="Publish a revision (R1 §9.2; publishes policy.revised)")
async def revise_policy(policy_id: UUID, body: RevisionRequest, request: Request,
                        key: IdempotencyKey = None,
                        principal: Principal = Depends(policy_makers)):
    return await create(request, principal, key, body, lambda s: policies.revise_policy(
        s, now=now_of(request), policy_id=policy_id, title=body.title, summary=body.summary,
        effective_at=body.effective_at, requires_training=body.requires_training,
        training_at=body.training_at, published_by=principal.id))


@router.get("/policies", summary="Policies and their versions")
async def list_policies(request: Request,
                        _: Principal = Depends(anyone_on_staff)) -> list[dict]:
    return await read(request, policies.list_policies)


@router.get("/policies/compliance",
            summary="For each policy's version in force (and, apart, the next one): who has "
                    "not acknowledged it and who has not attended its training, by name")
async def compliance(request: Request, _: Principal = Depends(managers)) -> list[dict]:
    return await read(request, lambda s: policies.compliance(s, now_of(request)))


@router.get("/policies/acknowledgements/mine",
            summary="The versions you were asked to acknowledge, and whether you have")
async def mine(request: Request, principal: Principal = Depends(anyone_on_staff)) -> list[dict]:
    return await read(request, lambda s: policies.my_acknowledgements(s, principal.id))


@router.get("/policies/{policy_id}", summary="One policy with its versions")
async def get_policy(policy_id: UUID, request: Request,
                     _: Principal = Depends(anyone_on_staff)) -> dict:
    return await read(request, lambda s: policies.get_policy(s, policy_id))


@router.post("/policies/{policy_id}/versions/{version}/acknowledgement",
             summary="Acknowledge a version (yourself)")
async def acknowledge(policy_id: UUID,
                      version: Annotated[int, Path(ge=1, le=2**31 - 1)],  # an int4 column
                      request: Request,
                      principal: Principal = Depends(anyone_on_staff)) -> dict:
    return await change(request, lambda s: policies.acknowledge(
        s, now=now_of(request), policy_id=policy_id, version=version, staff_id=principal.id))
