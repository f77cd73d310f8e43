"""The composition root of the booking service: settings → runtime → FastAPI app."""

from __future__ import annotations

from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime
from fastapi import FastAPI

from club_booking.api import router
from club_booking.handlers import consumer
from club_booking.settings import BookingSettings


def build_app(settings: BookingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or BookingSettings()
    runtime = ServiceRuntime(settings, consumer=consumer, clock=clock)
    return create_app(
        runtime=runtime,
        routers=[router],
        title="Club booking service",
        description=__doc__ or "",
    )
