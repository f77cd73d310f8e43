"""The composition root of the hr service: settings → runtime → FastAPI app."""

from __future__ import annotations

from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime
from fastapi import FastAPI

from club_hr.api import router
from club_hr.handlers import consumer
from club_hr.settings import HrSettings


def build_app(settings: HrSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or HrSettings()
    runtime = ServiceRuntime(settings, consumer=consumer, clock=clock)
    return create_app(
        runtime=runtime,
        routers=[router],
        title="Club hr service",
        description=__doc__ or "",
    )
