"""A walk-in's path: no booking, the customer named by the staff (R1 §3.2, R2 §1.2)."""

from __future__ import annotations

from uuid import uuid4

from club_contracts import VisitCheckedIn, VisitCompleted


async def test_a_walk_in_from_the_door_to_completion(desk, staffed, kafka_tap):
    location_id, ana, bo = staffed
    customer_id = uuid4()
    async with kafka_tap("visit.checked_in", "visit.completed") as tap:
        visit = await desk.walk_in(location_id, host_id=bo, customer_id=customer_id)
        assert (visit["walk_in"], visit["booking_id"]) == (True, None)
        desk.clock.advance(minutes=45)
        async with desk.as_role("attendant") as http:
            served = await http.post(f"/visits/{visit['visit_id']}/services",
                                     json=desk.service(ana, code="spa.facial"))
            assert served.status_code == 201, served.text
            done = await http.post(f"/visits/{visit['visit_id']}/complete")
            assert done.status_code == 200, done.text
        (checked_in,) = await tap.events(VisitCheckedIn, key=visit["visit_id"])
        (completed,) = await tap.events(VisitCompleted, key=visit["visit_id"])
    assert checked_in.event.walk_in is True
    assert checked_in.event.booking_id is None
    assert checked_in.event.customer_id == customer_id
    assert completed.event.booking_id is None
    assert completed.event.staff_ids == [bo, ana]
    assert [s.service_code for s in completed.event.services] == ["spa.facial"]


async def test_a_customer_on_the_floor_is_not_checked_in_twice(desk, staffed):
    location_id, ana, bo = staffed
    customer_id = uuid4()
    first = await desk.walk_in(location_id, ana, customer_id=customer_id)
    async with desk.as_role("attendant") as http:
        again = await http.post("/visits/walk-in", json={
            "customer_id": str(customer_id), "location_id": str(location_id),
            "host_staff_id": str(bo)})
        assert again.status_code == 409
        assert again.json()["code"] == "already_checked_in"
        assert first["visit_id"] in again.json()["detail"]
        # Once the visit is completed they can come again.
        await http.post(f"/visits/{first['visit_id']}/complete")
        later = await http.post("/visits/walk-in", json={
            "customer_id": str(customer_id), "location_id": str(location_id),
            "host_staff_id": str(bo)})
    assert later.status_code == 201, later.text
