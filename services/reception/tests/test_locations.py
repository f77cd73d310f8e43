"""Locations are reception's own: the rooms and areas guests are guided to (R1 §3.2),
managed by the head and the deputy."""

from __future__ import annotations

from uuid import uuid4


async def test_the_head_manages_locations(desk):
    name = f"Jade Suite {uuid4().hex[:6]}"
    async with desk.head() as http:
        created = await http.post("/locations", json={"name": name, "kind": "room",
                                                       "capacity": 2})
        assert created.status_code == 201, created.text
        location = created.json()
        clash = await http.post("/locations", json={"name": name.upper()})
        renamed = await http.patch(f"/locations/{location['location_id']}",
                                   json={"name": f"{name} (east)", "capacity": 3})
        listed = await http.get("/locations")
        missing = await http.get(f"/locations/{uuid4()}")
        bad_kind = await http.post("/locations", json={"name": "Roof", "kind": "volcano"})
    assert clash.status_code == 409 and "already exists" in clash.json()["detail"]
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["capacity"]) == (f"{name} (east)", 3)
    assert location["location_id"] in [loc["location_id"] for loc in listed.json()]
    assert missing.status_code == 404
    assert bad_kind.status_code == 422


async def test_a_deputy_can_create_with_an_idempotency_key(desk):
    body = {"name": f"Lounge {uuid4().hex[:6]}", "kind": "lounge"}
    async with desk.as_role("deputy") as http:
        http.headers["Idempotency-Key"] = f"loc-{uuid4()}"
        first = await http.post("/locations", json=body)
        again = await http.post("/locations", json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()


async def test_a_closed_location_takes_no_guests(desk, staffed):
    _location_id, ana, _bo = staffed
    location_id = await desk.location()
    async with desk.head() as http:
        closed = await http.patch(f"/locations/{location_id}", json={"active": False})
        assert closed.json()["active"] is False
        listed = await http.get("/locations")
        everything = await http.get("/locations", params={"include_closed": "true"})
        unnamed = await http.patch(f"/locations/{location_id}", json={"name": None})
    assert str(location_id) not in [loc["location_id"] for loc in listed.json()]
    assert str(location_id) in [loc["location_id"] for loc in everything.json()]
    assert unnamed.status_code == 422
    async with desk.as_role("attendant") as http:
        refused = await http.post("/visits/walk-in", json={
            "customer_id": str(uuid4()), "location_id": str(location_id),
            "host_staff_id": str(ana)})
    assert refused.status_code == 422
    assert refused.json()["code"] == "location_closed"


async def test_a_full_location_takes_no_more_guests(desk, staffed):
    _location_id, ana, _bo = staffed
    small = await desk.location(capacity=3)
    other = await desk.location()
    pair = await desk.expect(desk.booking(party_size=2))
    await desk.check_in(pair, small, ana)
    single = await desk.walk_in(small, ana)
    elsewhere = await desk.walk_in(other, ana)
    async with desk.as_role("attendant") as http:
        full = await http.post("/visits/walk-in", json={
            "customer_id": str(uuid4()), "location_id": str(small), "host_staff_id": str(ana)})
        guided_in = await http.post(f"/visits/{elsewhere['visit_id']}/guide",
                                    json={"location_id": str(small)})
        # Guiding a guest out frees their seat for the next one.
        guided_out = await http.post(f"/visits/{single['visit_id']}/guide",
                                     json={"location_id": str(other)})
        guided_in_again = await http.post(f"/visits/{elsewhere['visit_id']}/guide",
                                          json={"location_id": str(small)})
    assert full.status_code == 409
    assert full.json()["code"] == "location_full"
    assert "holds 3 and has 3 guests" in full.json()["detail"]
    assert guided_in.status_code == 409
    assert guided_out.status_code == 200 and guided_out.json()["location_id"] == str(other)
    assert guided_in_again.status_code == 200
    assert guided_in_again.json()["location_id"] == str(small)
