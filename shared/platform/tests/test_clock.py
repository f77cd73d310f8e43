"""The offset clock the local demo day uses to live through yesterday: it follows the file a
driver writes, and production refuses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from club_platform.clock import OffsetClock, SystemClock, write_clock_offset
from club_platform.runtime import clock_for
from club_platform.settings import ServiceSettings
from pydantic import ValidationError


def _near(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(seconds=5)


def test_the_offset_clock_follows_its_file_and_without_one_is_the_system_clock(tmp_path):
    path = tmp_path / "clock"
    clock = OffsetClock(path)
    assert _near(clock.now(), datetime.now(UTC))

    write_clock_offset(path, timedelta(days=-1))
    assert _near(clock.now(), datetime.now(UTC) - timedelta(days=1))

    write_clock_offset(path, timedelta(hours=-20, minutes=-30))
    assert _near(clock.now(), datetime.now(UTC) - timedelta(hours=20, minutes=30))

    path.unlink()
    assert _near(clock.now(), datetime.now(UTC))


def _settings(**values) -> ServiceSettings:
    return ServiceSettings(service_name="x", database_url="postgresql+asyncpg://x@h/d",
                           kafka_bootstrap_servers="k:9092", jwt_secret="s" * 40, **values)


def test_a_service_takes_the_offset_clock_only_when_configured_and_never_in_production(tmp_path):
    assert isinstance(clock_for(_settings()), SystemClock)
    assert isinstance(clock_for(_settings(clock_offset_file=tmp_path / "c")), OffsetClock)
    with pytest.raises(ValidationError, match="development and tests only"):
        ServiceSettings(service_name="x", database_url="postgresql+asyncpg://x@h/d",
                        kafka_bootstrap_servers="k:9092", oidc_issuer="https://sso.example/r",
                        clock_offset_file=tmp_path / "c", environment="production")
