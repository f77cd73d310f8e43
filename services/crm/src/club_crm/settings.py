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
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property

from club_platform.settings import ServiceSettings
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

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

    @model_validator(mode="after")
    def _check_keys(self) -> CrmSettings:
        try:
            parse_keys(self.field_encryption_keys.get_secret_value())
        except InvalidKeySetting as e:
            raise ValueError(str(e)) from None
        return self

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
