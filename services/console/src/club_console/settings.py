"""The console's settings, CONSOLE_* environment variables.

    CONSOLE_PUBLIC_URL=http://127.0.0.1:8100     where people reach it (the provider returns here)
    CONSOLE_OIDC_ISSUER=http://127.0.0.1:18080/realms/club
    CONSOLE_BOOKING_URL=http://127.0.0.1:8101    … and _RECEPTION_URL, _CRM_URL, _HR_URL

The console owns no business data and no secrets of its own: it signs people in at the club's
provider as the public client `club-console` (authorization code with PKCE) and calls the
services with each person's own token, so each service's authorisation stays the only one.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Literal

from club_platform.settings import DEFAULT_CLUB_TIME_ZONE, zone_named
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("booking", "reception", "crm", "hr")


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8100, ge=0, le=65535)
    # The address people use; its scheme decides whether cookies are Secure.
    public_url: str = "http://127.0.0.1:8100"

    oidc_issuer: str
    oidc_client_id: str = "club-console"
    # The provider's address as the console reaches it, when that differs from the issuer
    # people's browsers see (inside a cluster); empty: the issuer's own.
    oidc_internal_url: str | None = None

    booking_url: str
    reception_url: str
    crm_url: str
    hr_url: str
    # A service that does not answer within this many seconds is shown as unavailable.
    service_timeout_seconds: float = Field(default=5, gt=0, le=60)

    # A session left idle this long ends; the person signs in again and returns to the page.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=72)
    # The front desk's floor is pushed to the page; the console asks reception this often.
    floor_refresh_seconds: float = Field(default=1.0, gt=0, le=60)

    time_zone: str = Field(default=DEFAULT_CLUB_TIME_ZONE,
                           validation_alias=AliasChoices("CONSOLE_TIME_ZONE", "CLUB_TIME_ZONE"))
    # Tests: a message with no translation shows as ⟦message⟧ instead of its English text.
    i18n_strict: bool = False

    @property
    def zone(self) -> tzinfo:
        return zone_named(self.time_zone)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    def service_url(self, service: str) -> str:
        return getattr(self, f"{service}_url").rstrip("/")
