"""The hr service's HTTP API: one router per area, gathered here."""

from __future__ import annotations

from fastapi import APIRouter

from club_hr.api import attendance, staff

router = APIRouter()
for area in (staff, attendance):
    router.include_router(area.router)
