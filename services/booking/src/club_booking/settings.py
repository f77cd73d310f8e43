"""Settings of the booking service: environment variables prefixed `BOOKING_`
(see club_platform.settings for the shared ones)."""

from __future__ import annotations

from club_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class BookingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKING_", extra="ignore", frozen=True)

    service_name: str = "booking"
    http_port: int = 8101
