"""A booking's life: rescheduled, cancelled (late inside the cut-off), a no-show (marked by
the desk, or by the sweep once the grace period passes with no check-in), or fulfilled when
reception reports the check-in (visit.checked_in, R1 §3.2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from club_contracts import BookingCancelled, BookingFulfilled, BookingNoShow, VisitCheckedIn
from club_platform.testing import wait_for

from club_booking.jobs import NO_SHOW_SWEEP


def soon(club, hours: float) -> datetime:
    """A whole minute `hours` from the club's now."""
    return (club.clock.now() + timedelta(hours=hours)).replace(second=0, microsecond=0)


async def test_a_cancellation_inside_the_cut_off_is_late(club, kafka_tap):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    member = uuid4()
    in_five_hours = await club.book(court, tennis, soon(club, 5), customer_id=member)
    in_three_days = await club.book(court, tennis, soon(club, 72), customer_id=member)
    async with kafka_tap("booking.cancelled") as tap, club.member(member) as http:
        late = await http.post(f"/bookings/{in_five_hours['id']}/cancel",
                               json={"reason": "illness"})
        early = await http.post(f"/bookings/{in_three_days['id']}/cancel",
                                json={"reason": "customer_request"})
        late_event = (await tap.events(BookingCancelled, key=in_five_hours["id"]))[0].event
        early_event = (await tap.events(BookingCancelled, key=in_three_days["id"]))[0].event
    assert late.json()["cancelled_late"] is True and late_event.late is True
    assert early.json()["cancelled_late"] is False and early_event.late is False
    assert late.json()["status"] == "cancelled"
    assert late.json()["cancel_reason"] == "illness"


async def test_cancelling_twice_is_refused_unless_it_is_the_same_request_repeated(club):
    court = await club.resource()
    tennis = await club.service()
    member = uuid4()
    booking = await club.book(court, tennis, club.at(2, "10:00"), customer_id=member)
    url = f"/bookings/{booking['id']}/cancel"
    async with club.member(member) as http:
        first = await http.post(url, json={"reason": "illness"}, headers={"Idempotency-Key": "c"})
        repeat = await http.post(url, json={"reason": "illness"}, headers={"Idempotency-Key": "c"})
        again = await http.post(url, json={"reason": "illness"})
    assert first.status_code == 200 and repeat.status_code == 200
    assert repeat.json() == first.json()
    assert again.status_code == 409
    assert "is cancelled; it can no longer be cancelled" in again.json()["detail"]


async def test_inside_the_cut_off_a_member_cannot_move_a_booking_but_the_desk_can(club):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    member = uuid4()
    booking = await club.book(court, tennis, soon(club, 6), customer_id=member)
    new_start = soon(club, 8)
    async with club.member(member) as http:
        refused = await http.post(f"/bookings/{booking['id']}/reschedule",
                                  json={"starts_at": new_start.isoformat()})
    async with club.desk() as http:
        moved = await http.post(f"/bookings/{booking['id']}/reschedule",
                                json={"starts_at": new_start.isoformat()})
    assert refused.status_code == 409
    assert "cut-off" in refused.json()["detail"]
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["starts_at"]) == new_start
    # The length is kept.
    assert datetime.fromisoformat(moved.json()["ends_at"]) == new_start + timedelta(hours=1)


async def test_rescheduling_to_the_same_slot_changes_nothing_and_announces_nothing(
        club, kafka_tap):
    court = await club.resource()
    tennis = await club.service()
    member = uuid4()
    booking = await club.book(court, tennis, club.at(3, "10:00"), customer_id=member)
    async with kafka_tap("booking.rescheduled") as tap, club.member(member) as http:
        same = await http.post(f"/bookings/{booking['id']}/reschedule",
                               json={"starts_at": booking["starts_at"]})
        seen = await tap.settle(1.0)
    assert same.status_code == 200
    assert same.json()["updated_at"] == booking["updated_at"]
    assert [s for s in seen if s.key == booking["id"]] == []


async def test_a_member_cannot_cancel_once_the_booking_started_but_the_desk_can(club):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    member = uuid4()
    starts = soon(club, 2)
    booking = await club.book(court, tennis, starts, customer_id=member)
    club.clock.set(starts + timedelta(minutes=5))
    async with club.member(member) as http:
        refused = await http.post(f"/bookings/{booking['id']}/cancel",
                                  json={"reason": "illness"})
    async with club.desk() as http:
        cancelled = await http.post(f"/bookings/{booking['id']}/cancel",
                                    json={"reason": "illness"})
    assert refused.status_code == 409 and "front desk" in refused.json()["detail"]
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_late"] is True


async def test_the_desk_cannot_mark_a_no_show_before_the_start(club):
    court = await club.resource()
    tennis = await club.service()
    booking = await club.book(court, tennis, club.at(1, "10:00"))
    async with club.desk() as http:
        refused = await http.post(f"/bookings/{booking['id']}/no-show")
    assert refused.status_code == 409
    assert "before it starts" in refused.json()["detail"]
    assert (await club.booking(booking["id"]))["status"] == "booked"


async def test_the_sweep_marks_a_no_show_once_the_grace_period_passes(club, kafka_tap):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    member = uuid4()
    starts = soon(club, 2)
    waiting = await club.book(court, tennis, starts, customer_id=member)
    later = await club.book(court, tennis, starts + timedelta(hours=2), customer_id=member)
    runtime = club.runtime

    async with kafka_tap("booking.no_show") as tap:
        # Fourteen minutes after the start the customer may still come (15 minutes' grace).
        club.clock.set(starts + timedelta(minutes=14))
        await runtime.run_job(NO_SHOW_SWEEP)
        assert (await club.booking(waiting["id"]))["status"] == "booked"

        club.clock.set(starts + timedelta(minutes=15))
        marked = await runtime.run_job(NO_SHOW_SWEEP)
        seen = (await tap.events(BookingNoShow, key=waiting["id"]))[0].event
        # A second sweep finds nothing more to mark for it.
        await runtime.run_job(NO_SHOW_SWEEP)
        announced = [s for s in await tap.settle(1.0) if s.key == waiting["id"]]

    assert marked >= 1
    assert len(announced) == 1
    after = await club.booking(waiting["id"])
    assert after["status"] == "no_show"
    assert datetime.fromisoformat(after["no_show_at"]) == starts + timedelta(minutes=15)
    assert seen.customer_id == member
    assert seen.starts_at == starts
    assert seen.marked_at == starts + timedelta(minutes=15)
    # The booking two hours later is not due yet.
    assert (await club.booking(later["id"]))["status"] == "booked"


async def test_a_check_in_fulfils_the_booking_and_the_sweep_leaves_it_alone(
        club, event_publisher, kafka_tap):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    member = uuid4()
    starts = soon(club, 2)
    booking = await club.book(court, tennis, starts, customer_id=member)
    visit_id = uuid4()
    checked_in_at = starts - timedelta(minutes=5)
    check_in = VisitCheckedIn(visit_id=visit_id, booking_id=booking["id"], customer_id=member,
                              location_id=uuid4(), host_staff_id=uuid4(), walk_in=False,
                              checked_in_at=checked_in_at)
    async with kafka_tap("booking.fulfilled") as tap:
        envelope = await event_publisher.publish(check_in)
        # Delivered twice (the same event again), and a second visit later on for the same
        # booking.
        await event_publisher.publish(check_in, envelope=envelope)
        await event_publisher.publish(check_in.model_copy(update={
            "visit_id": uuid4(), "checked_in_at": checked_in_at + timedelta(minutes=30)}))

        async def fulfilled():
            found = await club.booking(booking["id"])
            return found if found["status"] == "fulfilled" else None

        found = await wait_for(fulfilled, timeout=20, what="the booking fulfilled")
        [seen] = await tap.events(BookingFulfilled, key=booking["id"])
        await tap.settle(1.0)
    # booking.fulfilled once, for all three deliveries.
    assert [s.key for s in tap.seen if s.key == booking["id"]] == [booking["id"]]
    assert (seen.event.visit_id, seen.event.customer_id, seen.event.checked_in_at,
            seen.event.after_no_show) == (visit_id, member, checked_in_at, False)
    club.clock.set(starts + timedelta(hours=1))
    await club.runtime.run_job(NO_SHOW_SWEEP)
    after = await club.booking(booking["id"])
    assert after["status"] == "fulfilled"
    assert after["visit_id"] == str(visit_id)
    assert datetime.fromisoformat(after["checked_in_at"]) == checked_in_at
    assert found["visit_id"] == str(visit_id)


async def test_a_late_check_in_overrules_a_no_show_but_not_a_cancellation(
        club, event_publisher, kafka_tap):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    member = uuid4()
    starts = soon(club, 2)
    came_late = await club.book(court, tennis, starts, customer_id=member)
    cancelled = await club.book(court, tennis, starts + timedelta(hours=3), customer_id=member)
    async with club.member(member) as http:
        answer = await http.post(f"/bookings/{cancelled['id']}/cancel",
                                 json={"reason": "illness"})
        assert answer.status_code == 200
    club.clock.set(starts + timedelta(minutes=20))
    await club.runtime.run_job(NO_SHOW_SWEEP)
    assert (await club.booking(came_late["id"]))["status"] == "no_show"

    async with kafka_tap("booking.fulfilled") as tap:
        for booking_id, at in ((came_late["id"], starts + timedelta(minutes=25)),
                               (cancelled["id"], starts + timedelta(hours=3))):
            await event_publisher.publish(VisitCheckedIn(
                visit_id=uuid4(), booking_id=booking_id, customer_id=member,
                location_id=uuid4(), host_staff_id=uuid4(), walk_in=False, checked_in_at=at))

        async def both_seen():
            late, gone = (await club.booking(came_late["id"]),
                          await club.booking(cancelled["id"]))
            return (late, gone) if late["visit_id"] and gone["visit_id"] else None

        late, gone = await wait_for(both_seen, timeout=20, what="both check-ins handled")
        [seen] = await tap.events(BookingFulfilled, key=came_late["id"])
        await tap.settle(1.0)
    assert seen.event.after_no_show is True
    assert not [s for s in tap.seen if s.key == cancelled["id"]]  # a cancellation stands
    assert late["status"] == "fulfilled"
    assert gone["status"] == "cancelled"


async def test_a_check_in_for_a_booking_never_made_is_dead_lettered(
        club, event_publisher, kafka_tap, booking_settings):
    dead_letters = f"{booking_settings.group_id}.dlq"
    never_made = uuid4()
    async with kafka_tap(dead_letters) as tap:
        # A walk-in without a booking is not ours: no dead letter for it.
        walk_in = await event_publisher.publish(VisitCheckedIn(
            visit_id=uuid4(), booking_id=None, customer_id=uuid4(), location_id=uuid4(),
            host_staff_id=uuid4(), walk_in=True, checked_in_at=club.clock.now()))
        await event_publisher.publish(VisitCheckedIn(
            visit_id=uuid4(), booking_id=never_made, customer_id=uuid4(), location_id=uuid4(),
            host_staff_id=uuid4(), walk_in=False, checked_in_at=club.clock.now()))
        dead = await tap.wait_for(lambda s: s.headers.get("dlq_original_topic")
                                  == "visit.checked_in" and str(never_made) in s.headers.get(
                                      "dlq_error", ""))
    assert dead[0].headers["dlq_reason"] == "unprocessable"
    assert "never made" in dead[0].headers["dlq_error"]
    assert not [s for s in tap.seen if s.headers.get("ce_id") == str(walk_in.id)]
