"""Settings of the booking service: environment variables prefixed `BOOKING_`
(see club_platform.settings for the shared ones).

The booking rules the club tunes without a release (R1 §3.1):

    BOOKING_TIMEZONE=Asia/Shanghai          the club's local time: opening hours, dates, day sheets
    BOOKING_MINIMUM_NOTICE_MINUTES=60       an online booking starts at least this far ahead
    BOOKING_BOOKING_HORIZON_DAYS=60         …and no further ahead than this (every channel)
    BOOKING_CANCELLATION_CUTOFF_HOURS=24    a cancellation closer to the start is marked late
    BOOKING_NO_SHOW_GRACE_MINUTES=15        no check-in this long after the start: a no-show
    BOOKING_NO_SHOW_SWEEP_SECONDS=60        how often the automatic no-show sweep runs
    BOOKING_SLOT_STEP_MINUTES=15            the grid on which free slots are offered
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from club_platform.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from club_booking.domain.rules import BookingPolicy


class BookingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: str = "booking"
    http_port: int = 8101

    # Only to override the club's time zone (CLUB_TIME_ZONE) for this service; unset, the
    # club's own applies, which every service shares.
    timezone: str | None = None
    minimum_notice_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60)
    booking_horizon_days: int = Field(default=60, ge=1, le=730)
    cancellation_cutoff_hours: int = Field(default=24, ge=0, le=24 * 14)
    no_show_grace_minutes: int = Field(default=15, ge=0, le=24 * 60)
    no_show_sweep_seconds: float = Field(default=60, gt=0)
    slot_step_minutes: int = Field(default=15, ge=1, le=240)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)") from e
        return value

    @property
    def policy(self) -> BookingPolicy:
        return BookingPolicy(
            zone=ZoneInfo(self.timezone or self.club_time_zone),
            minimum_notice=timedelta(minutes=self.minimum_notice_minutes),
            horizon=timedelta(days=self.booking_horizon_days),
            cancellation_cutoff=timedelta(hours=self.cancellation_cutoff_hours),
            no_show_grace=timedelta(minutes=self.no_show_grace_minutes),
            slot_step=timedelta(minutes=self.slot_step_minutes),
        )
