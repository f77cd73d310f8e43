"""A booked customer's whole path over real Kafka, PostgreSQL and HTTP: booking.created is
consumed → check-in → two services by two staff members → completion, and visit.completed on
its topic lists both services and both staff (R1 §3.1–3.4)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from club_contracts import VisitCheckedIn, VisitCompleted, VisitServiceRecorded


async def test_a_booked_customer_from_booking_to_completed_visit(desk, staffed, kafka_tap):
    location_id, ana, bo = staffed
    booking = await desk.expect(desk.booking(party_size=2))
    arrival = await desk.wait_until(f"/arrivals/{booking.booking_id}")
    assert arrival["status"] == "expected"
    assert arrival["customer_id"] == str(booking.customer_id)

    async with kafka_tap("visit.checked_in", "visit.service_recorded", "visit.completed") as tap:
        visit = await desk.check_in(booking, location_id, host_id=ana)
        assert visit["status"] == "in_progress"
        assert visit["booking_id"] == str(booking.booking_id)
        assert (visit["walk_in"], visit["party_size"]) == (False, 2)
        visit_id = visit["visit_id"]

        desk.clock.advance(hours=1)
        async with desk.as_role("attendant") as http:
            massage = await http.post(f"/visits/{visit_id}/services", json=desk.service(
                ana, code="spa.massage", minutes_ago=50, minutes=30,
                notes="prefers a firm pressure; mild back pain"))
            sauna = await http.post(f"/visits/{visit_id}/services", json=desk.service(
                bo, code="spa.sauna", minutes_ago=15, minutes=10))
            assert massage.status_code == 201, massage.text
            assert sauna.status_code == 201, sauna.text
            completed = await http.post(f"/visits/{visit_id}/complete")
        assert completed.status_code == 200, completed.text
        body = completed.json()
        assert body["status"] == "completed"
        assert [s["service_code"] for s in body["services"]] == ["spa.massage", "spa.sauna"]
        assert body["services"][0]["notes"] == "prefers a firm pressure; mild back pain"
        assert body["staff_ids"] == [str(ana), str(bo)]

        (checked_in,) = await tap.events(VisitCheckedIn, key=visit_id)
        assert checked_in.event.booking_id == booking.booking_id
        assert checked_in.event.customer_id == booking.customer_id
        assert checked_in.event.walk_in is False
        assert (checked_in.event.location_id, checked_in.event.host_staff_id) == (location_id,
                                                                                  ana)
        recorded = await tap.events(VisitServiceRecorded, key=visit_id, count=2)
        assert {(r.event.service_code, r.event.staff_id) for r in recorded} == {
            ("spa.massage", ana), ("spa.sauna", bo)}
        (done,) = await tap.events(VisitCompleted, key=visit_id)

    event = done.event
    assert event.booking_id == booking.booking_id
    assert event.customer_id == booking.customer_id
    assert event.host_staff_id == ana
    assert event.staff_ids == [ana, bo]
    assert [(s.service_code, s.staff_id) for s in event.services] == [
        ("spa.massage", ana), ("spa.sauna", bo)]
    assert event.services[0].ended_at - event.services[0].started_at == timedelta(minutes=30)
    assert event.checked_in_at < event.completed_at
    assert done.headers["ce_type"] == "club.visit.completed.v1"
    assert done.headers["ce_source"] == "club/reception"

    # The notes stay in reception: no event carries them.
    for seen in tap.seen:
        assert b"firm pressure" not in seen.record.value
        assert "notes" not in seen.record.value.decode()

    # The desk now sees the booking as completed.
    arrival = await desk.wait_until(f"/arrivals/{booking.booking_id}")
    assert (arrival["status"], arrival["visit_id"]) == ("completed", visit_id)


async def test_completing_twice_returns_the_same_visit_and_publishes_once(desk, staffed,
                                                                          kafka_tap):
    location_id, ana, _bo = staffed
    booking = await desk.expect()
    async with kafka_tap("visit.completed") as tap:
        visit = await desk.check_in(booking, location_id, host_id=ana)
        async with desk.as_role("attendant") as http:
            first = await http.post(f"/visits/{visit['visit_id']}/complete")
            desk.clock.advance(minutes=5)
            second = await http.post(f"/visits/{visit['visit_id']}/complete")
        assert first.status_code == second.status_code == 200
        assert first.json() == second.json()
        await tap.events(VisitCompleted, key=visit["visit_id"])
        seen = await tap.settle(1.5)
    completed = [s for s in seen if s.key == visit["visit_id"]]
    assert len(completed) == 1
    assert completed[0].event.staff_ids == [ana]  # no services: the host still served


async def test_a_booking_is_checked_in_once(desk, staffed):
    location_id, ana, bo = staffed
    booking = await desk.expect()
    visit = await desk.check_in(booking, location_id, host_id=ana)
    async with desk.as_role("attendant") as http:
        again = await http.post("/visits/check-in", json={
            "booking_id": str(booking.booking_id), "location_id": str(location_id),
            "host_staff_id": str(bo)})
    assert again.status_code == 409
    assert again.json()["code"] == "already_checked_in"
    assert visit["visit_id"] in again.json()["detail"]


async def test_two_desks_checking_in_one_booking_at_once_make_one_visit(desk, staffed):
    location_id, ana, bo = staffed
    booking = await desk.expect()

    async def check_in(host):
        async with desk.as_role("attendant") as http:
            return await http.post("/visits/check-in", json={
                "booking_id": str(booking.booking_id), "location_id": str(location_id),
                "host_staff_id": str(host)})

    answers = await asyncio.gather(*(check_in(host) for host in (ana, bo, ana, bo)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]
    rows = await desk.rows("SELECT visit_id FROM visits WHERE booking_id = :b",
                           b=booking.booking_id)
    assert len(rows) == 1


async def test_check_in_with_an_idempotency_key_happens_once(desk, staffed, kafka_tap):
    location_id, ana, _bo = staffed
    booking = await desk.expect()
    request = {"booking_id": str(booking.booking_id), "location_id": str(location_id),
               "host_staff_id": str(ana)}
    async with kafka_tap("visit.checked_in") as tap, desk.as_role("attendant") as http:
        http.headers["Idempotency-Key"] = "desk-1-checkin-42"
        first = await http.post("/visits/check-in", json=request)
        repeat = await http.post("/visits/check-in", json=request)
        other = await http.post("/visits/check-in", json={**request, "host_staff_id": str(
            _bo)})
        assert first.status_code == repeat.status_code == 201
        assert first.json()["visit_id"] == repeat.json()["visit_id"]
        assert other.status_code == 422
        assert "different request" in other.json()["detail"]
        await tap.events(VisitCheckedIn, key=first.json()["visit_id"])
        seen = await tap.settle(1.0)
    assert sum(1 for s in seen if s.event and s.event.booking_id == booking.booking_id) == 1
    assert UUID(first.json()["visit_id"])
