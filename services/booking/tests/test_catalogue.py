"""Resources, opening hours, closures and the service catalogue, run by the head and deputy;
and the front desk's day sheet."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from club_platform.auth import Role


async def test_a_resource_keeps_its_type_capacity_location_and_hours(club):
    kind = f"table{uuid4().hex[:6]}"
    body = {"name": "Window table", "kind": kind, "capacity": 6, "location": "restaurant",
            "opening_hours": [{"weekday": "saturday", "opens_at": "17:00", "closes_at": "23:00"},
                              {"weekday": "saturday", "opens_at": "11:00", "closes_at": "14:00"}]}
    async with club.head() as http:
        created = await http.post("/resources", json=body, headers={"Idempotency-Key": "t1"})
        repeated = await http.post("/resources", json=body, headers={"Idempotency-Key": "t1"})
    async with club.member(uuid4()) as http:
        read = await http.get(f"/resources/{created.json()['id']}")
        listed = await http.get("/resources", params={"kind": kind})
    assert created.status_code == 201, created.text
    assert repeated.json()["id"] == created.json()["id"]
    resource = read.json()
    assert (resource["kind"], resource["capacity"], resource["location"]) == (kind, 6,
                                                                             "restaurant")
    assert resource["opening_hours"] == [
        {"weekday": "saturday", "opens_at": "11:00", "closes_at": "14:00"},
        {"weekday": "saturday", "opens_at": "17:00", "closes_at": "23:00"}]
    assert [r["id"] for r in listed.json()] == [resource["id"]]


async def test_a_retired_resource_takes_no_new_bookings_but_keeps_its_old_ones(club):
    court = await club.resource()
    tennis = await club.service()
    kept = await club.book(court, tennis, club.at(2, "10:00"))
    async with club.as_role(Role.DEPUTY) as http:
        retired = await http.patch(f"/resources/{court['id']}", json={"active": False})
    assert retired.status_code == 200 and retired.json()["active"] is False
    refused = await club.book(court, tennis, club.at(2, "12:00"), expect=422)
    assert "not taking bookings" in refused["detail"]
    assert (await club.booking(kept["id"]))["status"] == "booked"


async def test_capacity_cannot_shrink_below_a_party_already_booked(club):
    court = await club.resource(capacity=6)
    tennis = await club.service()
    big = await club.book(court, tennis, club.at(2, "10:00"), party_size=5)
    async with club.head() as http:
        refused = await http.patch(f"/resources/{court['id']}", json={"capacity": 4})
        allowed = await http.patch(f"/resources/{court['id']}", json={"capacity": 5})
    assert refused.status_code == 409
    assert big["id"] in refused.json()["bookings"]
    assert allowed.status_code == 200 and allowed.json()["capacity"] == 5


async def test_new_hours_may_not_strand_an_upcoming_booking(club):
    court = await club.resource(hours=("08:00", "22:00"))
    tennis = await club.service()
    evening = await club.book(court, tennis, club.at(2, "19:00"))
    shorter = {"opening_hours": [{"weekday": d, "opens_at": "08:00", "closes_at": "18:00"}
                                 for d in ("monday", "tuesday", "wednesday", "thursday",
                                           "friday", "saturday", "sunday")]}
    async with club.head() as http:
        refused = await http.put(f"/resources/{court['id']}/opening-hours", json=shorter)
        cancel = await http.post(f"/bookings/{evening['id']}/cancel",
                                 json={"reason": "resource_unavailable"})
        accepted = await http.put(f"/resources/{court['id']}/opening-hours", json=shorter)
    assert refused.status_code == 409
    assert "outside the new hours" in refused.json()["detail"]
    assert refused.json()["bookings"] == [evening["id"]]
    assert cancel.status_code == 200
    assert accepted.status_code == 200
    assert accepted.json()["opening_hours"][0]["closes_at"] == "18:00"
    late = await club.book(court, tennis, club.at(3, "19:00"), expect=422)
    assert "08:00–18:00" in late["detail"]


async def test_a_closure_over_bookings_is_refused_and_reopening_frees_the_time(club):
    court = await club.resource()
    tennis = await club.service()
    booked = await club.book(court, tennis, club.at(3, "10:00"))
    closure = {"starts_at": club.at(3, "09:00").isoformat(),
               "ends_at": club.at(3, "13:00").isoformat(), "reason": "private event"}
    async with club.head() as http:
        refused = await http.post(f"/resources/{court['id']}/closures", json=closure)
        await http.post(f"/bookings/{booked['id']}/cancel", json={"reason": "club_closure"})
        closed = await http.post(f"/resources/{court['id']}/closures", json=closure)
        listed = await http.get(f"/resources/{court['id']}/closures")
    assert refused.status_code == 409
    assert refused.json()["bookings"] == [booked["id"]]
    assert closed.status_code == 201
    assert [c["id"] for c in listed.json()] == [closed.json()["id"]]
    inside = await club.book(court, tennis, club.at(3, "11:00"), expect=422)
    assert "private event" in inside["detail"]

    async with club.head() as http:
        reopened = await http.delete(f"/resources/{court['id']}/closures/{closed.json()['id']}")
        gone = await http.delete(f"/resources/{court['id']}/closures/{closed.json()['id']}")
    assert reopened.status_code == 204
    assert gone.status_code == 404
    await club.book(court, tennis, club.at(3, "11:00"))


async def test_a_service_code_is_unique_and_changes_apply_to_new_bookings_only(club):
    court = await club.resource()
    tennis = await club.service(minutes=60)
    before = await club.book(court, tennis, club.at(2, "10:00"))
    async with club.head() as http:
        duplicate = await http.post("/services", json={
            "code": tennis["code"], "name": "Again", "duration_minutes": 30,
            "resource_kinds": ["court"]})
        changed = await http.patch(f"/services/{tennis['code']}",
                                   json={"duration_minutes": 90, "buffer_after_minutes": 10})
    assert duplicate.status_code == 409 and tennis["code"] in duplicate.json()["detail"]
    assert changed.json()["duration_minutes"] == 90
    after = await club.book(court, tennis, club.at(2, "14:00"))
    assert (await club.booking(before["id"]))["ends_at"] == before["ends_at"]
    assert datetime.fromisoformat(after["ends_at"]) == club.at(2, "15:30")
    assert datetime.fromisoformat(after["held_until"]) == club.at(2, "15:40")

    async with club.head() as http:
        await http.patch(f"/services/{tennis['code']}", json={"active": False})
    withdrawn = await club.book(court, tennis, club.at(2, "18:00"), expect=422)
    assert "no longer offered" in withdrawn["detail"]


async def test_the_day_sheet_shows_the_desk_a_resources_day(club):
    court = await club.resource(hours=("08:00", "22:00"))
    tennis = await club.service(minutes=60, before=5, after=10)
    day = club.at(2, "00:00").date()
    morning = await club.book_offline(court, tennis, club.at(2, "09:00"), via="desk",
                                      party_size=2)
    member = uuid4()
    noon = await club.book(court, tennis, club.at(2, "12:00"), customer_id=member)
    evening = await club.book(court, tennis, club.at(2, "18:00"), party_size=4)
    async with club.member(member) as http:
        await http.post(f"/bookings/{noon['id']}/cancel", json={"reason": "illness"})
    await club.book(court, tennis, club.at(3, "09:00"))  # the next day: not on this sheet
    async with club.head() as http:
        await http.post(f"/resources/{court['id']}/closures", json={
            "starts_at": club.at(2, "15:00").isoformat(),
            "ends_at": club.at(2, "16:00").isoformat(), "reason": "coaching clinic"})

    async with club.desk() as http:
        sheet = await http.get(f"/resources/{court['id']}/day-sheet", params={"date": str(day)})
    assert sheet.status_code == 200, sheet.text
    body = sheet.json()
    assert body["date"] == str(day) and body["timezone"] == "Asia/Shanghai"
    assert body["resource"]["id"] == court["id"]
    assert [datetime.fromisoformat(s["starts_at"]) for s in body["open"]] == [club.at(2, "08:00")]
    assert [c["reason"] for c in body["closures"]] == ["coaching clinic"]
    assert [b["id"] for b in body["bookings"]] == [morning["id"], noon["id"], evening["id"]]
    assert [b["status"] for b in body["bookings"]] == ["booked", "cancelled", "booked"]
    assert body["bookings"][0]["offline_channel"] == "desk"
    assert body["bookings"][0]["service_name"] == "A game of tennis"
    assert datetime.fromisoformat(body["bookings"][0]["held_from"]) == (
        club.at(2, "09:00") - timedelta(minutes=5))
    assert body["counts"] == {"booked": 2, "fulfilled": 0, "cancelled": 1, "no_show": 0,
                              "guests": 6}
