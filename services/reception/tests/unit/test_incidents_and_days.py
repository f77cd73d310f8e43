"""Incident closure rules and the club's day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from club_platform.errors import Conflict, Invalid

from club_reception.domain.days import day_bounds, today
from club_reception.domain.errors import IncidentClosed
from club_reception.domain.incidents import Incident, ensure_closable, ensure_occurred

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_an_incident_closes_only_with_a_root_cause_and_every_action_done():
    with pytest.raises(Conflict, match="no root cause"):
        ensure_closable(Incident(uuid4(), None, None), open_actions=0)
    with pytest.raises(Conflict, match="1 follow-up action"):
        ensure_closable(Incident(uuid4(), "a loose tile", None), open_actions=1)
    ensure_closable(Incident(uuid4(), "a loose tile", None), open_actions=0)
    with pytest.raises(IncidentClosed):
        ensure_closable(Incident(uuid4(), "a loose tile", NOW), open_actions=0)


def test_an_incident_cannot_happen_in_the_future():
    ensure_occurred(NOW - timedelta(hours=1), NOW)
    with pytest.raises(Invalid, match="in the future"):
        ensure_occurred(NOW + timedelta(hours=1), NOW)


def test_the_day_follows_the_club_time_zone():
    shanghai = ZoneInfo("Asia/Shanghai")
    assert today(datetime(2026, 11, 27, 17, tzinfo=UTC), shanghai) == date(2026, 11, 28)
    start, end = day_bounds(date(2026, 11, 28), shanghai)
    assert start == datetime(2026, 11, 27, 16, tzinfo=UTC)
    assert end - start == timedelta(hours=24)


def test_a_day_across_a_clock_change_is_23_or_25_hours():
    london = ZoneInfo("Europe/London")
    spring = day_bounds(date(2026, 3, 29), london)
    autumn = day_bounds(date(2026, 10, 25), london)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
