"""Booking online and offline over HTTP (R1 §3.1), and who may see and change what
(docs/authorization.md: members see and change only their own bookings)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

from club_platform.auth import Role


async def test_a_member_books_online_for_themselves(club):
    court = await club.resource(capacity=4)
    tennis = await club.service(minutes=60)
    member = uuid4()
    starts = club.at(1, "10:00")

    booking = await club.book(court, tennis, starts, customer_id=member, party_size=2)

    assert booking["customer_id"] == str(member)
    assert booking["channel"] == "online"
    assert booking["offline_channel"] is None
    assert booking["created_by"] == str(member)
    assert booking["status"] == "booked"
    assert booking["party_size"] == 2
    assert datetime.fromisoformat(booking["starts_at"]) == starts
    # The service's duration gives the end when none is asked for.
    assert datetime.fromisoformat(booking["ends_at"]) == starts + timedelta(minutes=60)
    async with club.member(member) as http:
        mine = await http.get("/bookings")
    assert [b["id"] for b in mine.json()] == [booking["id"]]


async def test_staff_book_offline_on_a_customers_behalf_and_the_channel_is_recorded(club):
    court = await club.resource(hours=("00:00", "24:00"))
    tennis = await club.service()
    customer = uuid4()
    staff_member = uuid4()

    by_phone = await club.book_offline(court, tennis, club.at(1, "09:00"), customer_id=customer,
                                       via="phone", staff_id=str(staff_member))
    walk_in = await club.book_offline(court, tennis, club.clock.now() + timedelta(minutes=5),
                                      customer_id=customer, via="walk_in")

    assert by_phone["channel"] == "offline" and by_phone["offline_channel"] == "phone"
    assert by_phone["customer_id"] == str(customer)
    assert by_phone["created_by"] == str(club.attendant_id)
    assert by_phone["staff_id"] == str(staff_member)
    # A walk-in needs no notice: the desk seats them straight away.
    assert walk_in["offline_channel"] == "walk_in"
    async with club.member(customer) as http:
        theirs = await http.get("/bookings")
    assert {b["id"] for b in theirs.json()} == {by_phone["id"], walk_in["id"]}


async def test_staff_must_say_for_whom_and_how(club):
    court = await club.resource()
    tennis = await club.service()
    body = {"resource_id": court["id"], "service_code": tennis["code"],
            "starts_at": club.at(1, "10:00").isoformat()}
    async with club.desk() as http:
        no_customer = await http.post("/bookings", json=body | {"offline_channel": "desk"})
        no_channel = await http.post("/bookings", json=body | {"customer_id": str(uuid4())})
        odd_channel = await http.post("/bookings", json=body | {"customer_id": str(uuid4()),
                                                                "offline_channel": "fax"})
    assert no_customer.status_code == 422 and "customer_id" in no_customer.json()["detail"]
    assert no_channel.status_code == 422 and "offline_channel" in no_channel.json()["detail"]
    assert odd_channel.status_code == 422 and "offline_channel" in odd_channel.json()["detail"]


async def test_a_member_cannot_book_for_someone_else(club):
    court = await club.resource()
    tennis = await club.service()
    async with club.member(uuid4()) as http:
        answer = await http.post("/bookings", json={
            "resource_id": court["id"], "service_code": tennis["code"],
            "starts_at": club.at(1, "10:00").isoformat(), "customer_id": str(uuid4())})
    assert answer.status_code == 403
    assert "themselves" in answer.json()["detail"]


async def test_the_same_idempotency_key_books_once(club):
    court = await club.resource()
    tennis = await club.service()
    member = uuid4()
    body = {"resource_id": court["id"], "service_code": tennis["code"],
            "starts_at": club.at(2, "11:00").isoformat()}
    async with club.member(member) as http:
        first = await http.post("/bookings", json=body, headers={"Idempotency-Key": "k-1"})
        again = await http.post("/bookings", json=body, headers={"Idempotency-Key": "k-1"})
        other = await http.post("/bookings", json=body | {"party_size": 3},
                                headers={"Idempotency-Key": "k-1"})
        mine = await http.get("/bookings")
    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert len(mine.json()) == 1


async def test_a_member_cannot_read_reschedule_or_cancel_another_members_booking(club):
    court = await club.resource()
    tennis = await club.service()
    owner, stranger = uuid4(), uuid4()
    booking = await club.book(court, tennis, club.at(3, "10:00"), customer_id=owner)

    async with club.member(stranger) as http:
        read = await http.get(f"/bookings/{booking['id']}")
        moved = await http.post(f"/bookings/{booking['id']}/reschedule",
                                json={"starts_at": club.at(3, "12:00").isoformat()})
        cancelled = await http.post(f"/bookings/{booking['id']}/cancel",
                                    json={"reason": "customer_request"})
        listed = await http.get("/bookings")
        listed_theirs = await http.get("/bookings", params={"customer_id": str(owner)})

    for answer in (read, moved, cancelled):
        assert answer.status_code == 404, answer.text
        assert booking["id"] in answer.json()["detail"]
    assert listed.json() == []
    assert listed_theirs.status_code == 403
    unchanged = await club.booking(booking["id"])
    assert unchanged["status"] == "booked"
    assert unchanged["starts_at"] == booking["starts_at"]


async def test_roles_are_enforced(club):
    court = await club.resource()
    tennis = await club.service()
    booking = await club.book(court, tennis, club.at(1, "15:00"))
    async with club.as_role(Role.HR_ADMIN) as hr, club.member(uuid4()) as member:
        hr_reads = await hr.get(f"/bookings/{booking['id']}")
        member_makes_a_court = await member.post("/resources", json={
            "name": "Court X", "kind": "court", "capacity": 2, "location": "roof"})
        member_no_show = await member.post(f"/bookings/{booking['id']}/no-show")
        member_day_sheet = await member.get(f"/resources/{court['id']}/day-sheet",
                                            params={"date": str(club.today())})
    async with club.as_role(Role.CRM_SPECIALIST) as crm:
        crm_reads = await crm.get(f"/bookings/{booking['id']}")
    async with club.as_role(Role.HEAD) as http:
        http.headers.pop("Authorization")
        anonymous = await http.get("/bookings")
    assert hr_reads.status_code == 403
    assert member_makes_a_court.status_code == 403
    assert member_no_show.status_code == 403
    assert member_day_sheet.status_code == 403
    assert crm_reads.status_code == 200
    assert anonymous.status_code == 401
