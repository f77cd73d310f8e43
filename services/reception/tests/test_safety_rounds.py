"""Safety rounds (R2 §7.1, §7.2): a supervisor schedules a round of an area's checklist, the
walker answers every item, a failed item becomes a finding with an owner and a due date,
escalated once when past due, closed with evidence; a finding may open an incident, and an
incident may call for a round. Events on their topics, with codes and ids only."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from club_contracts import (
    IncidentReported,
    SafetyFindingClosed,
    SafetyFindingOpened,
    SafetyFindingOverdue,
    SafetyRoundCompleted,
)

from club_reception.safety import OVERDUE_FINDINGS

FIRE_EXIT_ITEMS = ["exits_unobstructed", "exit_signs_lit", "doors_open_freely",
                   "extinguishers_in_date"]


async def _schedule(desk, *, area: str, walker: UUID, location_id: UUID | None) -> dict:
    async with desk.as_role("deputy") as http:
        answer = await http.post("/safety/rounds", json={
            "area": area, "walker_id": str(walker),
            "location_id": str(location_id) if location_id else None})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _passes(items, **failed: dict) -> list[dict]:
    return [{"item": i, "result": "pass"} if i not in failed
            else {"item": i, "result": "fail", **failed[i]} for i in items]


async def test_a_failed_item_becomes_a_finding_escalates_and_is_closed_late(desk, staffed,
                                                                          kafka_tap):
    location_id, ana, bo = staffed
    scheduled = await _schedule(desk, area="fire_exits", walker=ana, location_id=location_id)
    assert [i["item"] for i in scheduled["items"]] == FIRE_EXIT_ITEMS
    assert scheduled["status"] == "scheduled"
    path = f"/safety/rounds/{scheduled['round_id']}/complete"
    blocked = {"exits_unobstructed": {"note": "纸箱堵住 2 号门 (boxes at door 2)"}}

    async with desk.as_role("attendant", ana) as walker, desk.as_role("attendant", bo) as other:
        partial = await walker.post(path, json={"answers": [
            {"item": "exits_unobstructed", "result": "pass"},
            {"item": "exit_signs_lit", "result": "pass"}]})
        not_theirs = await other.post(path, json={"answers": _passes(FIRE_EXIT_ITEMS)})
        async with kafka_tap("safety.round_completed", "safety.finding_opened") as tap:
            walked = await walker.post(path, json={"answers": _passes(FIRE_EXIT_ITEMS,
                                                                      **blocked)})
            assert walked.status_code == 200, walked.text
            (done,) = await tap.events(SafetyRoundCompleted, key=scheduled["round_id"])
            (opened,) = await tap.events(SafetyFindingOpened)
        again = await walker.post(path, json={"answers": _passes(FIRE_EXIT_ITEMS)})
    assert partial.status_code == 422
    assert partial.json()["missing"] == ["doors_open_freely", "extinguishers_in_date"]
    assert "doors_open_freely" in partial.json()["detail"]
    assert not_theirs.status_code == 403
    assert again.status_code == 409 and again.json()["code"] == "round_completed"

    now = desk.clock.now()
    assert (done.event.area, done.event.conducted_by) == ("fire_exits", ana)
    assert (done.event.items_checked, done.event.items_failed) == (4, 1)
    event = opened.event
    (finding_id,) = walked.json()["finding_ids"]
    assert event.finding_id == UUID(finding_id)
    assert (event.item, event.owner_id, event.incident_id) == ("exits_unobstructed", ana, None)
    assert event.due_at == now + timedelta(hours=4)  # fire exits cannot wait a day
    assert "纸箱".encode() not in opened.record.value and b"boxes" not in opened.record.value

    async with desk.as_role("attendant") as http:
        open_now = await http.get("/safety/findings", params={"state": "open"})
    assert finding_id in [f["finding_id"] for f in open_now.json()]

    # past due: the job on the service's clock escalates it to the deputy, once
    desk.clock.advance(hours=4, minutes=1)
    async with kafka_tap("safety.finding_overdue", "safety.finding_closed") as tap:
        await desk.runtime.run_job(OVERDUE_FINDINGS)
        (overdue,) = await tap.events(SafetyFindingOverdue, key=finding_id)
        await desk.runtime.run_job(OVERDUE_FINDINGS)
        async with desk.as_role("attendant") as http:
            overdue_now = await http.get("/safety/findings", params={"state": "overdue"})
            still_open = await http.get("/safety/findings", params={"state": "open"})
        assert (overdue.event.escalated_to_role, overdue.event.owner_id) == ("deputy", ana)

        async with desk.as_role("attendant", ana) as owner, \
                desk.as_role("attendant", bo) as other:
            no_evidence = await owner.post(f"/safety/findings/{finding_id}/close", json={})
            not_owner = await other.post(f"/safety/findings/{finding_id}/close",
                                         json={"evidence": "moved them"})
            closed = await owner.post(f"/safety/findings/{finding_id}/close",
                                      json={"evidence": "纸箱已移走，通道复查畅通"})
            (closing,) = await tap.events(SafetyFindingClosed, key=finding_id)
            desk.clock.advance(minutes=5)
            repeat = await owner.post(f"/safety/findings/{finding_id}/close",
                                      json={"evidence": "again"})
        seen = await tap.settle(1.5)
    assert sum(1 for s in seen if s.key == finding_id
               and isinstance(s.event, SafetyFindingOverdue)) == 1
    assert sum(1 for s in seen if s.key == finding_id
               and isinstance(s.event, SafetyFindingClosed)) == 1
    assert finding_id in [f["finding_id"] for f in overdue_now.json()]
    assert finding_id not in [f["finding_id"] for f in still_open.json()]
    assert no_evidence.status_code == 422 and "evidence" in no_evidence.json()["detail"]
    assert not_owner.status_code == 403
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["state"], body["on_time"], body["escalated_to_role"]) == ("closed", False,
                                                                         "deputy")
    assert body["evidence"] == "纸箱已移走，通道复查畅通"
    assert (closing.event.on_time, closing.event.closed_by) == (False, ana)
    assert repeat.status_code == 200 and repeat.json() == body


async def test_a_finding_opens_an_incident_and_a_deputys_escalates_to_the_head(desk, staffed,
                                                                               kafka_tap):
    location_id, ana, _bo = staffed
    deputy = await desk.hire("Dai", role="deputy")
    scheduled = await _schedule(desk, area="wet_floors", walker=ana, location_id=location_id)
    path = f"/safety/rounds/{scheduled['round_id']}/complete"
    due = desk.clock.now() + timedelta(hours=2)
    failed = {"floors_dry": {"note": "泳池边大片积水", "owner_id": str(deputy),
                             "due_at": due.isoformat(), "open_incident": {"severity": "high"}}}
    items = ["floors_dry", "warning_signs_out", "mats_in_place"]
    async with desk.as_role("attendant", ana) as walker:
        walker_assigns = await walker.post(path, json={"answers": _passes(items, **failed)})
    async with desk.as_role("deputy") as supervisor, kafka_tap(
            "safety.finding_opened", "incident.reported") as tap:
        walked = await supervisor.post(path, json={"answers": _passes(items, **failed)})
        assert walked.status_code == 200, walked.text
        (finding_id,) = walked.json()["finding_ids"]
        (opened,) = await tap.events(SafetyFindingOpened, key=finding_id)
        incident_id = opened.event.incident_id
        (reported,) = await tap.events(IncidentReported, key=incident_id)
        incident = await supervisor.get(f"/incidents/{incident_id}")
        finding = await supervisor.get(f"/safety/findings/{finding_id}")
    assert walker_assigns.status_code == 403  # only a supervisor gives it to someone else
    assert incident_id is not None
    assert (opened.event.owner_id, opened.event.due_at) == (deputy, due)
    assert (reported.event.category, reported.event.severity,
            reported.event.location_id) == ("safety", "high", location_id)
    assert incident.status_code == 200 and incident.json()["status"] == "open"
    assert "泳池边大片积水" in incident.json()["description"]
    assert finding.json()["incident_id"] == str(incident_id)

    desk.clock.advance(hours=2, minutes=1)
    async with kafka_tap("safety.finding_overdue") as tap:
        await desk.runtime.run_job(OVERDUE_FINDINGS)
        (overdue,) = await tap.events(SafetyFindingOverdue, key=finding_id)
    assert overdue.event.escalated_to_role == "head"  # the deputy owns it


async def test_a_round_without_a_location_cannot_open_an_incident(desk, staffed):
    _location_id, ana, _bo = staffed
    scheduled = await _schedule(desk, area="first_aid", walker=ana, location_id=None)
    items = ["kit_complete", "aed_ready", "contacts_posted"]
    async with desk.as_role("head") as http:
        answer = await http.post(f"/safety/rounds/{scheduled['round_id']}/complete", json={
            "answers": _passes(items, aed_ready={"note": "battery low",
                                                 "open_incident": {"severity": "medium"}})})
        after = await http.get(f"/safety/rounds/{scheduled['round_id']}")
    assert answer.status_code == 422 and "no location" in answer.json()["detail"]
    assert after.json()["status"] == "scheduled"  # nothing was recorded
    assert after.json()["finding_ids"] == []


async def test_an_incident_calls_for_a_round_of_its_location(desk, staffed):
    location_id, ana, bo = staffed
    async with desk.as_role("attendant", bo) as http:
        reported = await http.post("/incidents", json={
            "category": "safety", "severity": "medium", "location_id": str(location_id),
            "description": "跑步机急停按钮失灵"})
        incident_id = reported.json()["incident_id"]
        attendant_calls = await http.post(f"/incidents/{incident_id}/safety-rounds", json={
            "area": "equipment", "walker_id": str(ana)})
    async with desk.as_role("deputy") as http:
        called = await http.post(f"/incidents/{incident_id}/safety-rounds", json={
            "area": "equipment", "walker_id": str(ana)})
        nowhere = await http.post(f"/incidents/{uuid4()}/safety-rounds", json={
            "area": "equipment", "walker_id": str(ana)})
        listed = await http.get("/safety/rounds", params={"status": "scheduled",
                                                          "walker_id": str(ana),
                                                          "area": "equipment"})
    assert attendant_calls.status_code == 403
    assert called.status_code == 201, called.text
    body = called.json()
    assert (body["incident_id"], body["location_id"]) == (incident_id, str(location_id))
    assert [i["item"] for i in body["items"]] == ["equipment_intact", "guards_in_place",
                                                 "out_of_order_tagged"]
    assert nowhere.status_code == 404
    assert body["round_id"] in [r["round_id"] for r in listed.json()]


async def test_checklists_are_the_supervisors_and_rounds_keep_theirs(desk, staffed):
    location_id, ana, _bo = staffed
    area = f"pool_deck_{uuid4().hex[:6]}"
    items = [{"item": "gate_locked", "wording": "泳池门已上锁"},
             {"item": "lifebuoy_present", "wording": "救生圈在位"}]
    async with desk.as_role("attendant") as attendant, desk.as_role("head") as head:
        seeded = await attendant.get("/safety/checklists")
        refused = await attendant.put(f"/safety/checklists/{area}", json={"items": items})
        twice = await head.put(f"/safety/checklists/{area}", json={"items": items + items[:1]})
        bad_code = await head.put("/safety/checklists/Pool Deck", json={"items": items})
        defined = await head.put(f"/safety/checklists/{area}", json={"items": items})
        scheduled = await head.post("/safety/rounds", json={
            "area": area, "walker_id": str(ana), "location_id": str(location_id)})
        rewritten = await head.put(f"/safety/checklists/{area}", json={"items": items[:1]})
        kept = await head.get(f"/safety/rounds/{scheduled.json()['round_id']}")
    assert {c["area"] for c in seeded.json()} >= {"fire_exits", "wet_floors", "equipment",
                                                  "first_aid"}
    assert refused.status_code == 403
    assert twice.status_code == 422 and "gate_locked" in twice.json()["detail"]
    assert bad_code.status_code == 422
    assert defined.status_code == 200 and defined.json()["items"] == items
    assert rewritten.json()["items"] == items[:1]
    assert [i["item"] for i in kept.json()["items"]] == ["gate_locked", "lifebuoy_present"]


async def test_bad_rounds_and_findings_are_refused(desk, staffed):
    location_id, ana, _bo = staffed
    async with desk.as_role("deputy") as http:
        unknown_area = await http.post("/safety/rounds", json={
            "area": "moon_base", "walker_id": str(ana)})
        unknown_walker = await http.post("/safety/rounds", json={
            "area": "fire_exits", "walker_id": str(uuid4())})
        unknown_place = await http.post("/safety/rounds", json={
            "area": "fire_exits", "walker_id": str(ana), "location_id": str(uuid4())})
        naive_time = await http.post("/safety/rounds", json={
            "area": "fire_exits", "walker_id": str(ana),
            "scheduled_for": "2026-11-27T10:00:00"})
        no_round = await http.post(f"/safety/rounds/{uuid4()}/complete", json={
            "answers": [{"item": "x", "result": "pass"}]})
        no_finding = await http.post(f"/safety/findings/{uuid4()}/close",
                                     json={"evidence": "done"})
        bad_state = await http.get("/safety/findings", params={"state": "forgotten"})
    scheduled = await _schedule(desk, area="fire_exits", walker=ana, location_id=location_id)
    async with desk.as_role("attendant", ana) as http:
        silent_fail = await http.post(f"/safety/rounds/{scheduled['round_id']}/complete",
                                      json={"answers": _passes(FIRE_EXIT_ITEMS,
                                                               exit_signs_lit={})})
        maybe = await http.post(f"/safety/rounds/{scheduled['round_id']}/complete",
                                json={"answers": [{"item": i, "result": "maybe"}
                                                  for i in FIRE_EXIT_ITEMS]})
        attendant_schedules = await http.post("/safety/rounds", json={
            "area": "fire_exits", "walker_id": str(ana)})
    async with desk.as_role("member") as member:
        member_reads = await member.get("/safety/findings")
    assert unknown_area.status_code == 422 and unknown_area.json()["code"] == \
        "unknown_checklist"
    assert unknown_walker.status_code == 422 and unknown_walker.json()["code"] == \
        "staff_not_assignable"
    assert unknown_place.status_code == 422 and unknown_place.json()["code"] == \
        "unknown_location"
    assert naive_time.status_code == 422 and "scheduled_for" in naive_time.json()["detail"]
    assert no_round.status_code == 404 and no_finding.status_code == 404
    assert bad_state.status_code == 422
    assert silent_fail.status_code == 422 and "exit_signs_lit" in silent_fail.json()["detail"]
    assert maybe.status_code == 422
    assert attendant_schedules.status_code == 403
    assert member_reads.status_code == 403
