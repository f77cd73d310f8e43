"""The hr service's HTTP API: one router per area, gathered here."""

from __future__ import annotations

from fastapi import APIRouter

from club_hr.api import (
    assessments,
    attendance,
    discipline,
    gifts,
    leave,
    rewards,
    skills,
    staff,
    training,
)

router = APIRouter()
for area in (staff, attendance, leave, assessments, discipline, rewards, training, gifts,
             skills):
    router.include_router(area.router)
