"""The composition root of the crm service: settings → runtime → FastAPI app."""

from __future__ import annotations

from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime
from fastapi import FastAPI

from club_crm.api import router
from club_crm.handlers import consumer
from club_crm.settings import CrmSettings


def build_app(settings: CrmSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or CrmSettings()
    runtime = ServiceRuntime(settings, consumer=consumer, clock=clock)
    return create_app(
        runtime=runtime,
        routers=[router],
        title="Club crm service",
        description=__doc__ or "",
    )
