"""Incidents and facility reports (R2 §6.4, §7.2): reported at once by anyone on the staff,
followed up with actions, a root cause and a closure; incident.reported on its topic."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from club_contracts import IncidentReported, StaffChanged


async def test_an_incident_from_report_to_closure(desk, staffed, kafka_tap):
    location_id, ana, bo = staffed
    visit = await desk.walk_in(location_id, ana)
    occurred = desk.clock.now() - timedelta(minutes=10)
    reporter = uuid4()
    async with kafka_tap("incident.reported") as tap, desk.as_role("attendant",
                                                                   reporter) as http:
        reported = await http.post("/incidents", json={
            "category": "safety", "severity": "high", "location_id": str(location_id),
            "visit_id": visit["visit_id"], "occurred_at": occurred.isoformat(),
            "description": "guest slipped on the wet floor by the pool, Mr. Example"})
        assert reported.status_code == 201, reported.text
        incident = reported.json()
        (seen,) = await tap.events(IncidentReported, key=incident["incident_id"])
    event = seen.event
    assert (event.category, event.severity) == ("safety", "high")
    assert (event.location_id, event.visit_id, event.reported_by) == (
        location_id, UUID(visit["visit_id"]), reporter)
    assert event.occurred_at == occurred
    assert b"slipped" not in seen.record.value and b"Example" not in seen.record.value

    iid = incident["incident_id"]
    async with desk.as_role("attendant") as attendant, desk.as_role("deputy") as deputy:
        too_soon = await deputy.post(f"/incidents/{iid}/close", json={"resolution": "done"})
        action = await attendant.post(f"/incidents/{iid}/actions", json={
            "description": "put up wet-floor signs", "assigned_to": str(bo),
            "due_at": (desk.clock.now() + timedelta(hours=1)).isoformat()})
        assert action.status_code == 201, action.text
        cause = await deputy.put(f"/incidents/{iid}/root-cause",
                                 json={"root_cause": "the pool drain overflowed"})
        open_action = await deputy.post(f"/incidents/{iid}/close", json={"resolution": "ok"})
        attendant_close = await attendant.post(f"/incidents/{iid}/close",
                                               json={"resolution": "ok"})
        done = await attendant.post(
            f"/incidents/{iid}/actions/{action.json()['action_id']}/done",
            json={"outcome": "signs up, drain cleared"})
        closed = await deputy.post(f"/incidents/{iid}/close",
                                   json={"resolution": "drain repaired; signs kept"})
        after = await attendant.post(f"/incidents/{iid}/actions",
                                     json={"description": "one more thing"})
        listed = await attendant.get("/incidents", params={"status": "closed"})
    assert too_soon.status_code == 409 and "no root cause" in too_soon.json()["detail"]
    assert cause.status_code == 200 and cause.json()["root_cause"] == "the pool drain overflowed"
    assert open_action.status_code == 409 and "not done" in open_action.json()["detail"]
    assert attendant_close.status_code == 403
    assert done.status_code == 200 and done.json()["outcome"] == "signs up, drain cleared"
    assert closed.status_code == 200
    body = closed.json()
    assert body["status"] == "closed"
    assert body["resolution"] == "drain repaired; signs kept"
    assert [a["done_at"] is not None for a in body["actions"]] == [True]
    assert after.status_code == 409 and after.json()["code"] == "incident_closed"
    assert iid in [i["incident_id"] for i in listed.json()]


async def test_a_facility_report_needs_a_known_place_and_a_past_time(desk, staffed):
    location_id, _ana, bo = staffed
    suspended = await desk.hire("Hal")
    async with desk.as_role("hr_admin") as http:
        nowhere = await http.post("/incidents", json={
            "category": "facility", "severity": "low", "location_id": str(uuid4()),
            "description": "flickering light"})
        future = await http.post("/incidents", json={
            "category": "facility", "severity": "low", "location_id": str(location_id),
            "description": "flickering light",
            "occurred_at": (desk.clock.now() + timedelta(hours=2)).isoformat()})
        unknown_kind = await http.post("/incidents", json={
            "category": "ghost", "severity": "low", "location_id": str(location_id),
            "description": "strange noises"})
        reported = await http.post("/incidents", json={
            "category": "facility", "severity": "low", "location_id": str(location_id),
            "description": "flickering light"})
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "unknown_location"
    assert future.status_code == 422 and "in the future" in future.json()["detail"]
    assert unknown_kind.status_code == 422
    assert reported.status_code == 201
    assert reported.json()["occurred_at"] == reported.json()["reported_at"]

    await desk.publisher.publish(StaffChanged(staff_id=suspended, role="attendant",
                                              status="suspended",
                                              effective_at=desk.clock.now()))
    await desk.wait_until(f"/staff/{suspended}", lambda s: s["status"] == "suspended")
    async with desk.as_role("attendant") as http:
        refused = await http.post(f"/incidents/{reported.json()['incident_id']}/actions", json={
            "description": "replace the bulb", "assigned_to": str(suspended)})
        assigned = await http.post(f"/incidents/{reported.json()['incident_id']}/actions",
                                   json={"description": "replace the bulb",
                                         "assigned_to": str(bo)})
    assert refused.status_code == 422 and refused.json()["reason"] == "suspended"
    assert assigned.status_code == 201
