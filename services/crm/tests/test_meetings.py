"""Service meetings and improvement actions over real HTTP, PostgreSQL and Kafka (R2 §9.1,
R1 §5.3): the agenda counts the period's real survey answers, complaints, incidents reported
by reception (published on the bus) and overdue safety findings; the meeting is held once;
its action answers a complaint, and once done shows on that complaint."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from club_contracts import (
    ImprovementActionAssigned,
    ImprovementActionCompleted,
    IncidentReported,
    SafetyFindingClosed,
    SafetyFindingOpened,
    SafetyFindingOverdue,
    ServiceMeetingHeld,
)
from club_platform.auth import Role
from club_platform.testing import client, wait_for

PURPOSE = {"purpose": "complaint_handling"}


async def _complaint(http, customer_id: UUID, category: str) -> str:
    opened = await http.post("/complaints", json={
        "customer_id": str(customer_id), "category": category, "severity": "low",
        "channel": "phone", "description": "The sauna was cold all evening."})
    assert opened.status_code == 201, opened.text
    return opened.json()["complaint_id"]


async def _known(http, path: str) -> bool:
    return (await http.get(path)).status_code == 200


async def test_agenda_shows_the_periods_figures_and_a_done_action_shows_on_its_complaint(
        crm, crm_url, clock, sql, kafka_tap):
    # A stretch of time of this test's own: everything earlier tests wrote is before it.
    clock.advance(days=3)
    start = clock.now()
    owner = await crm.hire_specialist()
    colleague = await crm.hire_specialist()
    await crm.staff_known(sql, owner, "active")
    await crm.staff_known(sql, colleague, "active")

    # Two survey answers in the period (CSAT 5 and 2), one visit left unanswered.
    customer_id = await crm.register(full_name="Meeting Person")
    visits = [await crm.complete_visit(customer_id, staff=[owner]) for _ in range(3)]
    for visit in visits:
        await crm.wait_for_visit(visit.visit_id)
    async with crm.as_(Role.CRM_SPECIALIST) as http, client(crm_url) as anonymous:
        for visit, csat in zip(visits[:2], (5, 2), strict=True):
            [invitation] = (await http.get("/surveys/invitations",
                                           params={"visit_id": str(visit.visit_id)})).json()
            sent = await anonymous.post(f"/surveys/respond/{invitation['token']}",
                                        json={"csat": csat})
            assert sent.status_code == 201, sent.text

    # Complaints opened in the period: two about service (one resolved and upheld), one
    # about the facility.
    async with crm.as_(Role.HEAD) as http:
        answered = await _complaint(http, customer_id, "service")
        await _complaint(http, customer_id, "service")
        await _complaint(http, customer_id, "facility")
        assert (await http.post(f"/complaints/{answered}/acknowledge")).status_code == 200
        resolved = await http.post(f"/complaints/{answered}/resolve", json={
            "explanation": "We fixed the heater.", "compensation": {"kind": "none"},
            "upheld": True})
        assert resolved.status_code == 200, resolved.text

    # Reception's facts, on the bus as reception publishes them: one incident in the period
    # and one before it; a finding overdue, one closed on time, one not yet due.
    incident = IncidentReported(
        incident_id=uuid4(), category="safety", severity="high", location_id=uuid4(),
        reported_by=colleague, occurred_at=start + timedelta(minutes=5),
        reported_at=start + timedelta(minutes=10))
    earlier = IncidentReported(
        incident_id=uuid4(), category="facility", severity="low", location_id=uuid4(),
        reported_by=colleague, occurred_at=start - timedelta(days=2),
        reported_at=start - timedelta(days=2))
    late, fixed, later = uuid4(), uuid4(), uuid4()
    opened = {f: SafetyFindingOpened(
        finding_id=f, round_id=uuid4(), area="pool", item="drain_cover", owner_id=colleague,
        due_at=start + timedelta(hours=hours), opened_at=start)
        for f, hours in ((late, 1), (fixed, 1), (later, 24 * 10))}
    # The overdue event first, then the opening: the row converges all the same.
    await crm.publisher.publish(SafetyFindingOverdue(
        finding_id=late, owner_id=colleague, due_at=start + timedelta(hours=1),
        escalated_to_role="deputy", overdue_at=start + timedelta(hours=2)))
    for event in (incident, earlier, *opened.values()):
        await crm.publisher.publish(event)
    await crm.publisher.publish(SafetyFindingClosed(
        finding_id=fixed, owner_id=colleague, closed_by=colleague,
        due_at=start + timedelta(hours=1), closed_at=start + timedelta(minutes=30),
        on_time=True))

    async def facts_in() -> bool:
        return await sql.fetchval(
            "SELECT count(*) FROM safety_findings WHERE finding_id = ANY($1) AND area IS NOT "
            "NULL", [late, fixed, later]) == 3 and await sql.fetchval(
            "SELECT count(*) FROM safety_findings WHERE finding_id = $1 AND state = 'closed'",
            fixed) == 1 and await sql.fetchval(
            "SELECT count(*) FROM incidents_seen WHERE incident_id = ANY($1)",
            [incident.incident_id, earlier.incident_id]) == 2
    await wait_for(facts_in, what="CRM records reception's incidents and findings")

    clock.advance(hours=6)
    async with crm.as_(Role.DEPUTY) as http:
        scheduled = await http.post("/meetings", json={
            "period_from": start.isoformat(), "period_until": clock.now().isoformat(),
            "scheduled_for": (clock.now() + timedelta(hours=1)).isoformat(),
            "attendee_ids": [str(owner), str(colleague)]}, headers={"Idempotency-Key": "m-1"})
        assert scheduled.status_code == 201, scheduled.text
        meeting = scheduled.json()["meeting_id"]
        agenda = (await http.get(f"/meetings/{meeting}/agenda")).json()

    assert agenda["csat"] == {"answers": 2, "mean": 3.5}
    assert agenda["complaints"] == [
        {"category": "facility", "opened": 1, "resolved": 0, "upheld": 0},
        {"category": "service", "opened": 2, "resolved": 1, "upheld": 1}]
    assert agenda["incidents"] == [{"category": "safety", "severity": "high", "count": 1}]
    [overdue] = agenda["overdue_findings"]
    assert (overdue["finding_id"], overdue["area"], overdue["state"]) == (
        str(late), "pool", "overdue")

    # Minutes, then held once: meeting.held with who attended; holding again is the same.
    async with crm.as_(Role.DEPUTY) as http, kafka_tap("meeting.held",
                                                        "improvement.action_assigned",
                                                        "improvement.action_completed") as tap:
        too_soon = await http.post(f"/meetings/{meeting}/hold")
        assert too_soon.status_code == 422 and "minutes" in too_soon.json()["detail"]
        minutes = await http.put(f"/meetings/{meeting}/minutes", json={
            "minutes": "Cold sauna twice this week; the pool drain cover is late.",
            "attended_ids": [str(owner)]})
        assert minutes.status_code == 200, minutes.text
        held = await http.post(f"/meetings/{meeting}/hold")
        again = await http.post(f"/meetings/{meeting}/hold")
        assert held.status_code == again.status_code == 200
        assert held.json() == again.json() and held.json()["state"] == "held"
        [seen] = await tap.events(ServiceMeetingHeld, key=meeting)
        assert seen.event.attendee_ids == [owner]
        assert "sauna" not in seen.record.value.decode()   # minutes stay in CRM

        due = clock.now() + timedelta(days=2)
        created = await http.post(f"/meetings/{meeting}/actions", json={
            "text": "Service the sauna heater weekly", "owner_id": str(owner),
            "due_at": due.isoformat(), "complaint_ids": [answered],
            "incident_ids": [str(incident.incident_id)]})
        assert created.status_code == 201, created.text
        action = created.json()["action_id"]
        [assigned] = await tap.events(ImprovementActionAssigned, key=action)
        assert assigned.event.complaint_ids == [UUID(answered)]
        assert assigned.event.incident_ids == [incident.incident_id]
        assert "sauna" not in assigned.record.value.decode()

        async with crm.as_(Role.CRM_SPECIALIST, subject=colleague) as other:
            not_theirs = await other.post(f"/actions/{action}/complete",
                                          json={"note": "done"})
        assert not_theirs.status_code == 403
        async with crm.as_(Role.CRM_SPECIALIST, subject=owner) as mine:
            assert [a["action_id"] for a in (await mine.get(
                "/actions", params={"state": "open", "owner": str(owner)})).json()] == [action]
            clock.advance(days=1)
            done = await mine.post(f"/actions/{action}/complete",
                                   json={"note": "Heater serviced; weekly check booked."})
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "done" and done.json()["on_time"] is True
        [completed] = await tap.events(ImprovementActionCompleted, key=action)
        assert completed.event.on_time is True and completed.event.owner_id == owner

        # The complaint it answers shows it, done.
        complaint = (await http.get(f"/complaints/{answered}", params=PURPOSE)).json()
        [linked] = complaint["improvement_actions"]
        assert datetime.fromisoformat(linked.pop("due_at")) == due
        assert linked.pop("completed_at") is not None
        assert linked == {"action_id": action, "meeting_id": meeting, "owner_id": str(owner),
                          "state": "done"}
        listed = (await http.get("/actions", params={"state": "done",
                                                     "owner": str(owner)})).json()
        assert [a["action_id"] for a in listed] == [action]
        meeting_view = (await http.get(f"/meetings/{meeting}")).json()
        assert meeting_view["minutes"].startswith("Cold sauna")
        assert [a["state"] for a in meeting_view["actions"]] == ["done"]

    # Sealed at rest like every other free text here.
    stored = await sql.fetchval("SELECT minutes_enc FROM service_meetings WHERE meeting_id = $1",
                                UUID(meeting))
    assert stored.startswith("v1:") and "sauna" not in stored


async def test_actions_cite_only_known_complaints_and_incidents_and_go_overdue(crm, clock, sql):
    owner = await crm.hire_specialist()
    await crm.staff_known(sql, owner, "active")
    async with crm.as_(Role.HEAD) as http:
        meeting = (await http.post("/meetings", json={
            "period_from": (clock.now() - timedelta(days=7)).isoformat(),
            "period_until": clock.now().isoformat(),
            "scheduled_for": clock.now().isoformat(),
            "attendee_ids": [str(owner)]})).json()["meeting_id"]
        base = {"text": "Retrain the desk", "owner_id": str(owner),
                "due_at": (clock.now() + timedelta(hours=2)).isoformat()}
        ghost_complaint, ghost_incident = uuid4(), uuid4()
        unknown_complaint = await http.post(f"/meetings/{meeting}/actions", json={
            **base, "complaint_ids": [str(ghost_complaint)]})
        unknown_incident = await http.post(f"/meetings/{meeting}/actions", json={
            **base, "incident_ids": [str(ghost_incident)]})
        nobody = await http.post(f"/meetings/{meeting}/actions",
                                 json={**base, "owner_id": str(uuid4())})
        past = await http.post(f"/meetings/{meeting}/actions", json={
            **base, "due_at": (clock.now() - timedelta(hours=1)).isoformat()})
        no_meeting = await http.post(f"/meetings/{uuid4()}/actions", json=base)
        created = await http.post(f"/meetings/{meeting}/actions", json=base)
    assert unknown_complaint.status_code == 422
    assert str(ghost_complaint) in unknown_complaint.json()["detail"]
    assert unknown_incident.status_code == 422
    assert str(ghost_incident) in unknown_incident.json()["detail"]
    assert nobody.status_code == 422 and "owner" in nobody.json()["detail"]
    assert past.status_code == 422 and "future" in past.json()["detail"]
    assert no_meeting.status_code == 404
    assert created.status_code == 201, created.text
    action = created.json()["action_id"]

    clock.advance(hours=3)
    async with crm.as_(Role.HEAD) as http:
        overdue = (await http.get("/actions", params={"state": "overdue",
                                                      "owner": str(owner)})).json()
        assert [a["action_id"] for a in overdue] == [action]
        blank = await http.post(f"/actions/{action}/complete", json={"note": "   "})
        late = await http.post(f"/actions/{action}/complete", json={"note": "Done late"})
    assert blank.status_code == 422
    assert late.status_code == 200 and late.json()["on_time"] is False


async def test_bad_input_and_roles(crm, clock, sql):
    staff_id = await crm.hire_specialist()
    await crm.staff_known(sql, staff_id, "active")
    now = clock.now()
    good = {"period_from": (now - timedelta(days=7)).isoformat(),
            "period_until": now.isoformat(), "scheduled_for": now.isoformat(),
            "attendee_ids": [str(staff_id)]}
    async with crm.as_(Role.ATTENDANT) as http:
        attendant = await http.post("/meetings", json=good)
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        specialist = await http.post("/meetings", json=good)
    async with crm.as_(Role.HR_ADMIN) as http:
        hr = await http.get("/actions")
    async with crm.as_(Role.HEAD) as http:
        backwards = await http.post("/meetings", json={
            **good, "period_from": now.isoformat(),
            "period_until": (now - timedelta(days=1)).isoformat()})
        too_long = await http.post("/meetings", json={
            **good, "period_from": (now - timedelta(days=400)).isoformat()})
        stranger = await http.post("/meetings", json={**good, "attendee_ids": [str(uuid4())]})
        nobody = await http.post("/meetings", json={**good, "attendee_ids": []})
        number = await http.post("/meetings", json={**good, "scheduled_for": 12345})
        year_one = await http.post("/meetings", json={
            **good, "period_from": "0001-01-01T00:00:00Z"})
        missing = await http.get(f"/meetings/{uuid4()}/agenda")
        bad_state = await http.get("/actions", params={"state": "late"})
        first = await http.post("/meetings", json=good, headers={"Idempotency-Key": "k-7"})
        repeat = await http.post("/meetings", json=good, headers={"Idempotency-Key": "k-7"})
        blank_minutes = await http.put(f"/meetings/{first.json()['meeting_id']}/minutes",
                                       json={"minutes": "  ", "attended_ids": [str(staff_id)]})
    assert attendant.status_code == 403 and specialist.status_code == 403
    assert hr.status_code == 403
    assert backwards.status_code == 422 and "before" in backwards.json()["detail"]
    assert too_long.status_code == 422 and "366" in too_long.json()["detail"]
    assert stranger.status_code == 422 and "staff directory" in stranger.json()["detail"]
    assert nobody.status_code == number.status_code == year_one.status_code == 422
    assert missing.status_code == 404 and bad_state.status_code == 422
    assert first.status_code == repeat.status_code == 201
    assert first.json() == repeat.json()
    assert blank_minutes.status_code == 422
