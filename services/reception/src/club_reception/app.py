"""The composition root of the reception service: settings → runtime → FastAPI app."""

from __future__ import annotations

from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime
from fastapi import FastAPI

from club_reception.api import routers
from club_reception.handlers import consumer
from club_reception.jobs import build_jobs
from club_reception.safety import build_safety_jobs
from club_reception.safety_api import safety_api
from club_reception.settings import ReceptionSettings


def build_app(settings: ReceptionSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ReceptionSettings()
    runtime = ServiceRuntime(settings, consumer=consumer, clock=clock,
                             jobs=build_jobs(settings) + build_safety_jobs(settings))
    return create_app(
        runtime=runtime,
        routers=[*routers, safety_api],
        title="Club reception service",
        description=__doc__ or "",
    )
