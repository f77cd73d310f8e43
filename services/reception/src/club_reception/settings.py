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
    # How long a safety finding's owner has to fix it, by area (R2 §7.1): a blocked fire exit
    # cannot wait a day. Areas not listed get the default. JSON in the environment, e.g.
    # RECEPTION_SAFETY_FINDING_HOURS='{"fire_exits": 4}'.
    safety_finding_hours: dict[str, float] = Field(default_factory=lambda: {"fire_exits": 4})
    safety_finding_default_hours: float = Field(default=24, gt=0, le=24 * 90)
    # How often the escalation of overdue findings runs.
    safety_overdue_check_seconds: float = Field(default=60, ge=1)
    # How often the follow-up of tasks looks for those past due and not done (R2 §2.2).
    task_check_seconds: float = Field(default=60, gt=0, le=24 * 3600)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is not None:
            zone_of(name)
        return name

    @field_validator("safety_finding_hours")
    @classmethod
    def _positive_hours(cls, hours: dict[str, float]) -> dict[str, float]:
        wrong = sorted(area for area, h in hours.items() if not 0 < h <= 24 * 90)
        if wrong:
            raise ValueError(f"hours must be above 0 and at most 2160: {', '.join(wrong)} "
                             "(RECEPTION_SAFETY_FINDING_HOURS)")
        return hours

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
