"""Settings of the hr service: environment variables prefixed `HR_`
(see club_platform.settings for the shared ones)."""

from __future__ import annotations

from club_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class HrSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HR_", extra="ignore", frozen=True)

    service_name: str = "hr"
    http_port: int = 8104
