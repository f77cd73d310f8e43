"""The skills matrix (R2 §4.1), training that raises skills once the head confirms, a training
opportunity as a reward (R2 §5.3), and the department's work (tasks, safety findings,
improvement actions) as KPI facts from the bus, over real Kafka, PostgreSQL and HTTP."""

from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from club_contracts import (
    ImprovementActionCompleted,
    RewardGranted,
    RewardGrantedV2,
    SafetyFindingClosed,
    TaskCompleted,
    TaskOverdue,
)
from club_platform.envelope import envelope_for

CLUB_ZONE = ZoneInfo("Asia/Shanghai")


def close(expected: float) -> object:
    return pytest.approx(expected, abs=0.011)


async def _matrix_row(hr, staff_id: UUID) -> dict:
    matrix = (await hr.call("deputy", "GET", "/skills/matrix", expect=200)).json()
    (row,) = [r for r in matrix["staff"] if r["staff_id"] == str(staff_id)]
    return row["levels"]


async def test_training_raises_skills_only_where_the_head_confirms(hr):
    ana = UUID((await hr.hire("attendant", display_name="Ana"))["staff_id"])
    ben = UUID((await hr.hire("attendant", display_name="Ben"))["staff_id"])
    cai = UUID((await hr.hire("attendant", display_name="Cai"))["staff_id"])
    head = uuid4()
    yesterday = (hr.clock.now().astimezone(CLUB_ZONE).date() - timedelta(days=1)).isoformat()
    # the head had judged Ana's communication before the training
    await hr.call("head", "POST", f"/staff/{ana}/skills", subject=head, expect=201, json={
        "skill": "communication", "level": 1, "assessed_on": yesterday,
        "note": "Guided by a colleague at the desk"})
    assert (await _matrix_row(hr, ana))["communication"] == 1

    held = datetime(2022, 6, 1, 10, tzinfo=UTC)
    session = (await hr.call("deputy", "POST", "/training/sessions", expect=201, json={
        "title": "Members' psychology", "clause": "R2 §4.3", "starts_at": held.isoformat(),
        "ends_at": (held + timedelta(hours=2)).isoformat(),
        "staff_ids": [str(ana), str(ben), str(cai)],
        "skills": [{"skill": "communication", "raise_by": 1, "up_to": 3},
                   {"skill": "teamwork", "raise_by": 2}]})).json()
    assert session["skills"] == [{"skill": "communication", "raise_by": 1, "up_to": 3},
                                 {"skill": "teamwork", "raise_by": 2, "up_to": 4}]
    sid = session["session_id"]
    await hr.call("deputy", "POST", f"/training/sessions/{sid}/attendance", expect=200,
                  json={"records": [{"staff_id": str(ana), "attended": True},
                                    {"staff_id": str(ben), "attended": True}]})
    # nothing is proposed before the session is completed
    assert (await hr.call("head", "GET", "/skills/proposals", expect=200,
                          params={"session_id": sid})).json() == []
    await hr.call("deputy", "POST", f"/training/sessions/{sid}/completion", expect=200)
    # attendance recorded again after completion proposes nothing twice
    await hr.call("deputy", "POST", f"/training/sessions/{sid}/attendance", expect=200,
                  json={"records": [{"staff_id": str(ben), "attended": True}]})

    proposals = (await hr.call("head", "GET", "/skills/proposals", expect=200,
                               params={"session_id": sid})).json()
    found = {(p["staff_id"], p["skill"]): (p["from_level"], p["to_level"], p["status"])
             for p in proposals}
    assert found == {  # Cai was absent: nothing for him
        (str(ana), "communication"): (1, 2, "proposed"),
        (str(ana), "teamwork"): (0, 2, "proposed"),
        (str(ben), "communication"): (0, 1, "proposed"),
        (str(ben), "teamwork"): (0, 2, "proposed"),
    }
    # proposed is not changed: the matrix still shows the levels before
    assert (await _matrix_row(hr, ana))["communication"] == 1
    assert (await _matrix_row(hr, ben))["teamwork"] == 0

    by_key = {(p["staff_id"], p["skill"]): p["proposal_id"] for p in proposals}
    some = by_key[(str(ana), "teamwork")]
    # only the head or deputy decide; an attendant or the HR admin may not
    await hr.call("attendant", "POST", f"/skills/proposals/{some}/confirm", expect=403)
    await hr.call("hr_admin", "POST", f"/skills/proposals/{some}/confirm", expect=403)
    for key in [(str(ana), "communication"), (str(ana), "teamwork"), (str(ben), "teamwork")]:
        decided = await hr.call("head", "POST", f"/skills/proposals/{by_key[key]}/confirm",
                                subject=head, expect=200)
        assert decided.json()["status"] == "confirmed"
    rejected = await hr.call("head", "POST",
                             f"/skills/proposals/{by_key[(str(ben), 'communication')]}/reject",
                             expect=200)
    assert rejected.json()["status"] == "rejected"
    await hr.call("head", "POST", f"/skills/proposals/{some}/reject", expect=409)

    assert await _matrix_row(hr, ana) == {"communication": 2, "service_awareness": 0,
                                          "teamwork": 2, "service_knowledge": 0}
    assert await _matrix_row(hr, ben) == {"communication": 0, "service_awareness": 0,
                                          "teamwork": 2, "service_knowledge": 0}
    assert set((await _matrix_row(hr, cai)).values()) == {0}

    # Ana sees her own levels and their history; Ben may not see hers
    mine = (await hr.call("attendant", "GET", f"/staff/{ana}/skills", subject=ana,
                          expect=200)).json()
    assert [(h["skill"], h["level"]) for h in mine["history"]] == [
        ("communication", 1), ("communication", 2), ("teamwork", 2)]
    assert {h["assessed_by"] for h in mine["history"]} == {str(head)}
    assert {c["skill"]: (c["level"], c["level_name"]) for c in mine["current"]}[
        "communication"] == (2, "independent")
    await hr.call("attendant", "GET", f"/staff/{ana}/skills", subject=ben, expect=403)


async def test_levels_are_set_by_the_head_or_deputy_and_bad_input_is_refused(hr):
    member = UUID((await hr.hire("attendant"))["staff_id"])
    level = {"skill": "teamwork", "level": 3}
    # an attendant cannot set levels, not even their own; nor can the HR admin
    await hr.call("attendant", "POST", f"/staff/{member}/skills", subject=member, json=level,
                  expect=403)
    await hr.call("hr_admin", "POST", f"/staff/{member}/skills", json=level, expect=403)
    await hr.call("attendant", "GET", "/skills/matrix", expect=403)
    await hr.call("deputy", "POST", f"/staff/{member}/skills", json=level, expect=201)

    for bad in ({"skill": "teamwork", "level": 5}, {"skill": "teamwork", "level": -1},
                {"skill": "Teamwork!", "level": 1}, {"skill": "teamwork"},
                {"skill": "teamwork", "level": 1, "assessed_on": "2026-02-30"},
                {"skill": "teamwork", "level": 1, "why": "extra"}):
        response = await hr.call("head", "POST", f"/staff/{member}/skills", json=bad,
                                 expect=422)
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown = await hr.call("head", "POST", f"/staff/{member}/skills", expect=422,
                            json={"skill": "juggling", "level": 1})
    assert "unknown skill: juggling" in unknown.json()["detail"]
    tomorrow = (hr.clock.now().astimezone(CLUB_ZONE).date() + timedelta(days=1)).isoformat()
    await hr.call("head", "POST", f"/staff/{member}/skills", expect=422,
                  json={**level, "assessed_on": tomorrow})
    await hr.call("head", "POST", f"/staff/{uuid4()}/skills", json=level, expect=404)
    await hr.call("head", "POST", f"/skills/proposals/{uuid4()}/confirm", expect=404)

    # the club's own skill: the HR admin adds it, once
    code = f"first_aid_{uuid4().hex[:6]}"
    await hr.call("head", "POST", "/skills", json={"code": code, "name": "First aid"},
                  expect=403)
    await hr.call("hr_admin", "POST", "/skills", json={"code": code, "name": "First aid"},
                  expect=201)
    await hr.call("hr_admin", "POST", "/skills", json={"code": code, "name": "Again"},
                  expect=409)
    await hr.call("hr_admin", "POST", "/skills", json={"code": "First Aid", "name": "x"},
                  expect=422)
    assert code in [s["code"] for s in (await hr.call("attendant", "GET", "/skills",
                                                      expect=200)).json()]
    await hr.call("head", "POST", f"/staff/{member}/skills", expect=201,
                  json={"skill": code, "level": 2})

    starts = hr.clock.now() + timedelta(days=2)
    session = {"title": "x", "starts_at": starts.isoformat(),
               "ends_at": (starts + timedelta(hours=1)).isoformat(),
               "staff_ids": [str(member)]}
    await hr.call("head", "POST", "/training/sessions", expect=422,
                  json={**session, "skills": [{"skill": "juggling"}]})
    await hr.call("head", "POST", "/training/sessions", expect=422,
                  json={**session, "skills": [{"skill": "teamwork", "raise_by": 0}]})
    await hr.call("head", "POST", "/training/sessions", expect=422,
                  json={**session, "skills": [{"skill": "teamwork"}, {"skill": "teamwork"}]})


async def test_a_training_opportunity_is_a_place_on_a_session_published_as_a_commendation(
        hr, kafka_tap):
    dan = UUID((await hr.hire("attendant"))["staff_id"])
    starts = hr.clock.now().replace(microsecond=0) + timedelta(days=5)
    session = (await hr.call("head", "POST", "/training/sessions", expect=201, json={
        "title": "Advanced service", "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(), "roles": ["crm_specialist"],
        "staff_ids": [str((await hr.hire("crm_specialist"))["staff_id"])],
        "skills": [{"skill": "service_knowledge"}]})).json()
    grant = {"staff_id": str(dan), "kind": "training_opportunity",
             "reason": "Calm with a difficult member", "reason_code": "exemplary_conduct",
             "training_session_id": session["session_id"]}
    async with kafka_tap("reward.granted") as tap:
        granted = (await hr.call("head", "POST", "/rewards", json=grant, expect=201)).json()
        (v1,) = await tap.events(RewardGranted, key=granted["reward_id"])
        (v2,) = await tap.events(RewardGrantedV2, key=granted["reward_id"])
    assert (granted["kind"], granted["training_session_id"], granted["rule_ref"]) == (
        "training_opportunity", session["session_id"], "R2 §5.3")
    # the event's kinds cannot grow without breaking its subscribers: it travels as a
    # commendation, with the incentive scheme's clause
    assert (v1.event.kind, v1.event.rule_ref) == ("commendation", "R2 §5.3")
    assert (v2.event.kind, v2.event.reason_code) == ("commendation", "exemplary_conduct")
    place = (await hr.call("attendant", "GET", f"/training/sessions/{session['session_id']}",
                           subject=dan, expect=200)).json()
    assert {"staff_id": str(dan), "required": False, "attended": None} in place["attendees"]

    no_session = {k: v for k, v in grant.items() if k != "training_session_id"}
    refused = await hr.call("head", "POST", "/rewards", json=no_session, expect=422)
    assert "names the training session" in refused.json()["detail"]
    await hr.call("head", "POST", "/rewards", expect=422, json={
        **grant, "kind": "bonus", "bonus": {"amount": "100.00"}})
    await hr.call("head", "POST", "/rewards", expect=404,
                  json={**grant, "training_session_id": str(uuid4())})
    past = datetime(2022, 7, 1, 10, tzinfo=UTC)
    over = (await hr.call("head", "POST", "/training/sessions", expect=201, json={
        "title": "Done", "starts_at": past.isoformat(),
        "ends_at": (past + timedelta(hours=1)).isoformat(), "staff_ids": [str(dan)]})).json()
    await hr.call("head", "POST", "/rewards", expect=409,
                  json={**grant, "training_session_id": over["session_id"]})
    await hr.call("deputy", "POST", "/rewards", json=grant, expect=403)


async def test_the_departments_work_counts_from_reception_and_crm_events(
        hr, event_publisher, hr_caught_up):
    """tasks_on_time, findings_closed_on_time and actions_on_time from the events reception
    and CRM publish, scored by a template the HR admin sets with them (they are in no default
    template)."""
    deputy = UUID((await hr.hire("deputy"))["staff_id"])
    other = uuid4()
    today = hr.clock.now().astimezone(CLUB_ZONE).date()
    day = today + timedelta(days=2)  # the template applies from a future day

    def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
        return datetime.combine(day + timedelta(days=days), time(hour, minute), CLUB_ZONE)

    def done(task: UUID, due: datetime, completed: datetime, owner: UUID = deputy):
        return TaskCompleted(task_id=task, owner_id=owner, completed_by=owner, due_at=due,
                             completed_at=completed, on_time=completed <= due)

    def overdue(task: UUID, due: datetime) -> TaskOverdue:
        return TaskOverdue(task_id=task, owner_id=deputy, due_at=due,
                           escalated_to_role="head", overdue_at=due + timedelta(minutes=30))

    late_then_done, never_done = uuid4(), uuid4()
    on_time = done(uuid4(), at(9), at(8, 50))
    tasks = [
        on_time,
        done(uuid4(), at(18), at(17)),
        overdue(late_then_done, at(12)),  # overdue, then done late: once, as late
        done(late_then_done, at(12), at(15)),
        overdue(never_done, at(20)),  # overdue and never done: not on time
        done(uuid4(), at(9, days=1), at(8, days=1)),  # due the next day: another period
        done(uuid4(), at(10), at(9), owner=other),  # someone else's
    ]
    findings = [SafetyFindingClosed(finding_id=uuid4(), owner_id=deputy, closed_by=deputy,
                                    due_at=at(17), closed_at=at(hour), on_time=hour <= 17)
                for hour in (10, 19, 16)]
    action = ImprovementActionCompleted(action_id=uuid4(), meeting_id=uuid4(),
                                        owner_id=deputy, due_at=at(18), completed_at=at(11),
                                        on_time=True)
    for event in [*tasks, *findings, action]:
        await event_publisher.publish(event)
    envelope = envelope_for(on_time)
    await event_publisher.publish(on_time, envelope=envelope)  # a re-sent completion
    await event_publisher.publish(on_time, envelope=envelope)  # redelivered
    await hr_caught_up()

    facts = (await hr.call("head", "GET", "/kpi-facts", expect=200, params={
        "staff_id": str(deputy), "kind": "task"})).json()
    assert sorted((f["subject_id"], f["attrs"]["on_time"]) for f in facts) == sorted([
        (str(on_time.task_id), True), (str(tasks[1].task_id), True),
        (str(late_then_done), False), (str(never_done), False),
        (str(tasks[5].task_id), True)])

    await hr.call("hr_admin", "PUT", f"/kpi-templates/deputy/{day.isoformat()}", expect=200,
                  json={"items": [
                      {"code": "tasks_on_time", "weight": 50, "target": 100, "worst": 0},
                      {"code": "findings_closed_on_time", "weight": 25, "target": 100,
                       "worst": 0},
                      {"code": "actions_on_time", "weight": 25, "target": 100, "worst": 0}]})
    hr.clock.advance(days=4)
    assessed = (await hr.call("head", "POST", "/assessments", expect=201, json={
        "staff_id": str(deputy), "period_start": day.isoformat(),
        "period_end": day.isoformat()})).json()
    kpis = {k["code"]: k for k in assessed["kpis"]}
    tasks_kpi = kpis["tasks_on_time"]
    assert (tasks_kpi["value"], tasks_kpi["score"]) == (close(50), close(2.5))  # 2 of 4
    assert "100 × 2 / 4 tasks due, completed on time" in tasks_kpi["explanation"]
    assert len(tasks_kpi["counted_ids"]) == 4
    findings_kpi = kpis["findings_closed_on_time"]
    assert (findings_kpi["value"], findings_kpi["score"]) == (close(66.67), close(3.33))
    assert "100 × 2 / 3 findings closed" in findings_kpi["explanation"]
    assert (kpis["actions_on_time"]["value"], kpis["actions_on_time"]["score"]) == (
        close(100), close(5))
    # (50 × 2.5 + 25 × 3.33 + 25 × 5) / 100
    assert (assessed["total_score"], assessed["rating"]) == (close(3.33), "meets")
