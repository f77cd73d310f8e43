"""The skills matrix (R2 §4.1): skills, levels assessed by the head or deputy, and the level
changes training proposes (domain/skills.py)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from club_platform.auth import Principal
from club_platform.inputs import Day
from fastapi import APIRouter, Depends, Request
from pydantic import Field

from club_hr.api.common import (
    Body,
    IdempotencyKey,
    anyone_on_staff,
    change,
    check_self_or_managing,
    create,
    hr_admin,
    managers,
    now_of,
    read,
    settings_of,
    supervisors,
)
from club_hr.services import skills

router = APIRouter(tags=["skills"])

SkillCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,47}$",
                                 description="The skill's code (GET /skills)")]
Level = Annotated[int, Field(ge=0, le=4, description="0 not_yet, 1 learning, 2 independent, "
                                                     "3 proficient, 4 mentor")]


def today_of(request: Request):
    return now_of(request).astimezone(settings_of(request).club_zone).date()


class SkillRequest(Body):
    code: SkillCode
    name: Annotated[str, Field(min_length=1, max_length=120)]


class LevelRequest(Body):
    skill: SkillCode
    level: Level
    assessed_on: Day | None = Field(default=None,
                                    description="The day assessed (default: today); not later")
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


@router.get("/skills", summary="The skills of the matrix (R2 §4.1 and the club's own)")
async def list_skills(request: Request, _: Principal = Depends(anyone_on_staff)) -> list[dict]:
    return await read(request, skills.list_skills)


@router.post("/skills", status_code=201, summary="Add one of the club's own skills (HR admin)")
async def add_skill(body: SkillRequest, request: Request, key: IdempotencyKey = None,
                    principal: Principal = Depends(hr_admin)):
    return await create(request, principal, key, body, lambda s: skills.add_skill(
        s, code=body.code, name=body.name, created_by=principal.id))


@router.get("/skills/matrix",
            summary="Everyone on staff × every skill, at the current level (0: never assessed)")
async def matrix(request: Request, _: Principal = Depends(managers)) -> dict:
    return await read(request, skills.matrix)


@router.get("/skills/proposals",
            summary="Level changes proposed by held training sessions, for the head or deputy")
async def list_proposals(request: Request,
                         status: Literal["proposed", "confirmed", "rejected"] | None = None,
                         staff_id: UUID | None = None, session_id: UUID | None = None,
                         _: Principal = Depends(managers)) -> list[dict]:
    return await read(request, lambda s: skills.list_proposals(
        s, status=status, staff_id=staff_id, session_id=session_id))


@router.post("/skills/proposals/{proposal_id}/confirm",
             summary="Confirm a proposed level (head or deputy): the level changes")
async def confirm(proposal_id: UUID, request: Request,
                  principal: Principal = Depends(supervisors)) -> dict:
    return await change(request, lambda s: skills.confirm(
        s, now=now_of(request), today=today_of(request), proposal_id=proposal_id,
        confirmed_by=principal.id))


@router.post("/skills/proposals/{proposal_id}/reject",
             summary="Reject a proposed level (head or deputy): nothing changes")
async def reject(proposal_id: UUID, request: Request,
                 principal: Principal = Depends(supervisors)) -> dict:
    return await change(request, lambda s: skills.reject(
        s, now=now_of(request), proposal_id=proposal_id, rejected_by=principal.id))


@router.get("/staff/{staff_id}/skills",
            summary="A staff member's current levels and their history (own, or managers)")
async def of_staff(staff_id: UUID, request: Request,
                   principal: Principal = Depends(anyone_on_staff)) -> dict:
    check_self_or_managing(principal, staff_id, "skills")
    return await read(request, lambda s: skills.of_staff(s, staff_id))


@router.post("/staff/{staff_id}/skills", status_code=201,
             summary="Assess a staff member's level in a skill (head or deputy; kept in the "
                     "history)")
async def assess(staff_id: UUID, body: LevelRequest, request: Request,
                 key: IdempotencyKey = None, principal: Principal = Depends(supervisors)):
    today = today_of(request)
    return await create(request, principal, key, body, lambda s: skills.assess(
        s, now=now_of(request), today=today, staff_id=staff_id, skill_code=body.skill,
        level=body.level, assessed_on=body.assessed_on or today, assessed_by=principal.id,
        note=body.note))
