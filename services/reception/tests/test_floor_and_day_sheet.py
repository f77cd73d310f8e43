"""The floor now (who is checked in where, with which host) and the day sheet (arrivals,
visits, incidents): staff-only views. Members see only their own visits, without notes."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from club_contracts import CustomerErased


def _place(floor: dict, location_id) -> dict:
    return next(p for p in floor["locations"] if p["location_id"] == str(location_id))


async def test_the_floor_shows_who_is_where_with_which_host(desk):
    garden, terrace = await desk.location("Garden " + uuid4().hex[:6]), await desk.location()
    ana, bo = await desk.hire("Ana"), await desk.hire("Bo")
    booked = await desk.check_in(await desk.expect(desk.booking(party_size=3)), garden, ana)
    walk_in = await desk.walk_in(garden, ana)
    desk.clock.advance(minutes=30)
    async with desk.as_role("attendant") as http:
        await http.post(f"/visits/{walk_in['visit_id']}/services", json=desk.service(bo))
        floor = (await http.get("/floor")).json()
        place = _place(floor, garden)
        assert place["guests"] == 4
        assert {(v["visit_id"], v["host_name"], v["services_recorded"], v["walk_in"])
                for v in place["visits"]} == {
            (booked["visit_id"], "Ana", 0, False), (walk_in["visit_id"], "Ana", 1, True)}
        assert _place(floor, terrace)["visits"] == []  # an empty place still shows

        await http.post(f"/visits/{booked['visit_id']}/guide",
                        json={"location_id": str(terrace), "host_staff_id": str(bo)})
        await http.post(f"/visits/{walk_in['visit_id']}/complete")
        floor = (await http.get("/floor")).json()
    assert _place(floor, garden)["visits"] == []
    (moved,) = _place(floor, terrace)["visits"]
    assert (moved["visit_id"], moved["host_name"], moved["host_staff_id"]) == (
        booked["visit_id"], "Bo", str(bo))
    assert walk_in["visit_id"] not in str(floor)


async def test_the_day_sheet_lists_arrivals_visits_and_incidents(desk, staffed):
    location_id, ana, bo = staffed
    waiting = await desk.expect(desk.booking(starts_in=timedelta(minutes=50)))
    came = await desk.expect(desk.booking(starts_in=timedelta(minutes=10)))
    visit = await desk.check_in(came, location_id, ana)
    walk_in = await desk.walk_in(location_id, bo)
    async with desk.as_role("attendant") as http:
        incident = (await http.post("/incidents", json={
            "category": "facility", "severity": "medium", "location_id": str(location_id),
            "description": "air conditioning is loud"})).json()

        async def sheet_of(day: str) -> dict:
            answer = await http.get("/day-sheet", params={"date": day})
            assert answer.status_code == 200, answer.text
            return answer.json()

        # Each thing on the sheet of its own day (near midnight these may differ).
        body = await sheet_of(visit["checked_in_at"][:10])
        waiting_sheet = await sheet_of(waiting.starts_at.date().isoformat())
        came_sheet = await sheet_of(came.starts_at.date().isoformat())
        incident_sheet = await sheet_of(incident["occurred_at"][:10])
        empty = await sheet_of("2001-01-01")
    assert body["date"] == visit["checked_in_at"][:10] and body["timezone"] == "UTC"
    waiting_row = _by(waiting_sheet["arrivals"], "booking_id")[str(waiting.booking_id)]
    assert (waiting_row["status"], waiting_row["visit_id"]) == ("expected", None)
    came_row = _by(came_sheet["arrivals"], "booking_id")[str(came.booking_id)]
    assert (came_row["status"], came_row["visit_id"]) == ("checked_in", visit["visit_id"])
    visits = _by(body["visits"], "visit_id")
    assert visits[visit["visit_id"]]["booking_id"] == str(came.booking_id)
    assert visits[walk_in["visit_id"]]["walk_in"] is True
    assert incident["incident_id"] in _by(incident_sheet["incidents"], "incident_id")
    totals = body["totals"]
    assert totals["visits"] == len(body["visits"])
    assert totals["walk_ins"] == sum(v["walk_in"] for v in body["visits"])
    assert totals["expected"] == len(body["arrivals"])
    assert totals["not_arrived"] == sum(a["status"] == "expected" for a in body["arrivals"])
    assert totals["incidents"] == len(body["incidents"])
    assert empty["totals"] == dict.fromkeys(totals, 0)
    assert empty["arrivals"] == empty["visits"] == empty["incidents"] == []


def _by(items: list[dict], key: str) -> dict[str, dict]:
    return {item[key]: item for item in items}


async def test_a_member_sees_only_their_own_visits_without_notes(desk, staffed):
    location_id, ana, _bo = staffed
    customer, stranger = uuid4(), uuid4()
    mine = await desk.walk_in(location_id, ana, customer_id=customer)
    theirs = await desk.walk_in(location_id, ana, customer_id=stranger)
    desk.clock.advance(minutes=30)
    async with desk.as_role("attendant") as http:
        await http.post(f"/visits/{mine['visit_id']}/services",
                        json=desk.service(ana, notes="sensitive skin"))
    async with desk.as_role("member", customer) as member:
        own = await member.get(f"/visits/{mine['visit_id']}")
        other = await member.get(f"/visits/{theirs['visit_id']}")
        listed = await member.get("/visits", params={"date": mine["checked_in_at"][:10]})
        spoofed = await member.get("/visits", params={"date": mine["checked_in_at"][:10],
                                                      "customer_id": str(stranger)})
    assert own.status_code == 200
    assert own.json()["services"][0]["service_code"] == "spa.massage"
    assert "notes" not in own.json()["services"][0]
    assert "sensitive" not in own.text
    assert other.status_code == 404
    assert [v["visit_id"] for v in listed.json()] == [mine["visit_id"]]
    assert [v["visit_id"] for v in spoofed.json()] == [mine["visit_id"]]


async def test_erasing_a_customer_erases_the_notes_about_them(desk, staffed):
    location_id, ana, _bo = staffed
    erased, kept = uuid4(), uuid4()
    visits = [await desk.walk_in(location_id, ana, customer_id=c) for c in (erased, kept)]
    desk.clock.advance(minutes=30)
    async with desk.as_role("attendant") as http:
        for visit in visits:
            answer = await http.post(f"/visits/{visit['visit_id']}/services",
                                     json=desk.service(ana, notes="allergic to lavender"))
            assert answer.status_code == 201
    erasure = CustomerErased(customer_id=erased, erased_at=desk.clock.now())
    envelope = await desk.publisher.publish(erasure)
    gone = await desk.wait_until(f"/visits/{visits[0]['visit_id']}",
                                 lambda v: v["services"][0]["notes"] is None)
    assert gone["services"][0]["notes_erased_at"] is not None
    assert gone["services"][0]["service_code"] == "spa.massage"  # the record itself stays
    still = await desk.wait_until(f"/visits/{visits[1]['visit_id']}")
    assert still["services"][0]["notes"] == "allergic to lavender"

    # Delivered again, and re-sent later under a new id: nothing changes.
    handled = desk.consumed("customer.erased", "handled")
    duplicates = desk.consumed("customer.erased", "duplicate")
    await desk.publisher.publish(erasure, envelope=envelope)
    await desk.publisher.publish(erasure.model_copy(
        update={"erased_at": desk.clock.now() + timedelta(hours=1)}))
    await desk.settled("customer.erased", handled=handled + 1, duplicate=duplicates + 1)
    assert await desk.wait_until(f"/visits/{visits[0]['visit_id']}") == gone
