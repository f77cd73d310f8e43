"""No double booking, guaranteed by PostgreSQL's exclusion constraint (R1 §3.1): under any
concurrency, buffers included, with only cancellations freeing a slot."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest
from club_platform.db import asyncpg_dsn
from club_platform.testing import client


async def _bookings_on(database_url: str, resource_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return await conn.fetch("SELECT id, status, starts_at FROM bookings WHERE resource_id = $1",
                                UUID(resource_id))
    finally:
        await conn.close()


async def test_fifty_concurrent_requests_for_overlapping_slots_make_exactly_one_booking(
        club, booking_database):
    court = await club.resource()
    tennis = await club.service(minutes=60)
    first_start = club.at(2, "10:00")
    # Fifty members, fifty starts a minute apart: every pair of 60-minute slots overlaps.
    members = [uuid4() for _ in range(50)]
    clients = [client(club.url, club._token("member", subject=m)) for m in members]

    async def book(http, minute: int):
        return await http.post("/bookings", json={
            "resource_id": court["id"], "service_code": tennis["code"],
            "starts_at": (first_start + timedelta(minutes=minute)).isoformat()})

    try:
        answers = await asyncio.gather(*(book(http, i) for i, http in enumerate(clients)))
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: 1, 409: 49}, statuses
    rows = await _bookings_on(booking_database, court["id"])
    assert len(rows) == 1
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert str(rows[0]["id"]) == winner["id"]
    # Every refusal names the slot that is taken.
    taken_from = datetime.fromisoformat(winner["starts_at"])
    for refused in (a.json() for a in answers if a.status_code == 409):
        assert refused["code"] == "conflict"
        assert datetime.fromisoformat(refused["conflicting_slot"]["starts_at"]) == taken_from
        assert f"{taken_from.astimezone(first_start.tzinfo):%H:%M}" in refused["detail"]


async def test_a_conflict_names_the_taken_slot_and_its_buffers(club):
    room = await club.resource(kind="treatment_room", capacity=1)
    massage = await club.service(kinds=("treatment_room",), minutes=60, before=10, after=15)
    await club.book(room, massage, club.at(1, "10:00"))

    # 11:15 would be clear of the first massage, but needs 10 minutes of set-up from 11:05,
    # while the first is cleared up until 11:15.
    refused = await club.book(room, massage, club.at(1, "11:15"), expect=409)
    assert "already booked" in refused["detail"]
    assert "10:00–11:00" in refused["detail"]
    assert "09:50–11:15" in refused["detail"]
    held_until = datetime.fromisoformat(refused["conflicting_slot"]["held_until"])
    assert held_until == club.at(1, "11:15")

    # From 11:25 both buffers fit.
    await club.book(room, massage, club.at(1, "11:25"))


async def test_a_cancelled_booking_frees_its_slot(club):
    court = await club.resource()
    tennis = await club.service()
    member = uuid4()
    booking = await club.book(court, tennis, club.at(1, "18:00"), customer_id=member)
    async with club.member(member) as http:
        cancel = await http.post(f"/bookings/{booking['id']}/cancel",
                                 json={"reason": "illness"})
    assert cancel.status_code == 200, cancel.text

    again = await club.book(court, tennis, club.at(1, "18:00"))
    assert again["status"] == "booked"


async def test_rescheduling_onto_a_taken_slot_is_refused_and_changes_nothing(club):
    court = await club.resource()
    tennis = await club.service()
    await club.book(court, tennis, club.at(2, "14:00"))
    member = uuid4()
    mine = await club.book(court, tennis, club.at(2, "16:00"), customer_id=member)

    async with club.member(member) as http:
        moved = await http.post(f"/bookings/{mine['id']}/reschedule",
                                json={"starts_at": club.at(2, "14:30").isoformat()})
        # Moving within its own old slot is no conflict with itself.
        nudged = await http.post(f"/bookings/{mine['id']}/reschedule",
                                 json={"starts_at": club.at(2, "16:30").isoformat()})
    assert moved.status_code == 409
    assert "14:00–15:00" in moved.json()["detail"]
    assert nudged.status_code == 200, nudged.text
    assert datetime.fromisoformat(nudged.json()["starts_at"]) == club.at(2, "16:30")


INSERT_OVERLAPPING = """
    INSERT INTO bookings (id, resource_id, service_code, customer_id, channel, offline_channel,
        party_size, starts_at, ends_at, held_from, held_until, status, created_by, created_at,
        updated_at)
    SELECT $1, resource_id, service_code, $2, 'offline', 'desk', 1,
           starts_at + interval '30 minutes', ends_at + interval '30 minutes',
           starts_at + interval '30 minutes', ends_at + interval '30 minutes',
           'booked', $2, now(), now()
    FROM bookings WHERE id = $3"""


async def test_the_database_itself_refuses_an_overlap_and_only_a_cancellation_frees_a_slot(
        club, booking_database):
    """The guarantee holds for any writer (a second replica, a script, a migration): a
    booking that is booked, fulfilled or a no-show holds its slot; a cancelled one does not."""
    court = await club.resource()
    tennis = await club.service()
    booked = await club.book(court, tennis, club.at(3, "10:00"))
    conn = await asyncpg.connect(asyncpg_dsn(booking_database))
    try:
        for status in ("booked", "fulfilled", "no_show"):
            await conn.execute("UPDATE bookings SET status = $1 WHERE id = $2", status,
                               UUID(booked["id"]))
            with pytest.raises(asyncpg.ExclusionViolationError) as refused:
                await conn.execute(INSERT_OVERLAPPING, uuid4(), uuid4(), UUID(booked["id"]))
            assert refused.value.constraint_name == "bookings_no_double_booking"
        await conn.execute("UPDATE bookings SET status = 'cancelled' WHERE id = $1",
                           UUID(booked["id"]))
        await conn.execute(INSERT_OVERLAPPING, uuid4(), uuid4(), UUID(booked["id"]))
    finally:
        await conn.close()
