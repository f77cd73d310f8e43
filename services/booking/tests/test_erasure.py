"""customer.erased (R1 §6): the booking service drops its link to the customer and keeps
the bookings, anonymous, so the counts still add up. What they still had booked is
cancelled first: those cancellations are the last events to carry their id."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
from club_contracts import BookingCancelled, CustomerErased
from club_platform.db import asyncpg_dsn
from club_platform.testing import wait_for


async def test_an_erased_customer_is_unlinked_and_their_bookings_stay_as_counts(
        club, event_publisher, kafka_tap, booking_database):
    court = await club.resource()
    tennis = await club.service()
    customer, neighbour = uuid4(), uuid4()
    # Booked with an Idempotency-Key, whose stored reply names the customer.
    async with club.member(customer) as http:
        answer = await http.post("/bookings", headers={"Idempotency-Key": "erase-me"}, json={
            "resource_id": court["id"], "service_code": tennis["code"],
            "starts_at": club.at(2, "10:00").isoformat()})
        assert answer.status_code == 201
        upcoming = answer.json()
    by_phone = await club.book_offline(court, tennis, club.at(2, "12:00"), customer_id=customer)
    theirs_cancelled = await club.book(court, tennis, club.at(2, "14:00"), customer_id=customer)
    async with club.member(customer) as http:
        await http.post(f"/bookings/{theirs_cancelled['id']}/cancel", json={"reason": "illness"})
    neighbours = await club.book(court, tennis, club.at(2, "16:00"), customer_id=neighbour)
    erased_at = club.clock.now()

    async with kafka_tap("booking.cancelled") as tap:
        await event_publisher.publish(CustomerErased(customer_id=customer, erased_at=erased_at))
        cancellations = await tap.events(BookingCancelled, count=2)
        await tap.settle(1.0)

    ours = {str(s.event.booking_id): s.event for s in tap.seen
            if s.event and s.event.customer_id == customer}
    assert set(ours) == {upcoming["id"], by_phone["id"]}
    assert len(cancellations) >= 2
    for event in ours.values():
        assert event.reason == "customer_erased"
        assert event.late is False
        assert event.cancelled_by == UUID(int=0)

    async def unlinked():
        found = await club.booking(upcoming["id"])
        return found if found["customer_id"] is None else None

    await wait_for(unlinked, timeout=20, what="the customer unlinked")
    async with club.desk() as http:
        sheet = (await http.get(f"/resources/{court['id']}/day-sheet",
                                params={"date": str(club.at(2, "00:00").date())})).json()
        by_customer = (await http.get("/bookings", params={"customer_id": str(customer)})).json()
    by_id = {b["id"]: b for b in sheet["bookings"]}
    # Four bookings still counted; none of the erased customer's carries their id.
    assert len(by_id) == 4
    for booking_id in (upcoming["id"], by_phone["id"], theirs_cancelled["id"]):
        assert by_id[booking_id]["customer_id"] is None
        assert by_id[booking_id]["customer_erased"] is True
        assert by_id[booking_id]["status"] == "cancelled"
    assert by_id[neighbours["id"]]["customer_id"] == str(neighbour)
    assert by_id[neighbours["id"]]["status"] == "booked"
    assert sheet["counts"]["cancelled"] == 3 and sheet["counts"]["booked"] == 1
    assert by_customer == []

    # Nothing in the database names them, but the tombstone that refuses new bookings.
    conn = await asyncpg.connect(asyncpg_dsn(booking_database))
    try:
        left = await conn.fetchval("SELECT count(*) FROM bookings WHERE customer_id = $1",
                                   customer)
        keys = await conn.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE principal = $1 OR response::text "
            "LIKE '%' || $1 || '%'", str(customer))
    finally:
        await conn.close()
    assert left == 0 and keys == 0

    # No new booking for them, online or by staff.
    refused_online = await club.book(court, tennis, club.at(3, "10:00"), customer_id=customer,
                                     expect=409)
    refused_offline = await club.book_offline(court, tennis, club.at(3, "12:00"),
                                              customer_id=customer, expect=409)
    assert "erased" in refused_online["detail"] and "erased" in refused_offline["detail"]


async def test_an_erasure_delivered_twice_changes_nothing_more(club, event_publisher, kafka_tap):
    court = await club.resource()
    tennis = await club.service()
    customer = uuid4()
    booking = await club.book(court, tennis, club.at(4, "10:00"), customer_id=customer)
    erasure = CustomerErased(customer_id=customer, erased_at=club.clock.now())
    async with kafka_tap("booking.cancelled") as tap:
        await event_publisher.publish(erasure)
        # Another copy with its own ce_id (CRM retried): the inbox does not know it.
        await event_publisher.publish(erasure)
        await tap.events(BookingCancelled, key=booking["id"])
        seen = await tap.settle(1.5)
    # One cancellation, published once per major (v1 and v2 side by side).
    assert sorted(s.event.major for s in seen if s.key == booking["id"]) == [1, 2]
    after = await club.booking(booking["id"])
    assert after["status"] == "cancelled" and after["customer_id"] is None
