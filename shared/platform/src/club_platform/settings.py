"""Settings from environment variables, one documented prefix per service (docs/service-shape.md).

Every service subclasses `ServiceSettings` and sets its prefix, e.g. `BOOKING_`:

    BOOKING_DATABASE_URL=postgresql+asyncpg://booking:…@127.0.0.1:15432/booking
    BOOKING_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092
    BOOKING_JWT_SECRET=…

Secrets have no working defaults: the service refuses to start without them. Tokens come
from the identity provider named by `…_OIDC_ISSUER`; the shared `…_JWT_SECRET` is for local
operators and tests, and `production` refuses it.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The club these services were first written for keeps China Standard Time.
DEFAULT_CLUB_TIME_ZONE = "Asia/Shanghai"


def zone_named(name: str) -> tzinfo:
    """An IANA time zone, or a clear error naming the setting."""
    if name.upper() == "UTC":
        return UTC  # needs no time-zone database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r} (CLUB_TIME_ZONE: an IANA name, "
                         f"e.g. Asia/Shanghai)") from e


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # Which service this is; subclasses fix it. Used in ce_source (`club/<service>`), logs, metrics.
    service_name: str

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"

    # --- PostgreSQL: the service's own database, reached with its own role.
    database_url: SecretStr
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_statement_timeout_ms: int = Field(default=15_000, ge=100)

    # --- Kafka
    kafka_bootstrap_servers: str
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # The consumer group of this service; its dead letters go to `<group>.dlq`.
    consumer_group: str | None = None
    consumer_max_batch: int = Field(default=500, ge=1, le=10_000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=50)
    consumer_retry_backoff_ms: int = Field(default=100, ge=1)
    # Run the Kafka consumer and the outbox relay inside the HTTP process (the default);
    # a deployment may turn either off and run it as its own process instead.
    run_consumer: bool = True
    run_relay: bool = True
    relay_batch_size: int = Field(default=1000, ge=1, le=50_000)
    relay_poll_interval_ms: int = Field(default=1000, ge=10)

    # --- HTTP
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    http_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Kafka being down does not stop the service taking requests (the outbox keeps the
    # events), so by default readiness reports Kafka without failing on it.
    ready_requires_kafka: bool = False

    # --- Auth: bearer tokens from the club's OpenID Connect provider, verified against the
    # keys it publishes (found through <issuer>/.well-known/openid-configuration). The
    # shared-secret HS256 path is for local operators and tests only; production refuses it.
    oidc_issuer: str | None = None
    oidc_keys_cache_seconds: float = Field(default=300, gt=0)
    oidc_keys_refresh_cooldown_seconds: float = Field(default=5, ge=0)
    # A fixed public key instead (RS256/ES256) still works where no discovery is possible.
    jwt_algorithm: Literal["HS256", "HS384", "HS512", "RS256", "ES256"] = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "club"
    jwt_audience: str = "club-services"

    # --- The club's time zone (an IANA name), one setting for every service, read from
    # `CLUB_TIME_ZONE` without a service prefix: the club's days, weeks and months (opening
    # hours, the day sheet, assessment periods, reports) are its local ones.
    club_time_zone: str = Field(
        default=DEFAULT_CLUB_TIME_ZONE,
        validation_alias=AliasChoices("CLUB_TIME_ZONE", "club_time_zone"))

    # --- Time. Development and tests only: a file holding seconds to add to the system
    # clock (club_platform.clock.OffsetClock), so the local demo day can live through
    # yesterday and come back. Refused in production.
    clock_offset_file: Path | None = None

    @field_validator("club_time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone_named(name)
        return name

    @property
    def club_zone(self) -> tzinfo:
        return zone_named(self.club_time_zone)

    @model_validator(mode="after")
    def _check_secrets(self) -> ServiceSettings:
        if self.jwt_algorithm.startswith("HS"):
            if self.environment == "production" and self.jwt_secret is not None:
                raise ValueError(
                    "the shared-secret (HS*) tokens are for local operators and tests; in "
                    "production name the identity provider (…_OIDC_ISSUER) and unset …_JWT_SECRET")
            if self.jwt_secret is None and not self.oidc_issuer:
                raise ValueError("name the identity provider (…_OIDC_ISSUER) or, outside "
                                 "production, a JWT secret (…_JWT_SECRET)")
        elif not self.jwt_public_key:
            raise ValueError(
                f"{self.jwt_algorithm} needs the issuer's public key (…_JWT_PUBLIC_KEY)")
        if self.clock_offset_file is not None and self.environment == "production":
            raise ValueError("a clock offset file is for development and tests only "
                             "(…_CLOCK_OFFSET_FILE must not be set in production)")
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError("SASL needs …_KAFKA_SASL_USERNAME and …_KAFKA_SASL_PASSWORD")
        return self

    @property
    def group_id(self) -> str:
        return self.consumer_group or self.service_name

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.group_id}.dlq"
