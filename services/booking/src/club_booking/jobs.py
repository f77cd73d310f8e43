"""The booking service's periodic work: the automatic no-show sweep."""

from __future__ import annotations

from datetime import datetime

from club_platform.runtime import PeriodicJob
from sqlalchemy.ext.asyncio import AsyncSession

from club_booking import services
from club_booking.settings import BookingSettings

NO_SHOW_SWEEP = "no_show_sweep"


def no_show_sweep(settings: BookingSettings) -> PeriodicJob:
    """Marks a booking a no-show once BOOKING_NO_SHOW_GRACE_MINUTES have passed since its
    start with no check-in, and publishes booking.no_show (CRM follows up, R1 §3.5)."""
    policy = settings.policy

    async def sweep(session: AsyncSession, now: datetime) -> int:
        return await services.sweep_no_shows(session, now, policy)

    return PeriodicJob(NO_SHOW_SWEEP, settings.no_show_sweep_seconds, sweep)
