"""The hr service's HTTP API: one router per area, gathered here."""

from __future__ import annotations

from fastapi import APIRouter

from club_hr.api import assessments, attendance, staff

router = APIRouter()
for area in (staff, attendance, assessments):
    router.include_router(area.router)
