"""The notification rules without I/O: quiet hours, when reminders go, back-off, the texts in
both languages, and the calendar entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import icalendar
import pytest

from club_crm.domain.calendar_invites import booking_invite
from club_crm.domain.notifications import (
    LANGUAGES,
    NON_ESSENTIAL,
    TEMPLATES,
    Kind,
    QuietHours,
    language_of,
    outside_quiet_hours,
    parse_hours,
    reminder_times,
    render,
    retry_delay,
)

ZONE = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours.parse("22:00-08:00")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=ZONE)


@pytest.mark.parametrize(("moment", "quiet"), [
    (local(10, 21, 59), False), (local(10, 22), True), (local(11, 3), True),
    (local(11, 7, 59), True), (local(11, 8), False), (local(11, 12), False),
])
def test_quiet_hours_span_midnight(moment, quiet):
    assert QUIET.contains(moment, ZONE) is quiet
    assert QUIET.contains(moment.astimezone(UTC), ZONE) is quiet   # the zone decides, not UTC


def test_quiet_hours_are_parsed_or_refused():
    assert QuietHours.parse("") is None
    day = QuietHours.parse("12:00-14:00")
    assert day.contains(local(1, 13), ZONE) and not day.contains(local(1, 14), ZONE)
    for bad in ("22-08", "25:00-08:00", "08:00-08:00", "night"):
        with pytest.raises(ValueError):
            QuietHours.parse(bad)


def test_a_reminder_due_in_quiet_hours_waits_for_their_end_or_comes_the_evening_before():
    # 2 h before a 09:00 booking is 07:00: sent at 08:00, still an hour before.
    assert outside_quiet_hours(local(11, 7), local(11, 9), QUIET, ZONE) == local(11, 8)
    # 2 h before an 08:15 booking is 06:15; 08:00 would leave 15 minutes: the evening before.
    assert outside_quiet_hours(local(11, 6, 15), local(11, 8, 15), QUIET, ZONE) == local(
        10, 21, 59)
    assert outside_quiet_hours(local(11, 15), local(11, 17), QUIET, ZONE) == local(11, 15)
    assert outside_quiet_hours(local(11, 7), local(11, 9), None, ZONE) == local(11, 7)


def test_reminders_are_only_those_still_ahead_and_never_two_at_once():
    starts = local(12, 9)
    assert reminder_times(starts, (24, 2), local(10, 12), QUIET, ZONE) == [
        (24, local(11, 9)), (2, local(12, 8))]
    # Booked the evening before: the 24 h reminder is already past.
    assert reminder_times(starts, (24, 2), local(11, 20), QUIET, ZONE) == [(2, local(12, 8))]
    # Both pushed to the same moment by quiet hours: one reminder.
    early = local(12, 9, 30)
    assert reminder_times(early, (3, 2), local(11, 12), QUIET, ZONE) == [(3, local(12, 8))]
    assert parse_hours("24, 2") == (24.0, 2.0)
    for bad in ("soon", "0", "400"):
        with pytest.raises(ValueError):
            parse_hours(bad)


def test_back_off_doubles_up_to_its_cap():
    assert [retry_delay(n, 30, 900).total_seconds() for n in (1, 2, 3, 5, 6, 20)] == [
        30, 60, 120, 480, 900, 900]


@pytest.mark.parametrize(("preference", "language"), [
    ("zh", "zh-CN"), ("zh-Hans", "zh-CN"), ("EN-gb", "en"), ("fr", "zh-CN"), (None, "zh-CN"),
    (3, "zh-CN")])
def test_the_language_comes_from_the_preference_or_the_club_default(preference, language):
    assert language_of(preference, "zh-CN") == language


PAYLOAD = {"ref": str(uuid4()), "booking_id": str(uuid4()), "service": "massage",
           "starts": "2026-12-11T01:00:00+00:00", "ends": "2026-12-11T02:00:00+00:00",
           "previous": "2026-12-10T01:00:00+00:00", "completed": "2026-12-10T08:00:00+00:00",
           "expires": "2026-12-24T08:00:00+00:00", "opened": "2026-12-10T08:00:00+00:00",
           "due": "2026-12-10T12:00:00+00:00", "escalated": "2026-12-10T13:00:00+00:00",
           "decided": "2026-12-10T13:00:00+00:00", "effective": "2027-01-01T00:00:00+00:00",
           "upheld": True, "resolution": "We were late.", "level": 1, "reason": "sla_breach",
           "category": "service", "severity": "medium", "action": "written_warning",
           "rule": "R1 §7.2", "violation": "late", "title": "Towels", "version": 2,
           "requires_training": True, "occurred": "2026-12-10T01:30:00+00:00",
           "clause": "R2 §4.2", "change": "scheduled",
           "compensation": {"kind": "voucher", "value": {"amount": "50.00", "currency": "CNY"}}}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(Kind))
def test_every_message_has_a_text_in_both_languages(kind, language):
    assert set(TEMPLATES[kind]) == set(LANGUAGES)
    text = render(kind, language, PAYLOAD, club="Harbour Club", zone=ZONE,
                  link="https://club.example/s/x", unsubscribe="https://club.example/u/y")
    assert "Harbour Club" in text.subject + text.body
    assert "{" not in text.subject + text.body      # every field filled
    assert ("https://club.example/u/y" in text.body) is (kind in NON_ESSENTIAL)


def test_times_are_the_clubs_and_a_non_essential_message_needs_its_way_out():
    text = render(Kind.BOOKING_CONFIRMED, "en", PAYLOAD, club="C", zone=ZONE)
    assert "09:00" in text.body and "10:00" in text.body and "Asia/Shanghai" in text.body
    zh = render(Kind.COMPLAINT_RESOLVED, "zh-CN", PAYLOAD, club="C", zone=ZONE)
    assert "投诉成立" in zh.body and "代金券 50.00 CNY" in zh.body and "We were late." in zh.body
    with pytest.raises(ValueError):
        render(Kind.BOOKING_REMINDER, "en", PAYLOAD, club="C", zone=ZONE)


def test_the_staff_messages_of_cases_trainings_and_shifts_read_in_the_clubs_time():
    opened = {**PAYLOAD, "violation": "late_arrival", "rule": "R2 §6.1"}
    zh = render(Kind.DISCIPLINE_OPENED, "zh-CN", opened, club="C", zone=ZONE)
    assert "“迟到”" in zh.body and "2026年12月10日 09:30" in zh.body and "R2 §6.1" in zh.body
    en = render(Kind.DISCIPLINE_OPENED, "en", {**opened, "violation": "new_rule"}, club="C",
                zone=ZONE)
    assert "about new_rule on Thu 10 Dec 2026, 09:30" in en.body    # an unknown code as is
    training = render(Kind.TRAINING_ASSIGNED, "zh-CN", PAYLOAD, club="C", zone=ZONE)
    assert "2026年12月11日 09:00 至 2026年12月11日 10:00" in training.body
    assert training.body.count("R2 §4.2") == 1  # the training's own clause, cited once
    other = render(Kind.TRAINING_ASSIGNED, "en", {**PAYLOAD, "clause": "R2 §5.3"}, club="C",
                   zone=ZONE)
    assert "under R2 §5.3" in other.body and "§4.2" not in other.body
    cancelled = {**PAYLOAD, "change": "cancelled"}
    assert "新增一个班次" in render(Kind.SHIFT_CHANGED, "zh-CN", PAYLOAD, club="C",
                                  zone=ZONE).body
    assert "班次已取消" in render(Kind.SHIFT_CHANGED, "zh-CN", cancelled, club="C",
                                 zone=ZONE).body
    assert "is cancelled" in render(Kind.SHIFT_CHANGED, "en", cancelled, club="C",
                                    zone=ZONE).body


def test_the_calendar_entry_is_valid_icalendar():
    booking_id = uuid4()
    starts = datetime(2026, 12, 11, 1, tzinfo=UTC)
    raw = booking_invite(booking_id=booking_id, starts_at=starts,
                         ends_at=starts + timedelta(hours=1), summary="Club: massage",
                         description="booked", stamp=starts - timedelta(days=1), sequence=2,
                         cancelled=True)
    calendar = icalendar.Calendar.from_ical(raw)
    [event] = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"booking-{booking_id}@club.example"
    assert event.decoded("DTSTART") == starts and int(event["SEQUENCE"]) == 2
