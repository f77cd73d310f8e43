"""Complaints over real HTTP, PostgreSQL and Kafka (R2 §3.3–3.4): the SLA clock and its
escalation (driven by the test's clock, not by sleeping), resolution rules, the life cycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from club_contracts import (
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    ComplaintResolvedV2,
    FollowupCancelled,
    StaffHired,
)
from club_contracts.catalogue_v2 import RESOLUTION_WORDING
from club_platform.auth import Role
from club_platform.testing import wait_for

from club_crm.jobs import COMPLAINT_SLA


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _open(crm, customer_id: UUID, *, severity: str = "medium", category: str = "service",
                visit_id: UUID | None = None, staff: list[UUID] | None = None,
                role: Role = Role.ATTENDANT, subject: UUID | None = None,
                description: str = "The towel service never came.") -> dict:
    body = {"customer_id": str(customer_id), "category": category, "severity": severity,
            "channel": "in_person", "description": description,
            "subject_staff_ids": [str(s) for s in staff or []]}
    if visit_id:
        body["visit_id"] = str(visit_id)
    async with crm.as_(role, subject=subject) as http:
        response = await http.post("/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def _post(crm, path: str, body: dict | None = None, role: Role = Role.HEAD,
                subject: UUID | None = None):
    async with crm.as_(role, subject=subject) as http:
        return await http.post(path, json=body or {})


async def test_opening_publishes_the_sla_deadline(crm, kafka_tap, clock):
    customer_id = await crm.register(full_name="Feng Wei")
    staff = uuid4()
    async with kafka_tap("complaint.opened") as tap:
        opened = await _open(crm, customer_id, severity="high", category="facility",
                             staff=[staff])
        [seen] = await tap.events(ComplaintOpened, key=opened["complaint_id"])
    now = clock.now()
    assert opened["state"] == "open"
    assert _at(opened["first_response_due_at"]) == now + timedelta(hours=1)
    assert seen.event.sla_due_at == now + timedelta(hours=24)  # high severity: a day
    assert seen.event.subject_staff_ids == [staff]
    assert seen.event.customer_id == customer_id and seen.event.channel == "in_person"
    assert "never came" not in seen.record.value.decode()


async def test_an_unknown_visit_or_someone_elses_is_refused(crm):
    customer_id = await crm.register(full_name="Deng Ke")
    other = await crm.register(full_name="Other Person")
    visit = await crm.complete_visit(other)
    await crm.wait_for_visit(visit.visit_id)
    base = {"customer_id": str(customer_id), "category": "service", "severity": "low",
            "channel": "phone", "description": "slow"}
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        unknown = await http.post("/complaints", json={**base, "visit_id": str(uuid4())})
        theirs = await http.post("/complaints", json={**base, "visit_id": str(visit.visit_id)})
        nobody = await http.post("/complaints", json={**base, "customer_id": str(uuid4())})
        bad = await http.post("/complaints", json={**base, "severity": "urgent"})
    assert unknown.status_code == 422 and "unknown visit" in unknown.json()["detail"]
    assert theirs.status_code == 422 and "another customer" in theirs.json()["detail"]
    assert nobody.status_code == 422 and "unknown customer" in nobody.json()["detail"]
    assert bad.status_code == 422 and "severity" in bad.json()["detail"]


async def test_a_breached_sla_escalates_to_the_deputy_then_the_head(crm, runtime, kafka_tap,
                                                                   clock):
    customer_id = await crm.register(full_name="Luo Bin")
    async with kafka_tap("complaint.escalated") as tap:
        opened = await _open(crm, customer_id, severity="medium")  # answer within 4 h
        complaint_id = opened["complaint_id"]
        start = clock.now()
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=3))   # still in time
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=5))   # first answer late
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=6))   # deputy has it
        [deputy] = await tap.events(ComplaintEscalated, key=complaint_id)
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=29, minutes=1))
        seen = await tap.events(ComplaintEscalated, key=complaint_id, count=2)
        await tap.settle(0.5)
    assert deputy.event.level == 1 and deputy.event.escalated_to_role == "deputy"
    assert deputy.event.reason == "sla_breach"
    assert deputy.event.escalated_at == start + timedelta(hours=5)
    head = seen[1].event
    assert (head.level, head.escalated_to_role, head.reason) == (2, "head", "sla_breach")
    assert len([s for s in tap.seen if s.key == complaint_id]) == 2  # once per rung
    async with crm.as_(Role.HEAD) as http:
        with_head = await http.get("/complaints", params={"escalated_to": "head"})
        detail = await http.get(f"/complaints/{complaint_id}",
                                params={"purpose": "complaint_handling"})
    assert complaint_id in [c["complaint_id"] for c in with_head.json()]
    assert [h["escalated_to_role"] for h in detail.json()["history"]
            if h["action"] == "escalated"] == ["deputy", "head"]


async def test_an_answered_complaint_escalates_only_when_resolution_is_late(crm, runtime,
                                                                            kafka_tap, clock):
    customer_id = await crm.register(full_name="Tang Yi")
    async with kafka_tap("complaint.escalated") as tap:
        opened = await _open(crm, customer_id, severity="low")  # 24 h to answer, 7 days to fix
        complaint_id = opened["complaint_id"]
        start = clock.now()
        assert (await _post(crm, f"/complaints/{complaint_id}/acknowledge")).status_code == 200
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=30))
        await tap.settle(1.0)
        assert [s for s in tap.seen if s.key == complaint_id] == []
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(days=7, minutes=1))
        [late] = await tap.events(ComplaintEscalated, key=complaint_id)
    assert late.event.escalated_to_role == "deputy"


async def test_high_severity_safety_goes_to_the_head_at_once(crm, kafka_tap):
    customer_id = await crm.register(full_name="Yao Lan")
    async with kafka_tap("complaint.escalated") as tap:
        opened = await _open(crm, customer_id, severity="high", category="safety")
        [seen] = await tap.events(ComplaintEscalated, key=opened["complaint_id"])
    assert (seen.event.level, seen.event.escalated_to_role, seen.event.reason) == (
        2, "head", "severity")


async def test_resolving_needs_explanation_compensation_plan_and_upheld(crm):
    customer_id = await crm.register(full_name="Cao Rui")
    complaint_id = (await _open(crm, customer_id))["complaint_id"]
    early = await _post(crm, f"/complaints/{complaint_id}/resolve",
                        {"explanation": "sorry", "compensation": {"kind": "none"},
                         "upheld": False})
    assert early.status_code == 409 and "acknowledge it first" in early.json()["detail"]
    await _post(crm, f"/complaints/{complaint_id}/acknowledge")
    plan = {"kind": "gift"}
    cases = {
        "explanation": {"compensation": plan, "upheld": True},
        "compensation plan": {"explanation": "We are sorry.", "upheld": True},
        "upheld": {"explanation": "We are sorry.", "compensation": plan},
    }
    for missing, body in cases.items():
        refused = await _post(crm, f"/complaints/{complaint_id}/resolve", body)
        assert refused.status_code == 422, refused.text
        assert missing in refused.json()["detail"] and "R2 §3.4" in refused.json()["detail"]
    blank = await _post(crm, f"/complaints/{complaint_id}/resolve",
                        {"explanation": "   ", "compensation": plan, "upheld": True})
    no_amount = await _post(crm, f"/complaints/{complaint_id}/resolve",
                            {"explanation": "x", "compensation": {"kind": "voucher"},
                             "upheld": True})
    odd_kind = await _post(crm, f"/complaints/{complaint_id}/resolve",
                           {"explanation": "x", "compensation": {"kind": "cash"},
                            "upheld": True})
    assert blank.status_code == 422 and "explanation" in blank.json()["detail"]
    assert no_amount.status_code == 422 and "amount" in no_amount.json()["detail"]
    assert odd_kind.status_code == 422
    async with crm.as_(Role.HEAD) as http:
        still = await http.get(f"/complaints/{complaint_id}",
                               params={"purpose": "complaint_handling"})
    assert still.json()["state"] == "acknowledged"


async def test_the_whole_life_of_a_complaint(crm, sql, kafka_tap, clock):
    specialist = await crm.hire_specialist()
    await crm.staff_known(sql, specialist, "active")
    customer_id = await crm.register(full_name="Bai Xue", phone="13600006666")
    attendant = uuid4()
    visit = await crm.complete_visit(customer_id, staff=[attendant])
    await crm.wait_for_visit(visit.visit_id)
    opened = await _open(crm, customer_id, visit_id=visit.visit_id, staff=[attendant],
                         severity="medium", category="staff_conduct")
    complaint_id = opened["complaint_id"]
    path = f"/complaints/{complaint_id}"
    me = {"role": Role.CRM_SPECIALIST, "subject": specialist}
    await _post(crm, f"{path}/assign", {"staff_id": str(specialist)})
    async with kafka_tap("complaint.resolved") as tap:
        assert (await _post(crm, f"{path}/acknowledge", **me)).json()["state"] == "acknowledged"
        assert (await _post(crm, f"{path}/start", **me)).json()["state"] == "in_progress"
        task = await _post(crm, f"{path}/tasks", {"department": "housekeeping",
                                                  "description": "check the towel log"}, **me)
        assert task.status_code == 201, task.text
        blocked = await _post(crm, f"{path}/resolve", {
            "explanation": "x", "compensation": {"kind": "none"}, "upheld": False}, **me)
        assert blocked.status_code == 409 and "task" in blocked.json()["detail"]
        done = await _post(crm, f"{path}/tasks/{task.json()['task_id']}/complete",
                           {"outcome": "towels were late by 40 minutes"}, **me)
        assert done.status_code == 200, done.text
        clock.advance(hours=2)
        resolved = await _post(crm, f"{path}/resolve", {
            "explanation": "We apologise, Bai Xue: the towels were late. Call 136 0000 6666.",
            "compensation": {"kind": "voucher", "amount": "50.00"}, "upheld": True}, **me)
        assert resolved.status_code == 200, resolved.text
        [seen] = await tap.events(ComplaintResolved, key=complaint_id)
        [coded] = await tap.events(ComplaintResolvedV2, key=complaint_id)
    event = seen.event
    assert event.within_sla is True and event.upheld is True
    assert event.handled_by == specialist
    assert event.subject_staff_ids == [attendant]
    assert event.compensation.kind == "voucher" and str(event.compensation.value.amount) == "50.00"
    # No typed text on the bus: v2 carries the code (compensated, as there is a voucher), v1
    # the code's standard wording; the explanation is CRM's, redacted, over its API.
    assert coded.event.resolution_code == "compensated"
    assert coded.event.model_dump(exclude={"resolution_code"}) == event.model_dump(
        exclude={"resolution"})
    assert event.resolution == RESOLUTION_WORDING["compensated"]
    async with crm.as_(Role.HEAD) as http:
        kept = (await http.get(path, params={"purpose": "complaint_handling"})).json()
    assert kept["resolution_code"] == "compensated"
    assert kept["resolution"].startswith("We apologise, [customer]")
    assert "Bai Xue" not in kept["resolution"] and "6666" not in kept["resolution"]
    assert event.resolved_at == clock.now()
    # R1 §5.4: the specialist who resolved it calls the customer back the next day.
    async with crm.as_(Role.HEAD) as http:
        calls = (await http.get("/followups", params={"complaint_id": complaint_id})).json()
    assert [(c["reason"], c["assigned_to"], c["state"]) for c in calls] == [
        ("post_complaint", str(specialist), "open")]
    assert _at(calls[0]["due_at"]) == clock.now() + timedelta(hours=24)

    assert (await _post(crm, f"{path}/close", **me)).json()["state"] == "closed"
    async with kafka_tap("followup.cancelled") as tap:
        reopened = await _post(crm, f"{path}/reopen", **me)
        [called_off] = await tap.events(FollowupCancelled, key=calls[0]["followup_id"])
    assert (called_off.event.cancel_reason, str(called_off.event.complaint_id),
            called_off.event.reason) == ("complaint_reopened", complaint_id, "post_complaint")
    assert reopened.json()["state"] == "in_progress"
    assert reopened.json()["reopened_count"] == 1
    async with crm.as_(Role.HEAD) as http:
        calls = (await http.get("/followups", params={"complaint_id": complaint_id})).json()
    assert [c["state"] for c in calls] == ["cancelled"]

    # Resolved again, after its new deadline (48 h for staff conduct): outside the SLA.
    clock.advance(hours=49)
    async with kafka_tap("complaint.resolved") as tap:
        again = await _post(crm, f"{path}/resolve", {
            "explanation": "A second look.", "compensation": {"kind": "none"},
            "upheld": False}, **me)
        [late] = await tap.events(ComplaintResolved, key=complaint_id)
    assert again.status_code == 200, again.text
    assert late.event.within_sla is False and late.event.compensation.value is None
    async with crm.as_(Role.CRM_SPECIALIST, subject=specialist) as http:
        detail = await http.get(path, headers={"X-Access-Purpose": "complaint_handling"})
    body = detail.json()
    assert body["description"] == "The towel service never came."
    assert body["tasks"][0]["outcome"] == "towels were late by 40 minutes"
    assert [h["action"] for h in body["history"]] == [
        "opened", "assigned", "acknowledge", "start", "task_added", "task_done", "resolve",
        "close", "reopen", "resolve"]


async def test_complaint_detail_is_audited_and_needs_a_purpose(crm, sql):
    customer_id = await crm.register(full_name="Kong Ming")
    complaint_id = (await _open(crm, customer_id))["complaint_id"]
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        missing = await http.get(f"/complaints/{complaint_id}")
        listed = await http.get("/complaints", params={"customer_id": str(customer_id)})
    async with crm.as_(Role.ATTENDANT) as http:
        attendant = await http.get(f"/complaints/{complaint_id}",
                                   params={"purpose": "complaint_handling"})
    assert missing.status_code == 400
    assert attendant.status_code == 403
    assert [c["complaint_id"] for c in listed.json()] == [complaint_id]
    assert "description" not in listed.json()[0]
    audited = await sql.fetchval("SELECT count(*) FROM pii_access_log WHERE customer_id = $1 "
                                 "AND action = 'read_complaint'", customer_id)
    assert audited == 0


async def test_members_open_and_follow_their_own_complaints(crm):
    member = uuid4()
    await crm.register(full_name="Shen Tao", customer_id=member)
    someone = await crm.register(full_name="Someone Else")
    async with crm.as_(Role.MEMBER, subject=member) as http:
        opened = await http.post("/complaints", json={
            "category": "billing", "severity": "low", "channel": "app",
            "description": "charged twice"})
        for_other = await http.post("/complaints", json={
            "customer_id": str(someone), "category": "billing", "severity": "low",
            "channel": "app", "description": "x"})
        mine = await http.get("/complaints")
        detail = await http.get(f"/complaints/{opened.json()['complaint_id']}")
    assert opened.status_code == 201 and opened.json()["customer_id"] == str(member)
    assert for_other.status_code == 403
    assert [c["customer_id"] for c in mine.json()] == [str(member)]
    assert detail.json()["description"] == "charged twice" and "tasks" not in detail.json()


async def test_a_specialist_works_only_on_their_own_complaints(crm, sql):
    owner, other = await crm.hire_specialist(), uuid4()
    await crm.staff_known(sql, owner, "active")
    customer_id = await crm.register(full_name="Jiang Hui")
    complaint_id = (await _open(crm, customer_id))["complaint_id"]
    await _post(crm, f"/complaints/{complaint_id}/assign", {"staff_id": str(owner)},
                role=Role.DEPUTY)
    refused = await _post(crm, f"/complaints/{complaint_id}/acknowledge",
                          role=Role.CRM_SPECIALIST, subject=other)
    not_staff = await _post(crm, f"/complaints/{complaint_id}/assign", {"staff_id": str(other)})
    by_specialist = await _post(crm, f"/complaints/{complaint_id}/assign",
                                {"staff_id": str(owner)}, role=Role.CRM_SPECIALIST,
                                subject=owner)
    allowed = await _post(crm, f"/complaints/{complaint_id}/acknowledge",
                          role=Role.CRM_SPECIALIST, subject=owner)
    assert refused.status_code == 403 and "another specialist" in refused.json()["detail"]
    assert not_staff.status_code == 422
    assert by_specialist.status_code == 403
    assert allowed.status_code == 200
    twice = await _post(crm, f"/complaints/{complaint_id}/acknowledge",
                        role=Role.CRM_SPECIALIST, subject=owner)
    assert twice.status_code == 409 and "acknowledged" in twice.json()["detail"]


async def test_manual_escalation_climbs_the_ladder(crm, kafka_tap):
    customer_id = await crm.register(full_name="Wei Dong")
    complaint_id = (await _open(crm, customer_id))["complaint_id"]
    async with kafka_tap("complaint.escalated") as tap:
        first = await _post(crm, f"/complaints/{complaint_id}/escalate", role=Role.DEPUTY)
        second = await _post(crm, f"/complaints/{complaint_id}/escalate", role=Role.DEPUTY)
        third = await _post(crm, f"/complaints/{complaint_id}/escalate", role=Role.DEPUTY)
        seen = await tap.events(ComplaintEscalated, key=complaint_id, count=2)
    assert first.json()["escalated_to_role"] == "deputy"
    assert second.json()["escalated_to_role"] == "head"
    assert third.status_code == 409
    assert [(s.event.level, s.event.reason) for s in seen] == [(1, "manual"), (2, "manual")]


async def test_work_moves_off_a_suspended_specialist_but_stays_with_the_deputy(
        crm, sql, event_publisher, clock):
    deputy, specialist = uuid4(), await crm.hire_specialist()
    await event_publisher.publish(StaffHired(staff_id=deputy, display_name="Deputy Dai",
                                             role="deputy", department="service",
                                             hired_at=clock.now()))
    await crm.staff_known(sql, deputy, "active")
    await crm.staff_known(sql, specialist, "active")
    customer_id = await crm.register(full_name="Qin Lu")
    with_deputy = (await _open(crm, customer_id))["complaint_id"]
    with_specialist = (await _open(crm, customer_id))["complaint_id"]
    await _post(crm, f"/complaints/{with_deputy}/assign", {"staff_id": str(deputy)})
    await _post(crm, f"/complaints/{with_specialist}/assign", {"staff_id": str(specialist)})
    await crm.set_status(deputy, "active", role="deputy")       # a change that moves nothing
    await crm.set_status(specialist, "suspended")
    await crm.staff_known(sql, specialist, "suspended")

    async def deputy_change_applied() -> bool:
        return await sql.fetchval("SELECT status_at > hired_at FROM staff WHERE staff_id = $1",
                                  deputy)
    await wait_for(deputy_change_applied, what="the deputy's change applied")

    async def owner(complaint_id: str) -> str | None:
        async with crm.as_(Role.HEAD) as http:
            found = await http.get("/complaints", params={"customer_id": str(customer_id)})
        return next(c["assigned_to"] for c in found.json() if c["complaint_id"] == complaint_id)

    assert await owner(with_deputy) == str(deputy)
    assert await owner(with_specialist) != str(specialist)


async def test_both_clocks_name_who_held_the_complaint(crm, sql, runtime, kafka_tap, clock):
    """HR credits a missed first response to whoever held the complaint when it fell due, and
    the resolution to the resolver: the escalation and the resolution say who that was."""
    first, second = await crm.hire_specialist(), await crm.hire_specialist()
    for specialist in (first, second):
        await crm.staff_known(sql, specialist, "active")
    customer_id = await crm.register(full_name="Qin Hao")
    opened = await _open(crm, customer_id, severity="medium")  # answer within 4 h
    complaint_id = opened["complaint_id"]
    path = f"/complaints/{complaint_id}"
    start = clock.now()
    await _post(crm, f"{path}/assign", {"staff_id": str(first)})
    due = _at(opened["first_response_due_at"])
    async with kafka_tap("complaint.escalated") as tap:
        await runtime.run_job(COMPLAINT_SLA, start + timedelta(hours=5))  # nobody answered
        [escalated] = await tap.events(ComplaintEscalated, key=complaint_id)
    assert (escalated.event.breached, escalated.event.due_at, escalated.event.held_by) == (
        "first_response", due, first)
    # the second specialist takes it over, answers late and resolves it
    clock.advance(hours=5, minutes=30)
    await _post(crm, f"{path}/assign", {"staff_id": str(second)})
    me = {"role": Role.CRM_SPECIALIST, "subject": second}
    assert (await _post(crm, f"{path}/acknowledge", **me)).status_code == 200
    answered = clock.now()
    async with kafka_tap("complaint.resolved") as tap:
        resolved = await _post(crm, f"{path}/resolve", {
            "explanation": "Sorry for the wait.", "compensation": {"kind": "none"},
            "upheld": False}, **me)
        assert resolved.status_code == 200, resolved.text
        [seen] = await tap.events(ComplaintResolved, key=complaint_id)
    event = seen.event
    assert event.handled_by == second
    assert (event.first_response_due_at, event.first_responded_at, event.first_response_by) == (
        due, answered, first)
