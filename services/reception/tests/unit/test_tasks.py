"""The rules of plans and tasks: a routine's occurrences over a week in the club's zone, on
time or late, who an overdue task escalates to, and a plan's counts (R1 §2.2, §8.1; R2 §2.2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from club_platform.errors import Invalid

from club_reception.domain.tasks import (
    ensure_period,
    escalates_to,
    iso_weekdays,
    missing_items,
    occurrences,
    on_time,
    progress,
    state,
    weekday_names,
    within_period,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 11, 30)
WORKDAYS = iso_weekdays(["monday", "tuesday", "wednesday", "thursday", "friday"])


def test_a_weekday_routine_occurs_once_on_each_workday_at_the_clubs_local_time():
    found = occurrences(time(9), WORKDAYS, MONDAY, MONDAY + timedelta(days=6), SHANGHAI)
    assert [o.day for o in found] == [MONDAY + timedelta(days=d) for d in range(5)]
    # 09:00 in Shanghai (UTC+8) is 01:00 UTC the same day
    assert [o.due_at for o in found] == [
        datetime(2026, 11, 30 + d, 1, tzinfo=UTC) if d == 0 else
        datetime(2026, 12, d, 1, tzinfo=UTC) for d in range(5)]


def test_an_evening_routine_in_an_eastern_zone_falls_on_the_previous_utc_day_never_twice():
    found = occurrences(time(7), [7], MONDAY, MONDAY + timedelta(days=6), SHANGHAI)
    (sunday,) = found
    assert sunday.day == date(2026, 12, 6)
    assert sunday.due_at == datetime(2026, 12, 5, 23, tzinfo=UTC)


def test_across_a_clock_change_the_local_time_stays_and_the_utc_instant_moves():
    # Europe/Berlin leaves summer time on Sunday 25 October 2026
    found = occurrences(time(9), [6, 7, 1], date(2026, 10, 24), date(2026, 10, 26), BERLIN)
    assert [o.due_at.hour for o in found] == [7, 8, 8]
    assert all(o.due_at.astimezone(BERLIN).time() == time(9) for o in found)


def test_weekday_names_round_trip_and_a_plan_is_at_most_a_month():
    assert weekday_names(iso_weekdays(["friday", "monday", "friday"])) == ["monday", "friday"]
    ensure_period(MONDAY, MONDAY)
    with pytest.raises(Invalid, match="ends"):
        ensure_period(MONDAY, MONDAY - timedelta(days=1))
    with pytest.raises(Invalid, match="at most 31 days"):
        ensure_period(MONDAY, MONDAY + timedelta(days=31))


def test_a_due_time_belongs_to_the_plans_days_in_the_clubs_zone():
    late_sunday_utc = datetime(2026, 12, 6, 17, tzinfo=UTC)  # already Monday in Shanghai
    assert within_period(late_sunday_utc, MONDAY, MONDAY + timedelta(days=6), UTC)
    assert not within_period(late_sunday_utc, MONDAY, MONDAY + timedelta(days=6), SHANGHAI)


def test_on_time_is_by_the_due_time_inclusive():
    due = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert on_time(due, due)
    assert not on_time(due + timedelta(seconds=1), due)


def test_an_overdue_task_escalates_to_the_deputy_unless_the_deputy_or_head_owns_it():
    assert escalates_to("attendant") == "deputy"
    assert escalates_to("crm_specialist") == "deputy"
    assert escalates_to(None) == "deputy"
    assert escalates_to("deputy") == "head"
    assert escalates_to("head") == "head"


def test_the_checklist_names_what_is_not_ticked_in_its_own_order():
    assert missing_items(["lights", "till", "doors"], ["doors"]) == ["lights", "till"]
    assert missing_items(["lights"], ["lights"]) == []


def test_a_plans_counts_and_completion_share():
    due = datetime(2026, 12, 1, 9, tzinfo=UTC)
    late, early = due + timedelta(hours=1), due - timedelta(hours=1)
    counts = progress([(due, early, None), (due, late, due), (due, None, late), (due, None, None)])
    assert (counts.total, counts.done_on_time, counts.done_late, counts.overdue,
            counts.open) == (4, 1, 1, 1, 1)
    assert counts.completion_share == 0.5
    assert progress([]).completion_share == 1.0
    assert state(None, None) == "open"
    assert state(None, late) == "overdue"
    assert state(late, late) == "done"
