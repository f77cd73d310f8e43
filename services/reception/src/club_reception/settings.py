"""Settings of the reception service: environment variables prefixed `RECEPTION_`
(see club_platform.settings for the shared ones)."""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from club_platform.settings import ServiceSettings
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict


class ReceptionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECEPTION_", extra="ignore", frozen=True)

    service_name: str = "reception"
    http_port: int = 8102

    # Only to override the club's time zone (CLUB_TIME_ZONE, where "today" begins and ends
    # for the day sheet) for this service; unset, the club's own applies.
    timezone: str | None = None
    # A booked customer can be checked in from this long before the booking starts until it
    # ends (R1 §3.2); outside that window they are received as a walk-in.
    check_in_opens_minutes: int = Field(default=120, ge=0, le=24 * 60)
    # How often the follow-up of tasks looks for those past due and not done (R2 §2.2).
    task_check_seconds: float = Field(default=60, gt=0, le=24 * 3600)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            zone_of(name)
        return name

    @property
    def zone_name(self) -> str:
        return self.timezone or self.club_time_zone

    @property
    def zone(self) -> tzinfo:
        return zone_of(self.zone_name)

    @property
    def check_in_opens_before(self) -> timedelta:
        return timedelta(minutes=self.check_in_opens_minutes)


def zone_of(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC  # needs no time-zone database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r} (RECEPTION_TIMEZONE)") from e
