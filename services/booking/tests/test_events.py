"""Every state change of a booking appears on its topic (docs/events.md): exactly the
catalogue's fields, keyed by the booking id, in a CloudEvents binary-mode envelope."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from club_contracts import BookingCancelled, BookingCreated, BookingNoShow, BookingRescheduled
from club_contracts.base import Event

TOPICS = ("booking.created", "booking.rescheduled", "booking.cancelled", "booking.no_show")


def assert_on_the_bus(seen, model: type[Event], booking_id: str, at: datetime) -> dict:
    """The record's envelope and body, checked against the contract; returns the body."""
    headers = seen.headers
    assert seen.record.topic == model.topic
    assert seen.key == booking_id
    assert headers["ce_specversion"] == "1.0"
    assert UUID(headers["ce_id"])
    assert headers["ce_source"] == "club/booking"
    assert headers["ce_type"] == f"club.{model.topic}.v1"
    assert headers["ce_subject"] == booking_id
    assert headers["content-type"] == "application/json"
    assert datetime.fromisoformat(headers["ce_time"]) == at
    body = json.loads(seen.record.value)
    assert set(body) == set(model.model_fields), "exactly the catalogue's fields"
    assert model.model_validate(body)
    assert body["booking_id"] == booking_id
    return body


async def test_every_state_change_is_published_with_the_catalogue_fields(club, kafka_tap):
    court = await club.resource()
    other_court = await club.resource()
    tennis = await club.service(minutes=60)
    member = uuid4()
    first_slot = club.at(3, "10:00")
    second_slot = club.at(3, "12:00")
    later_slot = club.at(4, "10:00")
    async with kafka_tap(*TOPICS) as tap:
        booking = await club.book(court, tennis, first_slot, customer_id=member, party_size=3)
        booking_id = booking["id"]
        async with club.member(member) as http:
            moved = await http.post(f"/bookings/{booking_id}/reschedule", json={
                "starts_at": second_slot.isoformat(), "resource_id": other_court["id"]})
            assert moved.status_code == 200, moved.text
            cancelled = await http.post(f"/bookings/{booking_id}/cancel",
                                        json={"reason": "schedule_change"})
            assert cancelled.status_code == 200, cancelled.text
        no_show = await club.book_offline(court, tennis, later_slot, customer_id=member,
                                          via="desk")
        marked_at = later_slot + timedelta(minutes=20)
        club.clock.set(marked_at)
        async with club.desk() as http:
            marked = await http.post(f"/bookings/{no_show['id']}/no-show")
            assert marked.status_code == 200, marked.text

        created = (await tap.events(BookingCreated, key=booking_id))[0]
        rescheduled = (await tap.events(BookingRescheduled, key=booking_id))[0]
        cancel = (await tap.events(BookingCancelled, key=booking_id))[0]
        nobody_came = (await tap.events(BookingNoShow, key=no_show["id"]))[0]

    body = assert_on_the_bus(created, BookingCreated, booking_id,
                             datetime.fromisoformat(booking["created_at"]))
    assert body["customer_id"] == str(member)
    assert body["resource_id"] == court["id"]
    assert body["service_code"] == tennis["code"]
    assert body["channel"] == "online"
    assert body["party_size"] == 3
    assert body["staff_id"] is None
    assert body["created_by"] == str(member)
    assert datetime.fromisoformat(body["starts_at"]) == first_slot
    assert datetime.fromisoformat(body["ends_at"]) == first_slot + timedelta(minutes=60)

    body = assert_on_the_bus(rescheduled, BookingRescheduled, booking_id,
                             datetime.fromisoformat(moved.json()["updated_at"]))
    assert body["customer_id"] == str(member)
    assert body["resource_id"] == other_court["id"]
    assert datetime.fromisoformat(body["previous_starts_at"]) == first_slot
    assert datetime.fromisoformat(body["previous_ends_at"]) == first_slot + timedelta(hours=1)
    assert datetime.fromisoformat(body["starts_at"]) == second_slot
    assert datetime.fromisoformat(body["ends_at"]) == second_slot + timedelta(hours=1)
    assert body["rescheduled_by"] == str(member)

    body = assert_on_the_bus(cancel, BookingCancelled, booking_id,
                             datetime.fromisoformat(cancelled.json()["cancelled_at"]))
    assert body["customer_id"] == str(member)
    assert body["reason"] == "schedule_change"
    assert body["late"] is False
    assert body["cancelled_by"] == str(member)

    body = assert_on_the_bus(nobody_came, BookingNoShow, no_show["id"], marked_at)
    assert body["customer_id"] == str(member)
    assert body["resource_id"] == court["id"]
    assert datetime.fromisoformat(body["marked_at"]) == marked_at
    assert datetime.fromisoformat(body["starts_at"]) == later_slot


async def test_an_offline_booking_carries_its_channel_and_preferred_staff(club, kafka_tap):
    court = await club.resource()
    tennis = await club.service()
    coach = uuid4()
    async with kafka_tap("booking.created") as tap:
        booking = await club.book_offline(court, tennis, club.at(2, "09:00"), via="phone",
                                          staff_id=str(coach))
        seen = (await tap.events(BookingCreated, key=booking["id"]))[0]
    body = assert_on_the_bus(seen, BookingCreated, booking["id"],
                             datetime.fromisoformat(booking["created_at"]))
    assert body["channel"] == "offline"
    assert body["staff_id"] == str(coach)
    assert body["created_by"] == str(club.attendant_id)
    # The sub-channel is the booking service's own detail, not the contract's.
    assert "offline_channel" not in body


async def test_a_refused_request_publishes_nothing(club, kafka_tap):
    court = await club.resource()
    tennis = await club.service()
    async with kafka_tap("booking.created") as tap:
        first = await club.book(court, tennis, club.at(1, "10:00"))
        await tap.events(BookingCreated, key=first["id"])
        refused = await club.book(court, tennis, club.at(1, "10:30"), expect=409)
        seen = await tap.settle(1.0)
    assert refused["code"] == "conflict"
    on_this_court = [s for s in seen if s.event and str(s.event.resource_id) == court["id"]]
    assert [s.key for s in on_this_court] == [first["id"]]
