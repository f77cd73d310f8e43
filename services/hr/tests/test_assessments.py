"""Assessments from events (R2 §5, services/hr/README.md) over real Kafka, PostgreSQL and HTTP.

The expected values here are computed from the events the test sends, with plain arithmetic,
not with the service's code: the score rises linearly from the template's `worst` (0) to its
`target` (5), values and scores are rounded to 2 places, the total is the weighted mean of
the measured KPIs' scores.
"""

from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from club_contracts import AssessmentPublished
from club_platform.envelope import envelope_for

# The club's time zone in these tests (the hr_settings fixture's): periods are its days.
CLUB_ZONE = ZoneInfo("Asia/Shanghai")


def expected_score(direction: str, value: float, target: float, worst: float) -> float:
    if direction == "higher_is_better":
        fraction = (value - worst) / (target - worst)
    else:
        fraction = (worst - value) / (worst - target)
    return round(5 * min(1.0, max(0.0, fraction)), 2)


def band(total: float) -> str:
    for floor, name in ((4.5, "outstanding"), (3.5, "good"), (2.5, "meets"),
                        (1.5, "needs_improvement")):
        if total >= floor:
            return name
    return "unsatisfactory"


def close(expected: float) -> object:
    return pytest.approx(expected, abs=0.011)


async def test_an_attendants_assessment_equals_what_the_events_say(
        hr, events, event_publisher, kafka_tap, hr_caught_up):
    anna = UUID((await hr.hire("attendant", display_name="Anna"))["staff_id"])
    bo = uuid4()  # a colleague HR does not need to know for this
    today = hr.today()
    first = today - timedelta(days=30)
    last = first + timedelta(days=6)

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        # the club's local time: a period is the club's days (UTC+8)
        return datetime.combine(first + timedelta(days=day), time(hour, minute), CLUB_ZONE)

    # --- what happened in the week (and just around it)
    visits = [
        events.visit(anna, at(0, 10)),  # Anna hosts
        events.visit(bo, at(1, 11), staff_ids=[anna]),  # Anna helps
        events.visit(bo, at(2, 15), served_by=[anna]),  # Anna delivers a service
        events.visit(anna, at(4, 9), staff_ids=[anna, bo], served_by=[anna]),  # counted once
        events.visit(anna, at(6, 23, 59)),  # the last minute of the period
    ]
    not_in_period = [events.visit(anna, at(-1, 23, 59)), events.visit(anna, at(7, 0))]
    not_annas = [events.visit(bo, at(3, 12))]
    surveys = [events.survey([anna], 5, at(0, 12)), events.survey([anna, bo], 4, at(2, 18)),
               events.survey([anna], 4, at(5, 9))]
    other_surveys = [events.survey([anna], 1, at(8, 9)), events.survey([bo], 2, at(3, 9))]
    upheld = [events.complaint_resolved([anna], upheld=True, at=at(3, 16))]
    other_complaints = [events.complaint_resolved([anna], upheld=False, at=at(4, 16)),
                        events.complaint_resolved([bo], upheld=True, at=at(4, 17))]
    # five shifts, 09:00–17:00; the door reports arrivals: on time, within the 5 minutes of
    # grace, 12 minutes late, early, on the dot
    arrivals = [(0, 8, 58), (1, 9, 4), (2, 9, 12), (3, 8, 50), (4, 9, 0)]
    shifts = [await hr.shift(anna, at(day, 9)) for day in range(5)]
    doors = [events.door(anna, "in", at(d, h, m)) for d, h, m in arrivals]
    doors += [events.door(anna, "out", at(d, 17, 1)) for d in range(5)]

    sent = {}
    for event in [*visits, *not_in_period, *not_annas, *surveys, *other_surveys, *upheld,
                  *other_complaints, *doors]:
        sent[id(event)] = await event_publisher.publish(event)
    await hr_caught_up()

    # --- the expected KPIs, from the events above
    values = {
        "visits_served": len(visits),
        "mean_csat": round((5 + 4 + 4) / 3, 2),
        "upheld_complaints": len(upheld),
        # every shift was attended; the 12-minute arrival is the discipline ladder's, not
        # counted again here (lateness counts once)
        "shifts_attended": 100 * 5 / 5,
    }
    shifts_due = 5
    template = (await hr.call("hr_admin", "GET", "/kpi-templates/attendant/in-force",
                              params={"on": first.isoformat()}, expect=200)).json()
    expected = {}
    for item in template["items"]:
        value = values[item["code"]]
        # visits_served is per shift: 3 per shift × 5 shifts = 15 for the week
        scale = shifts_due if item["basis"] == "per_shift" else 1
        target, worst = item["target"] * scale, item["worst"] * scale
        expected[item["code"]] = {
            "value": value, "target": target, "weight": item["weight"],
            "score": expected_score(item["direction"], value, target, worst),
        }
    total = round(sum(k["weight"] * k["score"] for k in expected.values())
                  / sum(k["weight"] for k in expected.values()), 2)

    async with kafka_tap("assessment.published") as tap:
        response = await hr.call("head", "POST", "/assessments", expect=201, json={
            "staff_id": str(anna), "period_start": first.isoformat(),
            "period_end": last.isoformat()})
        assessment = await hr.review_and_publish(response.json()["assessment_id"])
        (seen,) = await tap.events(AssessmentPublished, key=assessment["assessment_id"])

    published = seen.event
    assert published.staff_id == anna and published.role == "attendant"
    assert (published.period_start, published.period_end) == (first, last)
    assert {k.code for k in published.kpis} == set(expected)
    for kpi in published.kpis:
        want = expected[kpi.code]
        assert kpi.value == close(want["value"]), kpi.code
        assert kpi.score == close(want["score"]), kpi.code
        assert (kpi.weight, kpi.target) == (want["weight"], want["target"]), kpi.code
    assert published.total_score == close(total)
    assert published.rating == band(published.total_score)

    # The API shows the same assessment, and every KPI names what it counted.
    shown = (await hr.call("attendant", "GET", f"/assessments/{assessment['assessment_id']}",
                           subject=anna, expect=200)).json()
    assert shown["total_score"] == published.total_score
    by_code = {k["code"]: k for k in shown["kpis"]}
    assert {c: by_code[c]["value"] for c in expected} == {k.code: k.value for k in published.kpis}

    def ids(batch: list) -> set[str]:
        return {str(sent[id(e)].id) for e in batch}

    assert set(by_code["visits_served"]["counted_ids"]) == ids(visits)
    assert set(by_code["mean_csat"]["counted_ids"]) == ids(surveys)
    assert set(by_code["upheld_complaints"]["counted_ids"]) == ids(upheld)
    assert set(by_code["shifts_attended"]["counted_ids"]) == {s["shift_id"] for s in shifts}
    evidence = (await hr.call("head", "GET",
                              f"/assessments/{assessment['assessment_id']}/evidence",
                              expect=200)).json()
    late = [c for k in evidence["kpis"] if k["code"] == "shifts_attended"
            for c in k["counted"] if c["attrs"]["late_minutes"]]
    assert [(c["attrs"]["late_minutes"], c["attrs"]["arrival_event_id"]) for c in late] == [
        (12, str(sent[id(doors[2])].id))]
    csat = next(k for k in evidence["kpis"] if k["code"] == "mean_csat")
    assert {c["source"] for c in csat["counted"]} == {"survey.submitted"}
    # the arithmetic is shown: 3 per shift × 5 shifts due
    assert "target 3 per shift × 5 shifts due = 15" in by_code["visits_served"]["explanation"]


async def test_each_consumed_event_delivered_twice_counts_once(
        hr, events, event_publisher, hr_caught_up):
    cho = uuid4()
    now = hr.clock.now()
    batch = [
        events.visit(cho, now - timedelta(days=2)),
        events.survey([cho], 3, now - timedelta(days=2)),
        events.complaint_opened([cho], now - timedelta(days=2)),
        events.complaint_resolved([cho], upheld=True, at=now - timedelta(days=2),
                                  handled_by=cho),
        events.followup(cho, due_at=now - timedelta(days=1), completed_at=now - timedelta(days=2)),
        events.incident(cho, now - timedelta(days=2)),
    ]
    for event in batch:
        envelope = envelope_for(event)
        await event_publisher.publish(event, envelope=envelope)
        await event_publisher.publish(event, envelope=envelope)  # redelivered
    # ...and the same visit completed again under a new event id (a producer re-sent it)
    await event_publisher.publish(batch[0])
    await hr_caught_up()
    facts = (await hr.call("head", "GET", "/kpi-facts", params={"staff_id": str(cho)},
                           expect=200)).json()
    assert sorted(f["kind"] for f in facts) == sorted([
        "visit_served", "survey_rating", "upheld_complaint", "complaint_resolved", "followup",
        "incident_reported"])


async def test_facts_about_staff_hr_does_not_know_are_kept(hr, events, event_publisher):
    stranger = uuid4()
    envelope = await event_publisher.publish(events.visit(stranger, hr.clock.now()))
    facts = await hr.poll("head", "/kpi-facts", lambda f: f,
                          params={"staff_id": str(stranger)})
    assert [(f["kind"], f["source_event_id"]) for f in facts] == [
        ("visit_served", str(envelope.id))]


async def test_a_crm_specialists_assessment_from_complaints_and_follow_ups(
        hr, events, event_publisher, hr_caught_up, kafka_tap):
    li = UUID((await hr.hire("crm_specialist"))["staff_id"])
    first = hr.today() - timedelta(days=50)
    noon = datetime.combine(first, time(12), UTC)
    resolved = [  # hours to resolve: 10, 30, 20 (median 20); 2 of 3 within the SLA
        events.complaint_resolved([uuid4()], upheld=True, at=noon, handled_by=li, hours=10),
        events.complaint_resolved([], upheld=False, at=noon, handled_by=li, hours=30,
                                  within_sla=False),
        events.complaint_resolved([uuid4()], upheld=False, at=noon, handled_by=li, hours=20),
    ]
    followups = [  # 3 of 4 on time; after her resolutions: satisfied, dissatisfied
        events.followup(li, due_at=noon, completed_at=noon, reason="post_complaint",
                        complaint_id=resolved[0].complaint_id),
        events.followup(li, due_at=noon, completed_at=noon - timedelta(hours=1),
                        reason="post_complaint", outcome="dissatisfied",
                        complaint_id=resolved[1].complaint_id),
        events.followup(li, due_at=noon, completed_at=noon, reason="post_complaint",
                        outcome="unreachable", complaint_id=resolved[2].complaint_id),
        events.followup(li, due_at=noon, completed_at=noon + timedelta(minutes=5)),
    ]
    for event in [*resolved, *followups]:
        await event_publisher.publish(event)
    await hr_caught_up()
    async with kafka_tap("assessment.published") as tap:
        made = await hr.call("hr_admin", "POST", "/assessments", expect=201, json={
            "staff_id": str(li), "period_start": first.isoformat(),
            "period_end": first.isoformat()})
        await hr.review_and_publish(made.json()["assessment_id"])
        (seen,) = await tap.events(AssessmentPublished, key=made.json()["assessment_id"])
    values = {k.code: k.value for k in seen.event.kpis}
    assert values == {
        "complaints_within_sla": close(100 * 2 / 3),
        "median_resolution_hours": close(20),
        "followups_on_time": close(75),
        "satisfaction_after_resolution": close(50),
    }


async def test_a_template_change_applies_to_the_next_period_not_to_the_current_one(
        hr, events, event_publisher, hr_caught_up):
    deputy = UUID((await hr.hire("deputy"))["staff_id"])
    today = hr.today()
    tomorrow = today + timedelta(days=1)
    only_csat = {"items": [{"code": "department_csat", "weight": 100, "target": 4,
                            "worst": 2}]}
    await hr.call("hr_admin", "PUT", f"/kpi-templates/deputy/{tomorrow.isoformat()}",
                  json=only_csat, expect=200)
    in_force = (await hr.call("head", "GET", "/kpi-templates/deputy/in-force", expect=200,
                              params={"on": today.isoformat()})).json()
    assert [i["code"] for i in in_force["items"]] != ["department_csat"]

    # The week that just ended is assessed with the template in force then.
    before = today - timedelta(days=7)
    for _ in range(3):  # department CSAT needs three surveys to be scored
        await event_publisher.publish(events.survey([uuid4()], 3, datetime.combine(
            before, time(10), CLUB_ZONE)))
    await hr_caught_up()
    old = (await hr.call("head", "POST", "/assessments", expect=201, json={
        "staff_id": str(deputy), "period_start": before.isoformat(),
        "period_end": (today - timedelta(days=1)).isoformat()})).json()
    assert old["template_id"] == in_force["template_id"]
    assert [k["code"] for k in old["kpis"]] == [i["code"] for i in in_force["items"]]

    # The next week, once over, is assessed with the new one.
    hr.clock.advance(days=8)
    await event_publisher.publish(events.survey([uuid4()], 3, datetime.combine(
        tomorrow, time(10), UTC)))
    await hr_caught_up()
    new = (await hr.call("head", "POST", "/assessments", expect=201, json={
        "staff_id": str(deputy), "period_start": tomorrow.isoformat(),
        "period_end": (tomorrow + timedelta(days=6)).isoformat()})).json()
    assert [(k["code"], k["weight"]) for k in new["kpis"]] == [("department_csat", 100)]
    # and the old one did not change (the answer to POST also lists the parts made: one)
    again = (await hr.call("head", "GET", f"/assessments/{old['assessment_id']}",
                           expect=200)).json()
    assert old.pop("parts") == [old["assessment_id"]]
    assert again == old


async def test_bad_assessment_input_gets_a_clear_4xx(hr):
    member = await hr.hire("attendant")
    today = hr.today()
    future = (today + timedelta(days=40)).isoformat()
    not_100 = await hr.call("hr_admin", "PUT", f"/kpi-templates/attendant/{future}", expect=422,
                            json={"items": [
                                {"code": "visits_served", "weight": 60, "target": 60, "worst": 0},
                                {"code": "mean_csat", "weight": 30, "target": 4.5,
                                 "worst": 2.5}]})
    assert "weights must sum to 100, not 90" in not_100.json()["detail"]
    unknown = await hr.call("hr_admin", "PUT", f"/kpi-templates/attendant/{future}", expect=422,
                            json={"items": [{"code": "smiles", "weight": 100, "target": 1,
                                             "worst": 0}]})
    assert "unknown KPI 'smiles'" in unknown.json()["detail"]
    past = await hr.call("hr_admin", "PUT",
                         f"/kpi-templates/attendant/{today.isoformat()}", expect=422,
                         json={"items": [{"code": "visits_served", "weight": 100,
                                          "target": 60, "worst": 0}]})
    assert "future" in past.json()["detail"]
    backwards = await hr.call("head", "POST", "/assessments", expect=422, json={
        "staff_id": member["staff_id"], "period_start": (today - timedelta(days=3)).isoformat(),
        "period_end": (today - timedelta(days=10)).isoformat()})
    assert "before it starts" in backwards.json()["detail"]
    running = await hr.call("head", "POST", "/assessments", expect=422, json={
        "staff_id": member["staff_id"], "period_start": (today - timedelta(days=3)).isoformat(),
        "period_end": today.isoformat()})
    assert "not ended yet" in running.json()["detail"]
    await hr.call("head", "POST", "/assessments", expect=404, json={
        "staff_id": str(uuid4()), "period_start": "2020-01-01", "period_end": "2020-01-31"})
    await hr.call("attendant", "POST", "/assessments", expect=403, json={
        "staff_id": member["staff_id"], "period_start": "2020-01-01",
        "period_end": "2020-01-31"})
    await hr.call("head", "PUT", f"/kpi-templates/attendant/{future}", expect=403,
                  json={"items": []})


async def test_a_period_is_assessed_once_and_staff_see_only_their_own(hr):
    member = await hr.hire("attendant")
    period = {"staff_id": member["staff_id"], "period_start": "2021-03-01",
              "period_end": "2021-03-31"}
    # no shift, nothing happened: nothing to assess (not a row of zeros)
    empty = await hr.call("head", "POST", "/assessments", json=period, expect=409)
    assert "nothing to assess" in empty.json()["detail"]
    # one shift, missed: visits 0 of 3, attended 0 of 1; no surveys to measure
    await hr.shift(member["staff_id"], datetime(2021, 3, 10, 9, tzinfo=CLUB_ZONE))
    made = await hr.call("head", "POST", "/assessments", json=period, expect=201)
    assert [(k["code"], k["status"]) for k in made.json()["kpis"]] == [
        ("visits_served", "scored"), ("mean_csat", "not_measured"),
        ("upheld_complaints", "scored"), ("shifts_attended", "scored")]
    again = await hr.call("head", "POST", "/assessments", json=period, expect=409)
    assert made.json()["assessment_id"] in again.json()["detail"]
    await hr.call("attendant", "GET", f"/assessments/{made.json()['assessment_id']}",
                  expect=403)
    # a draft is the head's until published: not even its subject sees it yet
    await hr.call("attendant", "GET", f"/assessments/{made.json()['assessment_id']}",
                  subject=member["staff_id"], expect=403)
    assert (await hr.call("attendant", "GET", "/assessments", subject=member["staff_id"],
                          expect=200)).json() == []
    await hr.review_and_publish(made.json()["assessment_id"])
    mine = await hr.call("attendant", "GET", "/assessments", subject=member["staff_id"],
                         expect=200)
    assert [a["assessment_id"] for a in mine.json()] == [made.json()["assessment_id"]]


async def test_a_mid_period_role_change_splits_the_period_by_role(
        hr, events, event_publisher, hr_caught_up):
    """Mia is an attendant on day 1 and becomes a CRM specialist at 08:00 on day 2: days 1 and
    2–3 are assessed apart, each with its own role's template and its own events."""
    d1 = hr.clock.now().astimezone(CLUB_ZONE).date() + timedelta(days=1)
    d2, d3 = d1 + timedelta(days=1), d1 + timedelta(days=2)

    def at(day, hour: int) -> datetime:
        return datetime.combine(day, time(hour), CLUB_ZONE)

    mia = UUID((await hr.hire("attendant", display_name="Mia"))["staff_id"])
    await hr.shift(mia, at(d1, 10))  # day 1, 10:00–18:00
    hr.clock.set(at(d2, 8))
    await hr.call("hr_admin", "POST", f"/staff/{mia}/role", json={"role": "crm_specialist"},
                  expect=200)
    hr.clock.set(at(d3 + timedelta(days=1), 10))
    for event in (
        events.door(mia, "in", at(d1, 10)), events.door(mia, "out", at(d1, 18)),
        events.visit(mia, at(d1, 12)), events.visit(mia, at(d1, 15)),  # as an attendant
        events.visit(mia, at(d2, 12)),  # hosted on day 2, as a specialist: not a visit KPI
        events.complaint_resolved([], upheld=False, at=at(d3, 12), handled_by=mia, hours=6),
    ):
        await event_publisher.publish(event)
    await hr_caught_up()

    made = (await hr.call("head", "POST", "/assessments", expect=201, json={
        "staff_id": str(mia), "period_start": d1.isoformat(),
        "period_end": d3.isoformat()})).json()
    assert len(made["parts"]) == 2
    first = (await hr.call("head", "GET", f"/assessments/{made['parts'][0]}",
                           expect=200)).json()
    second = (await hr.call("head", "GET", f"/assessments/{made['parts'][1]}",
                            expect=200)).json()
    assert (first["role"], first["period_start"], first["period_end"]) == (
        "attendant", d1.isoformat(), d1.isoformat())
    assert (second["role"], second["period_start"], second["period_end"]) == (
        "crm_specialist", d2.isoformat(), d3.isoformat())
    attendant = (await hr.call("head", "GET", "/kpi-templates/attendant/in-force", expect=200,
                               params={"on": d1.isoformat()})).json()
    specialist = (await hr.call("head", "GET", "/kpi-templates/crm_specialist/in-force",
                                expect=200, params={"on": d2.isoformat()})).json()
    assert first["template_id"] == attendant["template_id"]
    assert second["template_id"] == specialist["template_id"]
    k = {x["code"]: x for x in first["kpis"]}
    # day 1 as an attendant: 2 visits of 3 per shift × 1 shift → 5 × 2 / 3 = 3.33; the day-2
    # visit is not hers as an attendant; the shift was kept: 100 % → 5.00; no upheld
    # complaint → 5.00; no survey: not measured
    assert (k["visits_served"]["value"], k["visits_served"]["score"]) == (2, 3.33)
    assert (k["shifts_attended"]["value"], k["shifts_attended"]["score"]) == (100, 5)
    assert k["mean_csat"]["status"] == "not_measured"
    # (30×3.33 + 20×5 + 20×5) / 70 = 299.9 / 70 = 4.284… → 4.28
    assert (first["total_score"], first["rating"]) == (4.28, "good")
    k = {x["code"]: x for x in second["kpis"]}
    # days 2–3 as a specialist: the complaint resolved on day 3 in 6 h within its SLA
    assert (k["complaints_within_sla"]["value"], k["complaints_within_sla"]["score"]) == (
        100, 5)
    assert (k["median_resolution_hours"]["value"], k["median_resolution_hours"]["score"]) == (
        6, 5)
    assert "visits_served" not in k
    # A day already assessed (in a part) is not assessed again.
    again = await hr.call("head", "POST", "/assessments", expect=409, json={
        "staff_id": str(mia), "period_start": d2.isoformat(), "period_end": d2.isoformat()})
    assert made["parts"][1] in again.json()["detail"]
