"""Bad input gets a 4xx whose problem JSON names the problem; never a 500."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

# (what is wrong, how to break a valid request, expected status, words the detail must hold)
BAD_BOOKINGS = [
    ("end before start",
     lambda b, c: b | {"ends_at": c.at(1, "09:00").isoformat()},
     422, ["ends_at", "must be after starts_at"]),
    ("end equal to start",
     lambda b, c: b | {"ends_at": b["starts_at"]},
     422, ["ends_at", "must be after starts_at"]),
    ("unknown resource",
     lambda b, c: b | {"resource_id": str(uuid4())},
     422, ["no resource"]),
    ("unknown service",
     lambda b, c: b | {"service_code": "no-such-service"},
     422, ["no service 'no-such-service'"]),
    ("party over capacity",
     lambda b, c: b | {"party_size": 5},
     422, ["party of 5", "capacity", "(4)"]),
    ("outside opening hours",
     lambda b, c: b | {"starts_at": c.at(1, "21:30").isoformat()},
     422, ["not open", "21:30–22:30", "08:00–22:00"]),
    ("before opening",
     lambda b, c: b | {"starts_at": c.at(1, "07:00").isoformat()},
     422, ["not open", "07:00–08:00"]),
    ("inside a closure",
     lambda b, c: b | {"starts_at": c.at(4, "12:00").isoformat()},
     422, ["closed", "resurfacing"]),
    ("in the past",
     lambda b, c: b | {"starts_at": c.at(-1, "10:00").isoformat()},
     422, ["in the past"]),
    ("without online notice",
     lambda b, c: b | {"starts_at": (c.clock.now() + timedelta(minutes=20)).isoformat()},
     422, ["60 minutes' notice"]),
    ("beyond the horizon",
     lambda b, c: b | {"starts_at": c.at(40, "10:00").isoformat()},
     422, ["30 days ahead"]),
    ("longer than a day",
     lambda b, c: b | {"ends_at": c.at(3, "10:00").isoformat()},
     422, ["at most 24 hours"]),
    ("a naive time",
     lambda b, c: b | {"starts_at": "2030-02-01T10:00:00"},
     422, ["starts_at", "timezone"]),
    ("not a time",
     lambda b, c: b | {"starts_at": "tomorrow at ten"},
     422, ["starts_at"]),
    ("a party of none",
     lambda b, c: b | {"party_size": 0},
     422, ["party_size"]),
    ("a misspelt field",
     lambda b, c: b | {"start_at": b["starts_at"]},
     422, ["start_at"]),
    ("no resource at all",
     lambda b, c: {k: v for k, v in b.items() if k != "resource_id"},
     422, ["resource_id"]),
    ("a resource id that is not a UUID",
     lambda b, c: b | {"resource_id": "court-1"},
     422, ["resource_id"]),
    ("a wrong kind of resource",
     lambda b, c: b | {"resource_id": c.extra["room"]["id"]},
     422, ["needs a resource of kind court", "is a treatment_room"]),
    ("an offline channel from a member",
     lambda b, c: b | {"offline_channel": "phone"},
     422, ["offline_channel", "members book online"]),
]


@pytest.mark.parametrize(("problem", "breaks", "status", "words"), BAD_BOOKINGS,
                         ids=[case[0] for case in BAD_BOOKINGS])
async def test_a_bad_booking_request_is_refused_with_a_reason(club, problem, breaks, status,
                                                              words):
    court = await club.resource(capacity=4, hours=("08:00", "22:00"))
    tennis = await club.service(minutes=60)
    club.extra = {"room": await club.resource(kind="treatment_room")}
    async with club.head() as http:
        closed = await http.post(f"/resources/{court['id']}/closures", json={
            "starts_at": club.at(4, "00:00").isoformat(),
            "ends_at": club.at(5, "00:00").isoformat(), "reason": "resurfacing"})
    assert closed.status_code == 201, closed.text
    valid = {"resource_id": court["id"], "service_code": tennis["code"],
             "starts_at": club.at(1, "10:00").isoformat(), "party_size": 2}

    async with club.member(uuid4()) as http:
        answer = await http.post("/bookings", json=breaks(valid, club))
        listed = await http.get("/bookings")

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem_json = answer.json()
    for word in words:
        assert word in problem_json["detail"], (word, problem_json["detail"])
    assert listed.json() == [], "a refused request must not leave a booking behind"


async def test_bad_reschedules_and_cancellations_are_refused_with_a_reason(club):
    court = await club.resource(capacity=2)
    tennis = await club.service()
    member = uuid4()
    booking = await club.book(court, tennis, club.at(5, "10:00"), customer_id=member)
    url = f"/bookings/{booking['id']}"
    async with club.member(member) as http:
        into_the_past = await http.post(f"{url}/reschedule",
                                        json={"starts_at": club.at(-1, "10:00").isoformat()})
        after_hours = await http.post(f"{url}/reschedule",
                                      json={"starts_at": club.at(5, "23:00").isoformat()})
        backwards = await http.post(f"{url}/reschedule", json={
            "starts_at": club.at(5, "12:00").isoformat(),
            "ends_at": club.at(5, "11:00").isoformat()})
        nowhere = await http.post(f"{url}/reschedule", json={
            "starts_at": club.at(5, "12:00").isoformat(), "resource_id": str(uuid4())})
        free_text = await http.post(f"{url}/cancel", json={"reason": "my aunt is visiting"})
        system_reason = await http.post(f"{url}/cancel", json={"reason": "customer_erased"})
        unknown = await http.post(f"/bookings/{uuid4()}/cancel", json={"reason": "illness"})
        not_a_uuid = await http.get("/bookings/abc")
    assert into_the_past.status_code == 422 and "in the past" in into_the_past.json()["detail"]
    assert after_hours.status_code == 422 and "not open" in after_hours.json()["detail"]
    assert backwards.status_code == 422 and "must be after" in backwards.json()["detail"]
    assert nowhere.status_code == 422 and "no resource" in nowhere.json()["detail"]
    assert free_text.status_code == 422 and "reason" in free_text.json()["detail"]
    assert system_reason.status_code == 422 and "customer_erased" in system_reason.json()["detail"]
    assert unknown.status_code == 404 and "no booking" in unknown.json()["detail"]
    assert not_a_uuid.status_code == 422 and "booking_id" in not_a_uuid.json()["detail"]
    assert (await club.booking(booking["id"]))["starts_at"] == booking["starts_at"]


async def test_bad_catalogue_input_is_refused_with_a_reason(club):
    court = await club.resource()
    async with club.head() as http:
        overlapping_hours = await http.put(f"/resources/{court['id']}/opening-hours", json={
            "opening_hours": [
                {"weekday": "monday", "opens_at": "08:00", "closes_at": "12:00"},
                {"weekday": "monday", "opens_at": "11:00", "closes_at": "14:00"}]})
        backwards_hours = await http.put(f"/resources/{court['id']}/opening-hours", json={
            "opening_hours": [{"weekday": "friday", "opens_at": "18:00", "closes_at": "09:00"}]})
        odd_day = await http.put(f"/resources/{court['id']}/opening-hours", json={
            "opening_hours": [{"weekday": "funday", "opens_at": "08:00", "closes_at": "09:00"}]})
        odd_time = await http.put(f"/resources/{court['id']}/opening-hours", json={
            "opening_hours": [{"weekday": "monday", "opens_at": "08:00", "closes_at": "25:00"}]})
        no_capacity = await http.post("/resources", json={
            "name": "Court 0", "kind": "court", "capacity": 0, "location": "roof"})
        bad_kind = await http.post("/resources", json={
            "name": "Court 0", "kind": "Tennis Court!", "capacity": 2, "location": "roof"})
        closure_backwards = await http.post(f"/resources/{court['id']}/closures", json={
            "starts_at": club.at(3, "12:00").isoformat(),
            "ends_at": club.at(3, "10:00").isoformat(), "reason": "paint"})
        no_kinds = await http.post("/services", json={
            "code": "yoga", "name": "Yoga", "duration_minutes": 60, "resource_kinds": []})
        zero_minutes = await http.post("/services", json={
            "code": "yoga", "name": "Yoga", "duration_minutes": 0, "resource_kinds": ["room"]})
        unknown_resource = await http.get(f"/resources/{uuid4()}")
        unknown_service = await http.get("/services/no-such")
        sheet_bad_date = await http.get(f"/resources/{court['id']}/day-sheet",
                                        params={"date": "2030-02-30"})
    assert overlapping_hours.status_code == 422
    assert "overlap" in overlapping_hours.json()["detail"]
    assert backwards_hours.status_code == 422
    assert "close after it opens" in backwards_hours.json()["detail"]
    assert odd_day.status_code == 422 and "weekday" in odd_day.json()["detail"]
    assert odd_time.status_code == 422 and "25:00" in odd_time.json()["detail"]
    assert no_capacity.status_code == 422 and "capacity" in no_capacity.json()["detail"]
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["detail"]
    assert closure_backwards.status_code == 422
    assert "after its starts_at" in closure_backwards.json()["detail"]
    assert no_kinds.status_code == 422 and "resource_kinds" in no_kinds.json()["detail"]
    assert zero_minutes.status_code == 422 and "duration_minutes" in zero_minutes.json()["detail"]
    assert unknown_resource.status_code == 404
    assert unknown_service.status_code == 404 and "no-such" in unknown_service.json()["detail"]
    assert sheet_bad_date.status_code == 422 and "date" in sheet_bad_date.json()["detail"]


async def test_availability_with_bad_input_is_refused_with_a_reason(club):
    court = await club.resource()
    async with club.member(uuid4()) as http:
        no_service = await http.get("/availability", params={
            "service_code": "nothing-here", "date": str(club.today())})
        no_date = await http.get("/availability", params={"service_code": "x"})
        wrong_kind = await http.get("/availability", params={
            "service_code": (await club.service(kinds=("table",)))["code"],
            "date": str(club.today()), "resource_id": court["id"]})
    assert no_service.status_code == 404 and "nothing-here" in no_service.json()["detail"]
    assert no_date.status_code == 422 and "date" in no_date.json()["detail"]
    assert wrong_kind.status_code == 422 and "is a court" in wrong_kind.json()["detail"]


async def test_odd_values_at_the_edges_are_refused_not_crashed_on(club):
    court = await club.resource()
    tennis = await club.service()
    booking = {"resource_id": court["id"], "service_code": tennis["code"]}
    async with club.head() as http:
        answers = {
            "year 9999": await http.post("/bookings", json=booking | {
                "starts_at": "9999-12-31T23:30:00Z", "customer_id": str(uuid4()),
                "offline_channel": "desk"}),
            "year 1": await http.post("/bookings", json=booking | {
                "starts_at": "0001-01-01T00:05:00Z", "customer_id": str(uuid4()),
                "offline_channel": "desk"}),
            "a far day sheet": await http.get(f"/resources/{court['id']}/day-sheet",
                                              params={"date": "9999-12-31"}),
            "a far availability": await http.get("/availability", params={
                "service_code": tennis["code"], "date": "0001-01-01"}),
            "a NUL in a name": await http.post("/resources", json={
                "name": "Court\u0000", "kind": "court", "capacity": 2, "location": "roof"}),
            "a NUL in a code": await http.get("/services/bad%00code"),
            "a NUL in a kind": await http.get("/resources", params={"kind": "co\x00urt"}),
            "a huge party": await http.post("/bookings", json=booking | {
                "starts_at": club.at(1, "10:00").isoformat(), "customer_id": str(uuid4()),
                "offline_channel": "desk", "party_size": 10**12}),
            "not JSON": await http.post("/bookings", content=b"{starts_at",
                                        headers={"content-type": "application/json"}),
            "a list for a body": await http.post("/bookings", json=[booking]),
        }
    for what, answer in answers.items():
        assert answer.status_code == 422, (what, answer.status_code, answer.text)
        assert answer.json()["detail"], what
