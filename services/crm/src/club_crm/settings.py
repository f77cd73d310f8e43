"""Settings of the crm service: environment variables prefixed `CRM_`
(see club_platform.settings for the shared ones)."""

from __future__ import annotations

from club_platform.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class CrmSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", frozen=True)

    service_name: str = "crm"
    http_port: int = 8103
