"""Bad input gets a clear 4xx naming the problem, never a 500; every endpoint checks roles."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4


async def test_completing_a_visit_never_checked_in(desk):
    visit_id = uuid4()
    async with desk.as_role("attendant") as http:
        answer = await http.post(f"/visits/{visit_id}/complete")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == f"visit {visit_id} was never checked in"


async def test_recording_a_service_for_a_visit_never_checked_in(desk, staffed):
    _location_id, ana, _bo = staffed
    async with desk.as_role("attendant") as http:
        answer = await http.post(f"/visits/{uuid4()}/services", json=desk.service(ana))
    assert answer.status_code == 404
    assert "never checked in" in answer.json()["detail"]


async def test_a_service_that_ends_before_it_starts(desk, staffed):
    location_id, ana, _bo = staffed
    visit = await desk.walk_in(location_id, ana)
    desk.clock.advance(minutes=30)
    now = desk.clock.now()
    async with desk.as_role("attendant") as http:
        answer = await http.post(f"/visits/{visit['visit_id']}/services", json={
            "service_code": "spa.massage", "staff_id": str(ana),
            "started_at": (now - timedelta(minutes=5)).isoformat(),
            "ended_at": (now - timedelta(minutes=20)).isoformat()})
        naive = await http.post(f"/visits/{visit['visit_id']}/services", json={
            "service_code": "spa.massage", "staff_id": str(ana),
            "started_at": "2026-11-27T10:00:00", "ended_at": "2026-11-27T10:30:00"})
        bad_code = await http.post(f"/visits/{visit['visit_id']}/services",
                                   json={**desk.service(ana), "service_code": "spa massage!"})
        fetched = await http.get(f"/visits/{visit['visit_id']}")
    assert answer.status_code == 422
    assert "ends" in answer.json()["detail"] and "before or when it starts" in answer.json()[
        "detail"]
    assert naive.status_code == 422
    assert naive.json()["code"] == "invalid_request"
    assert "started_at" in naive.json()["detail"]
    assert bad_code.status_code == 422 and "service_code" in bad_code.json()["detail"]
    assert fetched.json()["services"] == []  # nothing was recorded


async def test_checking_in_to_an_unknown_location(desk, staffed):
    _location_id, ana, _bo = staffed
    nowhere = uuid4()
    booking = await desk.expect()
    async with desk.as_role("attendant") as http:
        walk_in = await http.post("/visits/walk-in", json={
            "customer_id": str(uuid4()), "location_id": str(nowhere),
            "host_staff_id": str(ana)})
        booked = await http.post("/visits/check-in", json={
            "booking_id": str(booking.booking_id), "location_id": str(nowhere),
            "host_staff_id": str(ana)})
    for answer in (walk_in, booked):
        assert answer.status_code == 422
        assert answer.json()["code"] == "unknown_location"
        assert answer.json()["detail"] == f"there is no location {nowhere}"


async def test_a_completed_visit_takes_no_more_services_or_guiding(desk, staffed):
    location_id, ana, bo = staffed
    visit = await desk.walk_in(location_id, ana)
    desk.clock.advance(minutes=40)
    async with desk.as_role("attendant") as http:
        await http.post(f"/visits/{visit['visit_id']}/complete")
        late = await http.post(f"/visits/{visit['visit_id']}/services",
                               json=desk.service(bo))
        guided = await http.post(f"/visits/{visit['visit_id']}/guide",
                                 json={"host_staff_id": str(bo)})
    assert late.status_code == 409 and late.json()["code"] == "visit_completed"
    assert guided.status_code == 409


async def test_malformed_requests(desk):
    async with desk.as_role("attendant") as http:
        not_json = await http.post("/visits/walk-in", content=b"{oops",
                                   headers={"content-type": "application/json"})
        extra = await http.post("/visits/walk-in", json={
            "customer_id": str(uuid4()), "location_id": str(uuid4()),
            "host_staff_id": str(uuid4()), "vip": True})
        bad_id = await http.post("/visits/not-a-uuid/complete")
        empty_guide = await http.post(f"/visits/{uuid4()}/guide", json={})
        bad_date = await http.get("/day-sheet", params={"date": "yesterday"})
    for answer in (not_json, extra, bad_id, empty_guide, bad_date):
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"]
    assert "vip" in extra.json()["detail"]
    assert "location_id, a host_staff_id" in empty_guide.json()["detail"]


async def test_roles_are_enforced(desk, staffed):
    location_id, ana, _bo = staffed
    customer = uuid4()
    walk_in = {"customer_id": str(customer), "location_id": str(location_id),
               "host_staff_id": str(ana)}
    async with desk.as_role("member", customer) as member:
        assert (await member.post("/visits/walk-in", json=walk_in)).status_code == 403
        assert (await member.get("/floor")).status_code == 403
        assert (await member.get("/day-sheet")).status_code == 403
        assert (await member.get("/arrivals")).status_code == 403
        assert (await member.post("/incidents", json={})).status_code == 403
    async with desk.as_role("attendant") as attendant:
        forbidden = await attendant.post("/locations", json={"name": "Attic"})
        assert forbidden.status_code == 403
        assert "attendant role may not" in forbidden.json()["detail"]
    async with desk.as_role("crm_specialist") as crm:
        assert (await crm.post("/visits/walk-in", json=walk_in)).status_code == 403
        assert (await crm.get("/floor")).status_code == 200
    async with desk.as_role("attendant") as nobody:
        del nobody.headers["Authorization"]
        assert (await nobody.get("/floor")).status_code == 401
        nobody.headers["Authorization"] = "Bearer forged"
        assert (await nobody.get("/floor")).status_code == 401


async def test_text_no_database_can_hold_is_refused_and_stores_nothing(desk):
    """A NUL in a location's name reached PostgreSQL and failed there with a 500; a lone
    surrogate could not even be encoded (found by tests/security/test_hardening.py)."""
    async with desk.head() as http:
        for name in ("Lounge\x00B", "Lounge\ud800B"):
            answer = await http.post("/locations", headers={"content-type": "application/json"},
                                     content=json.dumps({"name": name}).encode())
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "invalid_text"
            assert "name" in answer.json()["detail"]
    assert await desk.rows("SELECT 1 FROM locations WHERE name LIKE 'Lounge%B'") == []


async def test_a_time_sent_as_a_number_is_refused_not_read_as_1970(desk, staffed):
    location_id, _ana, _bo = staffed
    async with desk.as_role("attendant") as http:
        answer = await http.post("/incidents", json={
            "category": "facility", "severity": "low", "location_id": str(location_id),
            "description": "A broken tile", "occurred_at": 12345})
    assert answer.status_code == 422
    assert "occurred_at" in answer.json()["detail"] and "RFC 3339" in answer.json()["detail"]
    assert await desk.rows("SELECT 1 FROM incidents WHERE description = 'A broken tile'") == []
