"""Free slots of a service on a date: inside opening hours, clear of closures and of other
bookings (buffers included), with the online notice and within the booking horizon."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo


def starts(answer) -> list[str]:
    """The local HH:MM of each slot, for reading."""
    body = answer.json()
    assert answer.status_code == 200, answer.text
    zone = ZoneInfo(body["timezone"])
    return [f"{datetime.fromisoformat(s['starts_at']).astimezone(zone):%H:%M}"
            for s in body["slots"]]


def every_quarter(first: str, last: str) -> list[str]:
    h, m = (int(p) for p in first.split(":"))
    moment = datetime(2000, 1, 1, h, m)
    end = datetime(2000, 1, 1, *(int(p) for p in last.split(":")))
    found = []
    while moment <= end:
        found.append(f"{moment:%H:%M}")
        moment += timedelta(minutes=15)
    return found


async def test_slots_honour_hours_bookings_buffers_and_closures(club):
    court = await club.resource(hours=("09:00", "14:00"))
    tennis = await club.service(minutes=60, after=15)
    day = club.at(2, "00:00").date()
    query = {"service_code": tennis["code"], "date": str(day), "resource_id": court["id"]}

    async with club.member(uuid4()) as http:
        empty_day = await http.get("/availability", params=query)
    assert starts(empty_day) == every_quarter("09:00", "13:00")
    assert all(s["ends_at"] for s in empty_day.json()["slots"])

    await club.book(court, tennis, club.at(2, "10:00"))
    async with club.member(uuid4()) as http:
        after_booking = await http.get("/availability", params=query)
    # 10:00–11:00 holds the court until 11:15; a slot ending by 10:00 would need its own
    # 15 minutes of clearing before 10:00, so the first free start is 11:15.
    assert starts(after_booking) == every_quarter("11:15", "13:00")

    async with club.head() as http:
        closed = await http.post(f"/resources/{court['id']}/closures", json={
            "starts_at": club.at(2, "12:00").isoformat(),
            "ends_at": club.at(2, "12:30").isoformat(), "reason": "net repair"})
        assert closed.status_code == 201, closed.text
    async with club.member(uuid4()) as http:
        after_closure = await http.get("/availability", params=query)
    assert starts(after_closure) == ["12:30", "12:45", "13:00"]

    # Every slot offered can really be booked.
    for slot in after_closure.json()["slots"][:1]:
        await club.book(court, tennis, datetime.fromisoformat(slot["starts_at"]))


async def test_members_see_slots_with_notice_and_staff_see_what_the_desk_can_fit(club):
    club.clock.set(club.at(1, "09:07"))
    court = await club.resource(hours=("09:00", "12:00"))
    tennis = await club.service(minutes=60)
    query = {"service_code": tennis["code"], "date": str(club.today()),
             "resource_id": court["id"]}
    async with club.member(uuid4()) as member, club.desk() as desk:
        online = await member.get("/availability", params=query)
        offline = await desk.get("/availability", params=query)
    assert starts(online) == every_quarter("10:15", "11:00")
    assert starts(offline) == every_quarter("09:15", "11:00")


async def test_party_size_picks_the_resources_that_can_hold_it(club):
    kind = f"lane{uuid4().hex[:6]}"
    small = await club.resource(kind=kind, capacity=2, hours=("09:00", "10:00"))
    large = await club.resource(kind=kind, capacity=6, hours=("09:00", "10:00"))
    swim = await club.service(kinds=(kind,), minutes=30)
    day = str(club.at(2, "00:00").date())
    async with club.member(uuid4()) as http:
        pair = (await http.get("/availability", params={
            "service_code": swim["code"], "date": day, "party_size": 2})).json()
        group = (await http.get("/availability", params={
            "service_code": swim["code"], "date": day, "party_size": 4})).json()
        crowd = (await http.get("/availability", params={
            "service_code": swim["code"], "date": day, "party_size": 7})).json()
    assert {s["resource_id"] for s in pair["slots"]} == {small["id"], large["id"]}
    assert len(pair["slots"]) == 6  # 09:00, 09:15, 09:30 on each
    assert {s["resource_id"] for s in group["slots"]} == {large["id"]}
    assert crowd["slots"] == []


async def test_nothing_is_offered_beyond_the_horizon_or_on_a_closed_day(club):
    court = await club.resource(days=("monday", "tuesday", "wednesday", "thursday", "friday"))
    tennis = await club.service()
    async with club.member(uuid4()) as http:
        far = await http.get("/availability", params={
            "service_code": tennis["code"], "resource_id": court["id"],
            "date": str(club.at(31, "00:00").date())})
        week = [await http.get("/availability", params={
            "service_code": tennis["code"], "resource_id": court["id"],
            "date": str(club.at(d, "00:00").date())}) for d in range(2, 9)]
    assert far.json()["slots"] == []
    open_days = {datetime.fromisoformat(a.json()["date"]).strftime("%A") for a in week
                 if a.json()["slots"]}
    assert open_days == {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}


async def test_a_booking_may_run_past_midnight_when_the_resource_is_open_across_it(club):
    court = await club.resource(hours=("18:00", "24:00"))
    async with club.head() as http:
        week = [{"weekday": d, "opens_at": "18:00", "closes_at": "24:00"}
                for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                          "sunday")]
        week += [{"weekday": d, "opens_at": "00:00", "closes_at": "02:00"}
                 for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                           "sunday")]
        answer = await http.put(f"/resources/{court['id']}/opening-hours",
                                json={"opening_hours": week})
        assert answer.status_code == 200, answer.text
    tennis = await club.service(minutes=90)
    late_game = await club.book(court, tennis, club.at(2, "23:30"))
    assert datetime.fromisoformat(late_game["ends_at"]) == club.at(3, "01:00")
    too_late = await club.book(court, tennis, club.at(3, "01:00"), expect=422)
    assert "not open" in too_late["detail"]
