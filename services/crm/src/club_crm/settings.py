"""Settings of the crm service: environment variables prefixed `CRM_`
(see club_platform.settings for the shared ones).

    CRM_FIELD_ENCRYPTION_KEYS   required, no default anywhere: comma-separated keys, newest
                                first, each 32 random bytes in URL-safe base64 (see fieldcrypt)
    CRM_POST_VISIT_FOLLOWUP_HOURS       24   follow-up call after a visit (R1 §3.5)
    CRM_POST_COMPLAINT_FOLLOWUP_HOURS   24   follow-up call after a resolved complaint (R1 §5.4)
    CRM_ESCALATE_TO_HEAD_AFTER_HOURS    24   from the deputy to the head if still unresolved
    CRM_SLA_CHECK_INTERVAL_SECONDS      60   how often the SLA escalation job runs
    CRM_SURVEY_VALID_DAYS               14   how long a survey link can be used (R2 §3.5)
    CRM_SURVEY_LINK_BASE_URL                 where the public survey form lives
    CRM_ACCOUNTS_PROVIDER_URL           (off)  Keycloak's base URL: sign-in accounts follow HR
    CRM_ACCOUNTS_REALM                  club   (club_crm.accounts)
    CRM_ACCOUNTS_CLIENT_ID              club-accounts
    CRM_ACCOUNTS_CLIENT_SECRET                 the service-account client's secret

Notifications (e-mail over SMTP; SMS or WeChat through an HTTP webhook provider):

    CRM_CLUB_NAME                   the club's name in every message
    CLUB_TIME_ZONE                  Asia/Shanghai: times in messages and quiet hours (shared)
    CRM_PUBLIC_BASE_URL             where the unsubscribe link lands (defaults to the survey base)
    CRM_SMTP_HOST / CRM_SMTP_PORT   127.0.0.1 / 18025 (the local Mailpit)
    CRM_SMTP_USERNAME / CRM_SMTP_PASSWORD / CRM_SMTP_STARTTLS   when the relay needs them
    CRM_MAIL_FROM                   the sender address
    CRM_SMS_WEBHOOK_URL             the SMS/WeChat provider's HTTP endpoint (none: no SMS)
    CRM_SMS_WEBHOOK_TOKEN           its bearer token
    CRM_REMINDER_HOURS              "24,2": reminders this many hours before a booking
    CRM_QUIET_HOURS                 "22:00-08:00": no reminders then (club time); "" for none
    CRM_NOTIFY_DEFAULT_LANGUAGE     zh-CN (or en) when the person has no preference
    CRM_NOTIFY_INTERVAL_SECONDS     5    how often the sender looks for due messages
    CRM_NOTIFY_BATCH                50   messages per run at most
    CRM_NOTIFY_MAX_ATTEMPTS         30   then the message is failed with its last error
    CRM_NOTIFY_RETRY_SECONDS        30   first retry delay, doubling up to
    CRM_NOTIFY_RETRY_MAX_SECONDS    900
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from club_platform.settings import ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from club_crm.domain.notifications import QuietHours, parse_hours
from club_crm.fieldcrypt import FieldCipher, InvalidKeySetting, generate_key, parse_keys


class CrmSettings(ServiceSettings):
    # hide_input_in_errors: a refused setting must not print keys or passwords into a log.
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", frozen=True,
                                      hide_input_in_errors=True)

    service_name: str = "crm"
    http_port: int = 8103

    # Personal data at rest (R1 §6): no default key, in any environment.
    field_encryption_keys: SecretStr

    post_visit_followup_hours: float = Field(default=24, gt=0, le=24 * 30)
    post_complaint_followup_hours: float = Field(default=24, gt=0, le=24 * 30)
    escalate_to_head_after_hours: float = Field(default=24, gt=0, le=24 * 30)
    sla_check_interval_seconds: float = Field(default=60, ge=1)
    survey_valid_days: int = Field(default=14, ge=1, le=365)
    survey_link_base_url: str = "http://127.0.0.1:8103"

    # Sign-in accounts that follow HR (club_crm.accounts); off when no provider is named.
    accounts_provider_url: str | None = None
    accounts_realm: str = "club"
    accounts_client_id: str = "club-accounts"
    accounts_client_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _check_accounts(self) -> CrmSettings:
        if self.accounts_provider_url and self.accounts_client_secret is None:
            raise ValueError("CRM_ACCOUNTS_PROVIDER_URL needs CRM_ACCOUNTS_CLIENT_SECRET")
        return self
    # --- notifications
    club_name: str = Field(default="Club", min_length=1, max_length=80)
    # The club's time zone is the shared CLUB_TIME_ZONE (ServiceSettings.club_time_zone).
    public_base_url: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=18025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=120)
    mail_from: str = "Club <service@club.example>"
    sms_webhook_url: str | None = None
    sms_webhook_token: SecretStr | None = None
    reminder_hours: str = "24,2"
    quiet_hours: str = "22:00-08:00"
    notify_default_language: Literal["zh-CN", "en"] = "zh-CN"
    notify_interval_seconds: float = Field(default=5, ge=0.1)
    notify_batch: int = Field(default=50, ge=1, le=1000)
    notify_max_attempts: int = Field(default=30, ge=1, le=1000)
    notify_retry_seconds: float = Field(default=30, gt=0)
    notify_retry_max_seconds: float = Field(default=900, gt=0)

    @model_validator(mode="after")
    def _check_keys(self) -> CrmSettings:
        try:
            parse_keys(self.field_encryption_keys.get_secret_value())
        except InvalidKeySetting as e:
            raise ValueError(str(e)) from None
        QuietHours.parse(self.quiet_hours)
        parse_hours(self.reminder_hours)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.club_time_zone)

    @property
    def quiet(self) -> QuietHours | None:
        return QuietHours.parse(self.quiet_hours)

    @property
    def reminders(self) -> tuple[float, ...]:
        return parse_hours(self.reminder_hours)

    @property
    def public_url(self) -> str:
        return (self.public_base_url or self.survey_link_base_url).rstrip("/")

    @classmethod
    def docs_placeholders(cls) -> dict[str, str]:
        """What docs/generate.py needs besides the shared placeholders to build the app: a
        throwaway key made on the spot (nothing is encrypted while building the docs)."""
        return {"field_encryption_keys": generate_key()}

    @cached_property
    def cipher(self) -> FieldCipher:
        return FieldCipher.from_setting(self.field_encryption_keys.get_secret_value())

    @property
    def post_visit_followup_delay(self) -> timedelta:
        return timedelta(hours=self.post_visit_followup_hours)

    @property
    def post_complaint_followup_delay(self) -> timedelta:
        return timedelta(hours=self.post_complaint_followup_hours)

    @property
    def escalate_to_head_after(self) -> timedelta:
        return timedelta(hours=self.escalate_to_head_after_hours)

    @property
    def survey_validity(self) -> timedelta:
        return timedelta(days=self.survey_valid_days)
