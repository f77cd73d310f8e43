"""Reception's copy of the staff directory: only active staff can host a visit or deliver a
service, and the copy converges whatever order HR's events arrive in."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from club_contracts import StaffChanged, StaffHired, StaffOffboarded
from club_platform.envelope import envelope_for


async def _try_host(desk, location_id, host_id):
    async with desk.as_role("attendant") as http:
        return await http.post("/visits/walk-in", json={
            "customer_id": str(uuid4()), "location_id": str(location_id),
            "host_staff_id": str(host_id)})


async def test_a_suspended_member_cannot_host_or_serve(desk, staffed):
    location_id, ana, _bo = staffed
    cleo = await desk.hire("Cleo")
    visit = await desk.walk_in(location_id, ana)
    await desk.publisher.publish(StaffChanged(
        staff_id=cleo, role="attendant", status="suspended",
        effective_at=desk.clock.now() - timedelta(hours=2)))
    await desk.wait_until(f"/staff/{cleo}", lambda s: s["status"] == "suspended")

    refused = await _try_host(desk, location_id, cleo)
    desk.clock.advance(minutes=15)
    assert refused.status_code == 422
    problem = refused.json()
    assert (problem["code"], problem["reason"]) == ("staff_not_assignable", "suspended")
    assert "is suspended" in problem["detail"] and "host the visit" in problem["detail"]

    async with desk.as_role("attendant") as http:
        service = await http.post(f"/visits/{visit['visit_id']}/services",
                                  json=desk.service(cleo, minutes_ago=10, minutes=5))
        moved = await http.post(f"/visits/{visit['visit_id']}/guide",
                                json={"host_staff_id": str(cleo)})
    assert service.status_code == 422
    assert service.json()["reason"] == "suspended"
    assert "deliver a service" in service.json()["detail"]
    assert moved.status_code == 422 and moved.json()["reason"] == "suspended"


async def test_an_offboarded_member_cannot_host(desk, staffed):
    location_id, _ana, _bo = staffed
    dan = await desk.hire("Dan")
    await desk.publisher.publish(StaffOffboarded(
        staff_id=dan, effective_at=desk.clock.now() - timedelta(minutes=1)))
    await desk.wait_until(f"/staff/{dan}", lambda s: s["status"] == "offboarded")
    refused = await _try_host(desk, location_id, dan)
    assert refused.status_code == 422
    assert refused.json()["reason"] == "offboarded"
    assert "has been offboarded" in refused.json()["detail"]


async def test_someone_hr_never_announced_cannot_host(desk, staffed):
    location_id, _ana, _bo = staffed
    stranger = uuid4()
    refused = await _try_host(desk, location_id, stranger)
    assert refused.status_code == 422
    assert refused.json()["reason"] == "unknown"
    assert str(stranger) in refused.json()["detail"]


async def test_offboarding_before_hiring_arrives_stays_final(desk, staffed):
    location_id, _ana, _bo = staffed
    eve = uuid4()
    now = desk.clock.now()
    await desk.publisher.publish(StaffOffboarded(staff_id=eve,
                                                 effective_at=now - timedelta(days=1)))
    await desk.publisher.publish(StaffChanged(staff_id=eve, role="deputy", status="active",
                                              effective_at=now - timedelta(hours=1)))
    await desk.publisher.publish(StaffHired(staff_id=eve, display_name="Eve", role="attendant",
                                            department="service",
                                            hired_at=now - timedelta(days=90)))
    member = await desk.wait_until(f"/staff/{eve}", lambda s: s["display_name"] == "Eve")
    assert member["status"] == "offboarded"
    assert (await _try_host(desk, location_id, eve)).json()["reason"] == "offboarded"


async def test_an_older_change_arriving_late_does_not_undo_a_newer_one(desk, staffed):
    location_id, _ana, _bo = staffed
    fay = await desk.hire("Fay")
    now = desk.clock.now()
    await desk.publisher.publish(StaffChanged(staff_id=fay, role="attendant",
                                              status="suspended",
                                              effective_at=now - timedelta(hours=1)))
    await desk.publisher.publish(StaffChanged(staff_id=fay, role="deputy", status="active",
                                              effective_at=now - timedelta(days=3)))
    await desk.wait_until("/staff?status=suspended",
                          lambda staff: any(s["staff_id"] == str(fay) for s in staff))
    member = await desk.wait_until(f"/staff/{fay}")
    assert (member["status"], member["role"]) == ("suspended", "attendant")
    # Reinstated later: assignable again.
    await desk.publisher.publish(StaffChanged(staff_id=fay, role="attendant", status="active",
                                              effective_at=now - timedelta(minutes=1)))
    await desk.wait_until(f"/staff/{fay}", lambda s: s["status"] == "active")
    assert (await _try_host(desk, location_id, fay)).status_code == 201


async def test_duplicate_staff_events_change_nothing(desk):
    gus = uuid4()
    hired = StaffHired(staff_id=gus, display_name="Gus", role="attendant", department="service",
                       hired_at=desk.clock.now() - timedelta(days=5))
    suspended = StaffChanged(staff_id=gus, role="attendant", status="suspended",
                             effective_at=desk.clock.now() - timedelta(days=1))
    envelopes = [envelope_for(hired), envelope_for(suspended)]
    await desk.publisher.publish(hired, envelope=envelopes[0])
    await desk.publisher.publish(suspended, envelope=envelopes[1])
    before = await desk.wait_until(f"/staff/{gus}", lambda s: s["status"] == "suspended")
    facts = await desk.rows("SELECT * FROM staff_standings WHERE staff_id = :s", s=gus)

    # The same deliveries again (same ce_id), and the same facts under new ids.
    counts = {(t, o): desk.consumed(t, o) for t in ("staff.hired", "staff.changed")
              for o in ("handled", "duplicate")}
    await desk.publisher.publish(hired, envelope=envelopes[0])
    await desk.publisher.publish(suspended, envelope=envelopes[1])
    await desk.publisher.publish(hired)
    await desk.publisher.publish(suspended)
    for topic in ("staff.hired", "staff.changed"):
        await desk.settled(topic, handled=counts[topic, "handled"] + 1,
                           duplicate=counts[topic, "duplicate"] + 1)
    assert await desk.wait_until(f"/staff/{gus}") == before
    after = await desk.rows("SELECT * FROM staff_standings WHERE staff_id = :s", s=gus)
    assert sorted(after, key=str) == sorted(facts, key=str)
    seen = await desk.rows("SELECT count(*) AS n FROM inbox WHERE event_id IN (:a, :b)",
                           a=envelopes[0].id, b=envelopes[1].id)
    assert seen[0]["n"] == 2
