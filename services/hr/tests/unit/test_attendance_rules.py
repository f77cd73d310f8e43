"""R2 §6.1 working hours: which shift a clocking belongs to, late arrivals and early leaves
beyond the grace period, and verdicts that do not depend on the order clockings arrive in."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from club_platform.errors import Invalid

from club_hr.domain.attendance import (
    ABSENCE,
    EARLY_LEAVE,
    LATE_ARRIVAL,
    Clocking,
    Leave,
    Shift,
    attendance_of,
    check_shift,
    shift_of,
)

GRACE = timedelta(minutes=5)
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def shift(start: datetime = NINE, hours: float = 8) -> Shift:
    return Shift(uuid4(), start, start + timedelta(hours=hours))


def clock(direction: str, at: datetime) -> Clocking:
    return Clocking(uuid4(), direction, at)


def test_arriving_within_the_grace_period_is_on_time():
    day = shift()
    verdict = attendance_of([day], [clock("in", NINE + timedelta(minutes=5)),
                                    clock("out", day.ends_at)], GRACE)[day.shift_id]
    assert not verdict.late and verdict.late_minutes == 0
    assert verdict.kept
    assert verdict.violations() == {}


def test_arriving_after_the_grace_period_is_late_by_whole_minutes():
    day = shift()
    arrival = clock("in", NINE + timedelta(minutes=12, seconds=40))
    verdict = attendance_of([day], [arrival], GRACE)[day.shift_id]
    assert verdict.late and verdict.late_minutes == 12
    assert not verdict.kept
    assert verdict.violations() == {LATE_ARRIVAL: (12, arrival)}


def test_leaving_before_the_end_beyond_grace_is_an_early_leave():
    day = shift()
    departure = clock("out", day.ends_at - timedelta(minutes=30))
    verdict = attendance_of([day], [clock("in", NINE), departure], GRACE)[day.shift_id]
    assert verdict.early and verdict.early_minutes == 30
    assert verdict.violations() == {EARLY_LEAVE: (30, departure)}


def test_the_first_arrival_and_the_last_departure_count():
    day = shift()
    clockings = [
        clock("in", NINE - timedelta(minutes=2)),
        clock("out", NINE + timedelta(hours=3)),  # a break
        clock("in", NINE + timedelta(hours=4)),  # back, hours after the start
        clock("out", day.ends_at + timedelta(minutes=1)),
    ]
    verdict = attendance_of([day], clockings, GRACE)[day.shift_id]
    assert verdict.kept
    assert verdict.arrival == clockings[0] and verdict.departure == clockings[3]


def test_the_verdict_does_not_depend_on_the_order_clockings_arrive_in():
    day = shift()
    clockings = [clock("in", NINE + timedelta(minutes=20)), clock("in", NINE),
                 clock("out", day.ends_at - timedelta(hours=1)), clock("out", day.ends_at)]
    forwards = attendance_of([day], clockings, GRACE)[day.shift_id]
    backwards = attendance_of([day], list(reversed(clockings)), GRACE)[day.shift_id]
    assert forwards == backwards
    assert forwards.kept  # the earlier arrival and the later departure win


def test_a_shift_nobody_clocked_into_is_not_kept_but_has_no_violation():
    day = shift()
    verdict = attendance_of([day], [], GRACE)[day.shift_id]
    assert not verdict.kept
    assert verdict.violations() == {}


def test_back_to_back_shifts_split_the_clockings_by_the_nearest_edge():
    morning = shift(NINE - timedelta(hours=1), hours=4)  # 08:00–12:00
    afternoon = shift(NINE + timedelta(hours=4), hours=4)  # 13:00–17:00
    out_at_noon = clock("out", NINE + timedelta(hours=3))
    in_late_afternoon = clock("in", NINE + timedelta(hours=4, minutes=20))
    assert shift_of(out_at_noon, [morning, afternoon]) == morning
    assert shift_of(in_late_afternoon, [morning, afternoon]) == afternoon
    verdicts = attendance_of([morning, afternoon],
                             [clock("in", morning.starts_at), out_at_noon, in_late_afternoon],
                             GRACE)
    assert verdicts[morning.shift_id].kept
    assert verdicts[afternoon.shift_id].late_minutes == 20


def test_a_clocking_far_from_every_shift_belongs_to_none():
    day = shift()
    assert shift_of(clock("in", NINE - timedelta(hours=4)), [day]) is None
    assert shift_of(clock("out", day.ends_at + timedelta(hours=3, minutes=1)), [day]) is None


def test_a_zero_grace_period_makes_any_lateness_a_violation():
    day = shift()
    verdict = attendance_of([day], [clock("in", NINE + timedelta(seconds=30))],
                            timedelta(0))[day.shift_id]
    assert verdict.late and verdict.late_minutes == 0  # late, by less than a minute


@pytest.mark.parametrize("hours", [0, -1, 17])
def test_a_shift_must_end_after_it_starts_and_not_last_too_long(hours):
    with pytest.raises(Invalid):
        check_shift(NINE, NINE + timedelta(hours=hours))


# ---------------------------------------------------------------- leave (R2 §6.1: unauthorised)


def leave(kind: str, start: datetime, end: datetime) -> Leave:
    return Leave(uuid4(), kind, start, end)


def test_an_authorised_late_start_moves_the_expected_arrival():
    day = shift()
    late_start = leave("late_start", NINE, NINE + timedelta(minutes=30))
    arrivals = [clock("in", NINE + timedelta(minutes=20)), clock("out", day.ends_at)]
    verdict = attendance_of([day], arrivals, GRACE, [late_start])[day.shift_id]
    assert verdict.kept and verdict.violations() == {}
    assert verdict.authorised == (late_start,)
    # without it, 20 minutes late
    plain = attendance_of([day], arrivals, GRACE)[day.shift_id]
    assert plain.violations()[LATE_ARRIVAL][0] == 20
    # arriving 12 minutes after the authorised start is still late, by 12 minutes
    later = attendance_of([day], [clock("in", NINE + timedelta(minutes=42))], GRACE,
                          [late_start])[day.shift_id]
    assert later.late_minutes == 12


def test_an_authorised_early_leave_moves_the_expected_departure():
    day = shift()
    early = leave("early_leave", day.ends_at - timedelta(hours=2), day.ends_at)
    verdict = attendance_of([day], [clock("in", NINE), clock("out", day.ends_at
                                                             - timedelta(hours=2))],
                            GRACE, [early])[day.shift_id]
    assert verdict.kept and verdict.violations() == {}


def test_a_shift_missed_without_leave_is_an_absence_and_with_leave_is_not_due():
    day = shift()
    after = day.ends_at + timedelta(minutes=1)
    missed = attendance_of([day], [], GRACE)[day.shift_id]
    assert missed.violations(after) == {ABSENCE: (480, None)}
    assert missed.violations(day.ends_at - timedelta(minutes=1)) == {}  # not over yet
    sick = leave("sick", NINE - timedelta(hours=1), day.ends_at + timedelta(hours=1))
    excused = attendance_of([day], [], GRACE, [sick])[day.shift_id]
    assert excused.on_leave == sick and excused.violations(after) == {}
    # leave covering only part of the shift does not take it off
    part = leave("personal", NINE, NINE + timedelta(hours=2))
    assert attendance_of([day], [], GRACE, [part])[day.shift_id].on_leave is None
