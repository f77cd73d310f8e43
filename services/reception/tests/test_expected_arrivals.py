"""Expected arrivals from booking.created / rescheduled / cancelled: whatever the order and
however often the events come, reception expects exactly the live bookings at their newest
time (R1 §3.1–3.2)."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from club_contracts import BookingCancelled, BookingCreated, BookingRescheduled
from club_platform.envelope import envelope_for


def cancellation(booking: BookingCreated, at, late: bool = False) -> BookingCancelled:
    return BookingCancelled(booking_id=booking.booking_id, customer_id=booking.customer_id,
                            reason="change of plans", late=late, cancelled_by=uuid4(),
                            cancelled_at=at)


def reschedule(booking: BookingCreated, at, starts_at) -> BookingRescheduled:
    return BookingRescheduled(
        booking_id=booking.booking_id, customer_id=booking.customer_id,
        resource_id=booking.resource_id, previous_starts_at=booking.starts_at,
        previous_ends_at=booking.ends_at, starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1), rescheduled_by=uuid4(), rescheduled_at=at)


async def _today(desk) -> list[str]:
    async with desk.head() as http:
        answer = await http.get("/arrivals")
    assert answer.status_code == 200, answer.text
    return [a["booking_id"] for a in answer.json()]


async def test_a_new_booking_is_expected_today(desk):
    booking = await desk.expect()
    assert str(booking.booking_id) in await _today(desk)
    arrival = await desk.wait_until(f"/arrivals/{booking.booking_id}")
    assert (arrival["service_code"], arrival["channel"]) == ("spa.massage", "online")


async def test_cancelled_before_created_leaves_no_expected_arrival(desk, staffed):
    location_id, ana, _bo = staffed
    booking = desk.booking()
    await desk.publisher.publish(cancellation(booking, desk.clock.now() - timedelta(hours=1)))
    await desk.wait_until(f"/arrivals/{booking.booking_id}",
                          lambda a: a["status"] == "cancelled")
    await desk.publisher.publish(booking)  # the creation arrives late
    arrival = await desk.wait_until(f"/arrivals/{booking.booking_id}",
                                    lambda a: a["service_code"] is not None)
    assert arrival["status"] == "cancelled"
    assert str(booking.booking_id) not in await _today(desk)

    async with desk.as_role("attendant") as http:
        refused = await http.post("/visits/check-in", json={
            "booking_id": str(booking.booking_id), "location_id": str(location_id),
            "host_staff_id": str(ana)})
        day = await http.get("/day-sheet")
    assert refused.status_code == 409
    assert (refused.json()["code"], refused.json()["reason"]) == ("booking_not_expected",
                                                                  "cancelled")
    assert "was cancelled" in refused.json()["detail"]
    assert str(booking.booking_id) not in [a["booking_id"] for a in day.json()["arrivals"]]


async def test_the_newest_reschedule_wins_even_when_it_arrives_first(desk):
    booking = desk.booking(starts_in=timedelta(hours=1))
    now = desk.clock.now()
    newest = reschedule(booking, now - timedelta(minutes=5), now + timedelta(hours=5))
    older = reschedule(booking, now - timedelta(minutes=30), now + timedelta(hours=3))
    for event in (newest, booking, older):
        await desk.publisher.publish(event)
    marker = await desk.expect()  # published after, on another topic's partition
    await desk.wait_until(f"/arrivals/{marker.booking_id}")
    arrival = await desk.wait_until(f"/arrivals/{booking.booking_id}",
                                    lambda a: a["service_code"] is not None)
    assert arrival["starts_at"].startswith(newest.starts_at.isoformat()[:19])


async def test_duplicate_booking_events_change_nothing(desk):
    booking = desk.booking()
    moved = reschedule(booking, desk.clock.now(), desk.clock.now() + timedelta(hours=2))
    envelopes = {id(e): envelope_for(e) for e in (booking, moved)}
    for event in (booking, moved):
        await desk.publisher.publish(event, envelope=envelopes[id(event)])
    before = await desk.wait_until(
        f"/arrivals/{booking.booking_id}",
        lambda a: a["service_code"] and a["starts_at"].startswith(
            moved.starts_at.isoformat()[:19]))
    row_before = await desk.rows("SELECT * FROM expected_arrivals WHERE booking_id = :b",
                                 b=booking.booking_id)

    # Redelivered (same ce_id) and re-sent (new ce_id, same facts), in another order.
    counts = {(t, o): desk.consumed(t, o) for t in ("booking.created", "booking.rescheduled")
              for o in ("handled", "duplicate")}
    for event in (moved, booking):
        await desk.publisher.publish(event, envelope=envelopes[id(event)])
        await desk.publisher.publish(event)
    for topic in ("booking.created", "booking.rescheduled"):
        await desk.settled(topic, handled=counts[topic, "handled"] + 1,
                           duplicate=counts[topic, "duplicate"] + 1)
    assert await desk.wait_until(f"/arrivals/{booking.booking_id}") == before
    assert await desk.rows("SELECT * FROM expected_arrivals WHERE booking_id = :b",
                           b=booking.booking_id) == row_before


async def test_a_booking_whose_events_disagree_on_the_customer_is_not_checked_in(desk,
                                                                                  staffed):
    location_id, ana, _bo = staffed
    booking = await desk.expect()
    odd = reschedule(booking, desk.clock.now(), booking.starts_at)
    odd = odd.model_copy(update={"customer_id": uuid4()})
    await desk.publisher.publish(odd)
    arrival = await desk.wait_until(f"/arrivals/{booking.booking_id}",
                                    lambda a: a["customer_disputed"])
    assert arrival["customer_id"] == str(booking.customer_id)  # booking.created names it
    async with desk.as_role("attendant") as http:
        refused = await http.post("/visits/check-in", json={
            "booking_id": str(booking.booking_id), "location_id": str(location_id),
            "host_staff_id": str(ana)})
    assert refused.status_code == 409
    assert refused.json()["reason"] == "disputed"
    assert "more than one customer" in refused.json()["detail"]


async def test_check_in_refuses_unknown_early_and_finished_bookings(desk, staffed):
    location_id, ana, _bo = staffed
    early = await desk.expect(desk.booking(starts_in=timedelta(hours=5)))
    over = await desk.expect(desk.booking(starts_in=timedelta(hours=-3)))
    reasons = {}
    async with desk.as_role("attendant") as http:
        for name, booking_id in (("early", early.booking_id), ("over", over.booking_id),
                                 ("unknown", uuid4())):
            answer = await http.post("/visits/check-in", json={
                "booking_id": str(booking_id), "location_id": str(location_id),
                "host_staff_id": str(ana)})
            assert answer.status_code == 409, answer.text
            reasons[name] = (answer.json()["reason"], answer.json()["detail"])
    assert reasons["early"][0] == "too_early" and "check-in opens at" in reasons["early"][1]
    assert reasons["over"][0] == "over" and "walk-in" in reasons["over"][1]
    assert reasons["unknown"][0] == "unknown"
