"""Expected arrivals converge whatever the order and the repeats of the booking events."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from functools import reduce
from uuid import uuid4

import pytest

from club_reception.domain import arrivals
from club_reception.domain.errors import BookingNotExpected

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BOOKING, CUSTOMER, ROOM_A, ROOM_B, STAFF = (uuid4() for _ in range(5))


def created(at=T0, starts=T0 + timedelta(days=1)):
    return lambda a: arrivals.booking_created(
        a, booking_id=BOOKING, customer_id=CUSTOMER, service_code="spa.massage",
        channel="online", party_size=2, staff_id=STAFF, resource_id=ROOM_A, starts_at=starts,
        ends_at=starts + timedelta(hours=1), created_at=at)


def rescheduled(at, starts, room=ROOM_B):
    return lambda a: arrivals.booking_rescheduled(
        a, booking_id=BOOKING, customer_id=CUSTOMER, resource_id=room, starts_at=starts,
        ends_at=starts + timedelta(hours=1), rescheduled_at=at)


def cancelled(at, late=False):
    return lambda a: arrivals.booking_cancelled(
        a, booking_id=BOOKING, customer_id=CUSTOMER, late=late, cancelled_at=at)


def replay(events):
    return reduce(lambda state, apply: apply(state), events, None)


def test_a_created_booking_is_expected_at_its_time():
    arrival = replay([created()])
    assert arrival.expected
    assert arrival.schedule.starts_at == T0 + timedelta(days=1)
    assert (arrival.service_code, arrival.party_size, arrival.staff_id) == (
        "spa.massage", 2, STAFF)


def test_the_newest_reschedule_wins_in_every_order_even_with_repeats():
    events = [
        created(),
        rescheduled(T0 + timedelta(hours=1), T0 + timedelta(days=2)),
        rescheduled(T0 + timedelta(hours=2), T0 + timedelta(days=3)),
    ]
    results = {replay(order) for order in itertools.permutations(events)}
    results |= {replay([*order, *order]) for order in itertools.permutations(events)}
    assert len(results) == 1
    (arrival,) = results
    assert arrival.schedule.starts_at == T0 + timedelta(days=3)
    assert arrival.schedule.resource_id == ROOM_B
    assert arrival.service_code == "spa.massage"  # the facts of `created` are kept


def test_a_cancellation_is_final_in_every_order():
    events = [
        created(),
        rescheduled(T0 + timedelta(hours=1), T0 + timedelta(days=2)),
        cancelled(T0 + timedelta(hours=3), late=True),
    ]
    results = {replay(order) for order in itertools.permutations(events)}
    assert len(results) == 1
    (arrival,) = results
    assert arrival.cancelled and not arrival.expected
    assert arrival.cancelled_late is True


def test_cancelled_before_created_leaves_no_expected_arrival():
    tombstone = replay([cancelled(T0 + timedelta(hours=1))])
    assert not tombstone.expected
    arrival = replay([cancelled(T0 + timedelta(hours=1)), created()])
    assert not arrival.expected
    assert arrival.service_code == "spa.massage"  # filled in, still cancelled


def test_an_older_reschedule_arriving_late_changes_nothing():
    newest = replay([created(), rescheduled(T0 + timedelta(hours=2), T0 + timedelta(days=3))])
    late = rescheduled(T0 + timedelta(hours=1), T0 + timedelta(days=2))(newest)
    assert late == newest


def test_equal_stamps_still_converge():
    a = rescheduled(T0 + timedelta(hours=1), T0 + timedelta(days=2))
    b = rescheduled(T0 + timedelta(hours=1), T0 + timedelta(days=4))
    assert replay([created(), a, b]) == replay([b, created(), a])


def test_two_cancellations_keep_the_first():
    first, second = cancelled(T0 + timedelta(hours=1)), cancelled(T0 + timedelta(hours=2), True)
    assert replay([first, second]) == replay([second, first])
    assert replay([second, first]).cancelled_at == T0 + timedelta(hours=1)
    assert replay([second, first]).cancelled_late is False


def test_events_naming_another_customer_dispute_the_booking_in_every_order():
    impostor, other = uuid4(), uuid4()
    odd_cancel = lambda a: arrivals.booking_cancelled(  # noqa: E731
        a, booking_id=BOOKING, customer_id=impostor, late=False, cancelled_at=T0)
    odd_move = lambda a: arrivals.booking_rescheduled(  # noqa: E731
        a, booking_id=BOOKING, customer_id=other, resource_id=ROOM_B,
        starts_at=T0 + timedelta(days=2), ends_at=T0 + timedelta(days=2, hours=1),
        rescheduled_at=T0 + timedelta(hours=1))
    events = [created(), odd_cancel, odd_move]
    results = {replay(order) for order in itertools.permutations(events)}
    assert len(results) == 1
    (arrival,) = results
    assert arrival.customer_id == CUSTOMER  # `created` names the customer
    assert arrival.customer_disputed
    # Without `created`, the choice is still the same in every order.
    assert len({replay(order) for order in itertools.permutations([odd_cancel, odd_move])}) == 1


def test_events_agreeing_on_the_customer_are_not_disputed():
    assert not replay([cancelled(T0), created(), rescheduled(T0, T0)]).customer_disputed


def test_a_disputed_booking_is_not_checked_in():
    arrival = arrivals.booking_rescheduled(
        replay([created()]), booking_id=BOOKING, customer_id=uuid4(), resource_id=ROOM_A,
        starts_at=T0 + timedelta(days=1), ends_at=T0 + timedelta(days=1, hours=1),
        rescheduled_at=T0 + timedelta(minutes=1))
    with pytest.raises(BookingNotExpected) as refused:
        arrivals.ensure_can_check_in(arrival, BOOKING, T0 + timedelta(days=1), timedelta(hours=2))
    assert refused.value.extra["reason"] == "disputed"


@pytest.mark.parametrize(("events", "now", "reason"), [
    ([], T0, "unknown"),
    ([created(), cancelled(T0)], T0 + timedelta(days=1), "cancelled"),
    ([rescheduled(T0, T0 + timedelta(days=1)), cancelled(T0)], T0 + timedelta(days=1),
     "cancelled"),
    ([created()], T0 + timedelta(hours=20), "too_early"),
    ([created()], T0 + timedelta(days=1, hours=1), "over"),
])
def test_check_in_needs_a_live_booking_inside_its_window(events, now, reason):
    with pytest.raises(BookingNotExpected) as refused:
        arrivals.ensure_can_check_in(replay(events), BOOKING, now, timedelta(hours=2))
    assert refused.value.extra["reason"] == reason


def test_check_in_opens_before_the_start_and_lasts_until_the_end():
    arrival = replay([created()])
    start = T0 + timedelta(days=1)
    for now in (start - timedelta(hours=2), start, start + timedelta(minutes=59)):
        assert arrivals.ensure_can_check_in(arrival, BOOKING, now, timedelta(hours=2))
