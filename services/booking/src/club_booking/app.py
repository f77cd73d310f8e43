"""The club's booking service: resources, the service catalogue, opening hours and closures,
availability, and online and offline bookings with no double booking (R1 §3.1)."""

from __future__ import annotations

from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime
from fastapi import FastAPI

from club_booking.api import routers
from club_booking.handlers import consumer
from club_booking.jobs import no_show_sweep
from club_booking.settings import BookingSettings


def build_app(settings: BookingSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The composition root: settings → runtime (database, consumer, relay, jobs) → app."""
    settings = settings or BookingSettings()
    runtime = ServiceRuntime(settings, consumer=consumer, jobs=(no_show_sweep(settings),),
                             clock=clock)
    return create_app(
        runtime=runtime,
        routers=routers,
        title="Club booking service",
        description=__doc__ or "",
    )
