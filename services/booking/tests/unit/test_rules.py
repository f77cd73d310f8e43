"""The booking rules without I/O: what a new booking must satisfy, the free slots, and the
lifecycle (late cancellation, no-show, check-in)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from club_platform.errors import Conflict, Invalid

from club_booking.domain.calendar import OpeningInterval, Span
from club_booking.domain.rules import (
    BookingPolicy,
    Closure,
    Resource,
    Service,
    Status,
    check_fit,
    check_member_may_cancel,
    check_member_may_reschedule,
    check_no_show,
    check_open,
    check_still_booked,
    check_timing,
    free_slots,
    is_late_cancellation,
    no_show_deadline,
    status_after_check_in,
)

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = BookingPolicy(zone=ZONE, minimum_notice=timedelta(minutes=60),
                       horizon=timedelta(days=30), cancellation_cutoff=timedelta(hours=24),
                       no_show_grace=timedelta(minutes=15), slot_step=timedelta(minutes=15))
DAY = date(2030, 1, 8)  # a Tuesday
NOW = datetime(2030, 1, 7, 8, 0, tzinfo=ZONE)
COURT = Resource(id=uuid4(), name="Court 1", kind="court", capacity=4)
TENNIS = Service(code="tennis", duration=timedelta(minutes=60), buffer_before=timedelta(0),
                 buffer_after=timedelta(minutes=15), resource_kinds=("court",))
NINE_TO_TWO = [OpeningInterval(d, 540, 840) for d in range(7)]


def at(hh_mm: str, day: date = DAY) -> datetime:
    h, m = (int(p) for p in hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=ZONE)


def hour_from(hh_mm: str) -> Span:
    return Span(at(hh_mm), at(hh_mm) + timedelta(hours=1))


# ---------------------------------------------------------------- timing


def test_a_booking_must_end_after_it_starts():
    with pytest.raises(Invalid, match=r"ends_at \(2030-01-08 09:00\) must be after starts_at"):
        check_timing(Span(at("10:00"), at("09:00")), now=NOW, policy=POLICY, online=False)


def test_a_booking_in_the_past_is_refused_for_everyone():
    past = Span(NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    for online in (True, False):
        with pytest.raises(Invalid, match="in the past"):
            check_timing(past, now=NOW, policy=POLICY, online=online)


def test_online_bookings_need_notice_and_the_desk_does_not():
    soon = Span(NOW + timedelta(minutes=30), NOW + timedelta(minutes=90))
    with pytest.raises(Invalid, match="60 minutes' notice: the earliest start now is "
                                      "2030-01-07 09:00"):
        check_timing(soon, now=NOW, policy=POLICY, online=True)
    check_timing(soon, now=NOW, policy=POLICY, online=False)
    check_timing(Span(NOW + timedelta(minutes=60), NOW + timedelta(minutes=90)), now=NOW,
                 policy=POLICY, online=True)


def test_nobody_books_beyond_the_horizon():
    far = Span(NOW + timedelta(days=31), NOW + timedelta(days=31, hours=1))
    with pytest.raises(Invalid, match="30 days ahead"):
        check_timing(far, now=NOW, policy=POLICY, online=False)


# ---------------------------------------------------------------- fit and hours


def test_the_resource_must_suit_the_service_and_hold_the_party():
    check_fit(COURT, TENNIS, 4)
    with pytest.raises(Invalid, match=r"a party of 5 is over the capacity of 'Court 1' \(4\)"):
        check_fit(COURT, TENNIS, 5)
    room = Resource(id=uuid4(), name="Room 3", kind="treatment_room", capacity=1)
    with pytest.raises(Invalid, match="needs a resource of kind court; 'Room 3' is a "
                                      "treatment_room"):
        check_fit(room, TENNIS, 1)
    with pytest.raises(Invalid, match="not taking bookings"):
        check_fit(Resource(id=uuid4(), name="Old", kind="court", capacity=4, active=False),
                  TENNIS, 1)


def test_the_service_itself_must_be_within_opening_hours_its_buffers_need_not():
    check_open(COURT, TENNIS, hour_from("13:00"), hours=NINE_TO_TWO, closures=[], zone=ZONE)
    with pytest.raises(Invalid, match="not open for the whole of 2030-01-08 13:30–14:30 "
                                      r"\(Asia/Shanghai\); its hours on Tuesday: 09:00–14:00"):
        check_open(COURT, TENNIS, hour_from("13:30"), hours=NINE_TO_TWO, closures=[], zone=ZONE)


def test_a_closure_touching_the_buffers_is_a_closure():
    closure = Closure(Span(at("11:05"), at("12:00")), "net repair")
    held = check_open(COURT, TENNIS, hour_from("09:00"), hours=NINE_TO_TWO, closures=[closure],
                      zone=ZONE)
    assert held == Span(at("09:00"), at("10:15"))
    with pytest.raises(Invalid, match=r"closed 2030-01-08 11:05–12:00 \(net repair\)"):
        check_open(COURT, TENNIS, hour_from("10:00"), hours=NINE_TO_TWO, closures=[closure],
                   zone=ZONE)


def test_a_closed_day_says_so():
    weekdays_only = [OpeningInterval(d, 540, 840) for d in range(5)]
    saturday = date(2030, 1, 12)
    with pytest.raises(Invalid, match="its hours on Saturday: closed all day"):
        check_open(COURT, TENNIS, Span(at("10:00", saturday), at("11:00", saturday)),
                   hours=weekdays_only, closures=[], zone=ZONE)


# ---------------------------------------------------------------- free slots


def slot_starts(slots: list[Span]) -> list[str]:
    return [f"{s.start.astimezone(ZONE):%H:%M}" for s in slots]


def test_free_slots_keep_clear_of_other_bookings_with_both_buffers():
    massage = Service(code="massage", duration=timedelta(minutes=60),
                      buffer_before=timedelta(minutes=10), buffer_after=timedelta(minutes=15),
                      resource_kinds=("court",))
    taken = massage.held(hour_from("11:00"))  # 10:50–12:15
    slots = free_slots(COURT, massage, DAY, hours=NINE_TO_TWO, busy=[taken], now=NOW,
                       policy=POLICY, online=True)
    # Before: a slot's clearing must end by 10:50, so it starts by 09:35 (grid: 09:30).
    # After: its set-up may start at 12:15, so it starts from 12:25 (grid: 12:30).
    assert slot_starts(slots) == ["09:00", "09:15", "09:30", "12:30", "12:45", "13:00"]


def test_free_slots_start_at_midnight_on_a_resource_open_round_the_clock():
    always = [OpeningInterval(d, 0, 1440) for d in range(7)]
    slots = free_slots(COURT, TENNIS, DAY, hours=always, busy=[], now=NOW, policy=POLICY,
                       online=True)
    assert slot_starts(slots)[:2] == ["00:00", "00:15"]
    assert slot_starts(slots)[-1] == "23:45"  # ends at 00:45 the next day, still open
    assert len(slots) == 96


def test_free_slots_honour_notice_and_horizon():
    today = NOW.date()
    online = free_slots(COURT, TENNIS, today, hours=NINE_TO_TWO, busy=[], now=NOW,
                        policy=POLICY, online=True)
    desk = free_slots(COURT, TENNIS, today, hours=NINE_TO_TWO, busy=[], now=NOW,
                      policy=POLICY, online=False)
    assert slot_starts(online)[0] == "09:00"  # 08:00 now plus an hour's notice
    assert slot_starts(desk)[0] == "09:00"    # not open before 09:00 anyway
    late_now = at("09:20", today)
    assert slot_starts(free_slots(COURT, TENNIS, today, hours=NINE_TO_TWO, busy=[],
                                  now=late_now, policy=POLICY, online=True))[0] == "10:30"
    assert free_slots(COURT, TENNIS, today + timedelta(days=31), hours=NINE_TO_TWO, busy=[],
                      now=NOW, policy=POLICY, online=False) == []


def test_no_slots_for_a_resource_that_cannot_host_the_service():
    room = Resource(id=uuid4(), name="Room", kind="treatment_room", capacity=1)
    assert free_slots(room, TENNIS, DAY, hours=NINE_TO_TWO, busy=[], now=NOW, policy=POLICY,
                      online=False) == []


# ---------------------------------------------------------------- lifecycle


def test_a_cancellation_is_late_only_inside_the_cut_off():
    starts = at("10:00")
    assert not is_late_cancellation(starts, starts - timedelta(hours=24), POLICY)
    assert is_late_cancellation(starts, starts - timedelta(hours=23, minutes=59), POLICY)
    assert is_late_cancellation(starts, starts + timedelta(minutes=5), POLICY)


def test_members_change_bookings_themselves_only_outside_the_cut_off_and_before_the_start():
    starts = at("10:00")
    check_member_may_reschedule(starts, starts - timedelta(hours=25), POLICY)
    with pytest.raises(Conflict, match="24-hour cut-off"):
        check_member_may_reschedule(starts, starts - timedelta(hours=2), POLICY)
    check_member_may_cancel(starts, starts - timedelta(minutes=1), POLICY)
    with pytest.raises(Conflict, match="ask the front desk"):
        check_member_may_cancel(starts, starts, POLICY)


def test_only_a_waiting_booking_changes():
    booking_id = uuid4()
    check_still_booked(Status.BOOKED, booking_id, "cancelled")
    for status in (Status.CANCELLED, Status.FULFILLED, Status.NO_SHOW):
        with pytest.raises(Conflict, match="can no longer be cancelled"):
            check_still_booked(status, booking_id, "cancelled")


def test_a_no_show_comes_after_the_start_and_the_sweep_after_the_grace():
    booking_id = uuid4()
    starts = at("10:00")
    with pytest.raises(Conflict, match="before it starts"):
        check_no_show(Status.BOOKED, booking_id, starts, starts - timedelta(minutes=1), POLICY)
    check_no_show(Status.BOOKED, booking_id, starts, starts, POLICY)
    assert no_show_deadline(starts + timedelta(minutes=15), POLICY) == starts


@pytest.mark.parametrize(("before", "after"), [
    (Status.BOOKED, Status.FULFILLED),
    (Status.NO_SHOW, Status.FULFILLED),
    (Status.FULFILLED, Status.FULFILLED),
    (Status.CANCELLED, Status.CANCELLED),
])
def test_a_check_in_fulfils_whatever_was_not_cancelled(before, after):
    assert status_after_check_in(before) is after
