"""Settings of the hr service: environment variables prefixed `HR_`
(see club_platform.settings for the shared ones)."""

from __future__ import annotations

from club_platform.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class HrSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HR_", extra="ignore", frozen=True)

    service_name: str = "hr"
    http_port: int = 8104

    # R2 §6.1: arriving later or leaving earlier than this many minutes is a violation.
    attendance_grace_minutes: int = Field(default=5, ge=0, le=120)
    # R1 §7.2, R2 §8.2: a staff member may appeal a decision within this many days.
    appeal_window_days: int = Field(default=14, ge=1, le=365)
    # R1 §7.2: a staff member may appeal a published assessment within this many days.
    assessment_appeal_window_days: int = Field(default=7, ge=1, le=365)
    # Fines and bonuses are in this currency unless a request names another.
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    # How often the job that ends finished suspensions runs.
    suspension_check_seconds: float = Field(default=60.0, gt=0)
    # How often the job that finds shifts missed without leave (absences, R2 §6.1) runs.
    absence_check_seconds: float = Field(default=60.0, gt=0)
