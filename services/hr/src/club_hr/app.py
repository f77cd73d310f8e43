"""The composition root of the hr service: settings → runtime → FastAPI app.

Staff, attendance, event-driven KPI assessments, the discipline ladder, rewards, training,
policy revisions, the gift register and offboarding (R1 §2, §6.3, §7, §9.2; R2 §4–§6, §8).
"""

from __future__ import annotations

from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime, clock_for
from fastapi import FastAPI

from club_hr.api import router
from club_hr.handlers import HandlerContext, consumer
from club_hr.jobs import build_jobs
from club_hr.settings import HrSettings


def build_app(settings: HrSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or HrSettings()
    clock = clock or clock_for(settings)
    runtime = ServiceRuntime(settings, consumer=consumer, jobs=build_jobs(settings),
                             clock=clock)
    HandlerContext.from_settings(settings, clock).install(runtime.database)
    return create_app(
        runtime=runtime,
        routers=[router],
        title="Club hr service",
        description=__doc__ or "",
    )
