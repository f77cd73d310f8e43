"""Settings of the reception service: environment variables prefixed `RECEPTION_`
(see club_platform.settings for the shared ones)."""

from __future__ import annotations

from club_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class ReceptionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RECEPTION_", extra="ignore", frozen=True)

    service_name: str = "reception"
    http_port: int = 8102
