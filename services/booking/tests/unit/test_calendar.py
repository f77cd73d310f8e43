"""Opening hours in the club's local time, turned into UTC spans date by date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from club_platform.errors import Invalid

from club_booking.domain.calendar import (
    OpeningInterval,
    Span,
    check_week,
    day_span,
    intervals_on,
    is_open_for,
    local_span_text,
    open_spans,
    parse_clock,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2030, 1, 7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(day: date, hh_mm: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    h, m = (int(p) for p in hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=zone)


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("09:30", 570), ("24:00", 1440)])
def test_clock_times_parse_to_minutes(text, minutes):
    assert parse_clock(text) == minutes


@pytest.mark.parametrize("text", ["24:01", "09:60", "9", "nine", "09:5", "-1:00"])
def test_what_is_not_a_clock_time_is_refused_by_name(text):
    with pytest.raises(Invalid, match="time of day"):
        parse_clock(text)


def test_an_interval_must_close_after_it_opens_and_says_how_to_cross_midnight():
    with pytest.raises(Invalid, match="end at 24:00 and open again at 00:00"):
        OpeningInterval(4, parse_clock("18:00"), parse_clock("02:00"))


def test_overlapping_intervals_on_one_day_are_refused_but_touching_ones_are_fine():
    with pytest.raises(Invalid, match="overlap: monday 08:00–12:00 and monday 11:00–14:00"):
        check_week([OpeningInterval(0, 480, 720), OpeningInterval(0, 660, 840)])
    week = check_week([OpeningInterval(0, 720, 840), OpeningInterval(0, 480, 720),
                       OpeningInterval(1, 600, 700)])
    assert [(i.weekday, i.opens) for i in week] == [(0, 480), (0, 720), (1, 600)]


def test_the_days_intervals_are_local_hours_as_utc():
    hours = [OpeningInterval(0, 540, 1080), OpeningInterval(1, 600, 660)]
    assert intervals_on(hours, MONDAY, SHANGHAI) == [Span(utc(2030, 1, 7, 1), utc(2030, 1, 7, 10))]
    assert intervals_on(hours, MONDAY + timedelta(days=2), SHANGHAI) == []


def test_intervals_touching_at_midnight_join_into_one_span():
    hours = [OpeningInterval(d, 1080, 1440) for d in range(7)] + [
        OpeningInterval(d, 0, 120) for d in range(7)]
    spans = open_spans(hours, MONDAY, SHANGHAI)
    monday_evening = Span(local(MONDAY, "18:00"), local(MONDAY + timedelta(days=1), "02:00"))
    assert monday_evening in spans
    late_game = Span(local(MONDAY, "23:30"), local(MONDAY + timedelta(days=1), "01:00"))
    assert is_open_for(hours, late_game, SHANGHAI)
    too_late = Span(local(MONDAY, "23:30"), local(MONDAY + timedelta(days=1), "02:30"))
    assert not is_open_for(hours, too_late, SHANGHAI)


def test_a_span_must_lie_wholly_inside_one_opening():
    hours = [OpeningInterval(0, 540, 720), OpeningInterval(0, 780, 1080)]
    assert is_open_for(hours, Span(local(MONDAY, "09:00"), local(MONDAY, "12:00")), SHANGHAI)
    across_lunch = Span(local(MONDAY, "11:30"), local(MONDAY, "13:30"))
    assert not is_open_for(hours, across_lunch, SHANGHAI)


def test_the_day_the_clocks_go_forward_is_23_hours_and_hours_stay_on_the_wall_clock():
    spring = date(2030, 3, 31)  # Europe/Berlin moves from 02:00 to 03:00
    assert day_span(spring, BERLIN).length == timedelta(hours=23)
    (opening,) = intervals_on([OpeningInterval(6, 60, 240)], spring, BERLIN)
    assert opening.start == utc(2030, 3, 31, 0)  # 01:00 CET
    assert opening.end == utc(2030, 3, 31, 2)    # 04:00 CEST: two hours of real time


def test_spans_read_in_local_time():
    same_day = Span(local(MONDAY, "10:00"), local(MONDAY, "11:30"))
    overnight = Span(local(MONDAY, "23:00"), local(MONDAY + timedelta(days=1), "01:00"))
    assert local_span_text(same_day, SHANGHAI) == "2030-01-07 10:00–11:30"
    assert local_span_text(overnight, SHANGHAI) == "2030-01-07 23:00–2030-01-08 01:00"
