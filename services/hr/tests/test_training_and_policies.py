"""Training (R2 §4.2–4.3) and policy revisions (R1 §9.2): notify every active staff member,
schedule training when required, track acknowledgements until all have signed."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

from club_contracts import PolicyRevised, TrainingAssigned


async def test_a_policy_revision_notifies_everyone_schedules_training_and_tracks_signatures(
        hr, kafka_tap):
    ana = UUID((await hr.hire("attendant"))["staff_id"])
    ben = UUID((await hr.hire("crm_specialist"))["staff_id"])
    now = hr.clock.now()
    async with kafka_tap("policy.revised", "training.assigned") as tap:
        published = await hr.call("hr_admin", "POST", "/policies", expect=201, json={
            "title": "Dress code", "summary": "Closed shoes at all times (R1 §4.2).",
            "effective_at": (now + timedelta(days=7)).isoformat(), "requires_training": True,
            "training_at": (now + timedelta(days=2)).isoformat()})
        policy = published.json()
        (seen,) = await tap.events(PolicyRevised, key=policy["policy_id"])
        # Everyone active must attend its training, and each is told (R1 §9.2).
        await tap.wait_for(lambda s: isinstance(s.event, TrainingAssigned)
                           and s.event.staff_id in (ana, ben), count=2)
    assert (seen.event.version, seen.event.title, seen.event.requires_training) == (
        1, "Dress code", True)
    told = [s.event for s in tap.seen if isinstance(s.event, TrainingAssigned)
            and s.event.staff_id == ana]
    assert [(t.clause, t.policy_id, t.policy_version) for t in told] == [
        ("R1 §9.2", UUID(policy["policy_id"]), 1)]

    def entry(report: list) -> dict:
        return next(e for e in report if e["policy_id"] == policy["policy_id"])

    report = entry((await hr.call("head", "GET", "/policies/compliance", expect=200)).json())
    assert {str(ana), str(ben)} <= set(report["pending"])
    # named, not only counted (R1 §9.2)
    assert {str(ana), str(ben)} <= {p["staff_id"] for p in report["not_acknowledged"]}
    assert {str(ana), str(ben)} <= {p["staff_id"] for p in report["training"]["not_attended"]}
    assert report["in_force"] is False and report["next"] is None  # in 7 days
    assert report["acknowledged"] == 0 and report["complete"] is False
    assert report["training"]["status"] == "scheduled"
    session = (await hr.call("head", "GET",
                             f"/training/sessions/{policy['training_session_id']}",
                             expect=200)).json()
    assert session["clause"] == "R1 §9.2"
    assert {str(ana), str(ben)} <= {a["staff_id"] for a in session["attendees"] if a["required"]}

    # A newcomer is asked too, and joins the training still to come.
    cai = UUID((await hr.hire("attendant"))["staff_id"])
    mine = (await hr.call("attendant", "GET", "/policies/acknowledgements/mine", subject=cai,
                          expect=200)).json()
    assert [(m["policy_id"], m["version"], m["acknowledged_at"]) for m in mine
            if m["policy_id"] == policy["policy_id"]] == [(policy["policy_id"], 1, None)]

    # Everyone signs and attends: then, and only then, it is complete.
    for staff_id in entry((await hr.call("head", "GET", "/policies/compliance",
                                         expect=200)).json())["pending"]:
        await hr.call("attendant", "POST",
                      f"/policies/{policy['policy_id']}/versions/1/acknowledgement",
                      subject=staff_id, expect=200)
    report = entry((await hr.call("head", "GET", "/policies/compliance", expect=200)).json())
    assert report["pending"] == [] and report["acknowledged"] == report["notified"]
    assert report["complete"] is False  # the training has not happened yet
    early = await hr.call("head", "POST",
                          f"/training/sessions/{policy['training_session_id']}/attendance",
                          json={"records": [{"staff_id": str(ana), "attended": True}]},
                          expect=409)
    assert "once the session has started" in early.json()["detail"]
    hr.clock.advance(days=3)
    session = (await hr.call("head", "GET",
                             f"/training/sessions/{policy['training_session_id']}",
                             expect=200)).json()
    await hr.call("head", "POST", f"/training/sessions/{session['session_id']}/attendance",
                  expect=200, json={"records": [
                      {"staff_id": a["staff_id"], "attended": True}
                      for a in session["attendees"]]})
    await hr.call("head", "POST", f"/training/sessions/{session['session_id']}/completion",
                  expect=200)
    report = entry((await hr.call("head", "GET", "/policies/compliance", expect=200)).json())
    assert report["training"]["attended"] == report["training"]["required"]
    assert report["complete"] is True

    # A revision starts the round again.
    async with kafka_tap("policy.revised") as tap:
        revised = await hr.call("head", "POST", f"/policies/{policy['policy_id']}/versions",
                                expect=201, json={
                                    "summary": "Closed shoes; no slippers in the spa either.",
                                    "effective_at": (hr.clock.now() + timedelta(days=30))
                                    .isoformat()})
        (seen,) = await tap.events(PolicyRevised, key=policy["policy_id"])
    assert (revised.json()["version"], seen.event.version, seen.event.requires_training) == (
        2, 2, False)
    # Version 1 is the one that counts until version 2 takes effect; version 2 is shown apart.
    report = entry((await hr.call("head", "GET", "/policies/compliance", expect=200)).json())
    assert report["version"] == 1 and report["complete"] is True
    assert report["next"]["version"] == 2 and str(ana) in report["next"]["pending"]
    assert report["next"]["in_force"] is False
    await hr.call("attendant", "POST", "/policies", expect=403, json={
        "title": "x", "summary": "y", "effective_at": hr.clock.now().isoformat()})


async def test_each_required_attendee_is_told_of_the_training_without_its_title(hr, kafka_tap):
    """R2 §4.2: one `training.assigned` per person required, named or by role; the title a
    manager wrote stays in HR, the clause travels."""
    ana = UUID((await hr.hire("attendant"))["staff_id"])
    ben = UUID((await hr.hire("crm_specialist"))["staff_id"])
    starts = hr.clock.now().replace(microsecond=0) + timedelta(days=3)
    async with kafka_tap("training.assigned") as tap:
        made = (await hr.call("deputy", "POST", "/training/sessions", expect=201, json={
            "title": "Handling Mrs Wang's allergy", "clause": "R2 §4.2",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "staff_ids": [str(ana), str(ben)], "roles": []})).json()
        seen = await tap.events(TrainingAssigned, key=made["session_id"], count=2)
        assert len([s for s in await tap.settle() if s.key == made["session_id"]]) == 2
    assert {s.event.staff_id for s in seen} == {ana, ben}
    for one in seen:
        assigned = one.event
        assert (assigned.clause, assigned.starts_at, assigned.ends_at) == (
            "R2 §4.2", starts, starts + timedelta(hours=2))
        assert assigned.assigned_at == hr.clock.now() and assigned.policy_id is None
        assert b"Wang" not in one.record.value


async def test_team_training_compliance_counts_in_the_heads_assessment(hr):
    boss = UUID((await hr.hire("head"))["staff_id"])
    team = [UUID((await hr.hire("attendant"))["staff_id"]) for _ in range(4)]
    held = datetime(2022, 5, 10, 10, tzinfo=UTC)
    session = (await hr.call("deputy", "POST", "/training/sessions", expect=201, json={
        "title": "Members' psychology", "clause": "R2 §4.3", "starts_at": held.isoformat(),
        "ends_at": (held + timedelta(hours=2)).isoformat(),
        "staff_ids": [str(s) for s in team]})).json()
    await hr.call("deputy", "POST", f"/training/sessions/{session['session_id']}/attendance",
                  expect=200, json={"records": [
                      {"staff_id": str(s), "attended": True} for s in team[:3]]})
    done = (await hr.call("deputy", "POST",
                          f"/training/sessions/{session['session_id']}/completion",
                          expect=200)).json()
    assert sorted(a["attended"] for a in done["attendees"]) == [False, True, True, True]
    assessed = (await hr.call("head", "POST", "/assessments", expect=201, json={
        "staff_id": str(boss), "period_start": "2022-05-10",
        "period_end": "2022-05-10"})).json()
    kpi = next(k for k in assessed["kpis"] if k["code"] == "team_training_compliance")
    assert (kpi["value"], kpi["score"]) == (75.0, 2.5)  # 3 of 4; 5 × (75 − 50) / 50
    assert len(kpi["counted_ids"]) == 4


async def test_bad_training_input_is_refused(hr):
    member = UUID((await hr.hire("attendant"))["staff_id"])
    start = hr.clock.now() + timedelta(days=3)
    backwards = await hr.call("head", "POST", "/training/sessions", expect=422, json={
        "title": "x", "starts_at": start.isoformat(),
        "ends_at": (start - timedelta(hours=1)).isoformat(), "staff_ids": [str(member)]})
    assert "end after it starts" in backwards.json()["detail"]
    nobody = await hr.call("head", "POST", "/training/sessions", expect=422, json={
        "title": "x", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat()})
    assert "required attendees" in nobody.json()["detail"]
    await hr.call("attendant", "POST", "/training/sessions", expect=403, json={
        "title": "x", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(), "staff_ids": [str(member)]})
    not_asked = await hr.call(
        "attendant", "POST", "/policies/00000000-0000-0000-0000-000000000000/versions/1/"
        "acknowledgement", subject=member, expect=404)
    assert "no policy" in not_asked.json()["detail"]
