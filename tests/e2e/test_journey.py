"""One customer's journey through the four services, as real processes on real Kafka and
PostgreSQL, driven only through their public HTTP APIs (and, for the door system HR reads
clockings from, the bus). Each step asserts what the people involved would see — the member,
the front desk, the CRM specialist, HR — by polling the service that shows it.

book online → expected at the desk → check in → two services by two staff → complete →
booking fulfilled → call and survey scheduled → survey answered → complaint → upheld →
calls made → KPI facts, a discipline case, and an assessment for a closed period."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID, uuid4

import pytest
from club_contracts import AssessmentPublished, AttendanceClocked, SurveySubmitted
from club_platform.auth import Role
from club_platform.testing import wait_for

from .support import CLUB_ZONE, PATIENCE, Club, club_today, fact_counts, now

pytestmark = pytest.mark.slow


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _poll(fetch, check, what: str):
    """Poll `fetch()` until `check(value)` holds; return that value."""
    found = {}

    async def done() -> bool:
        found["value"] = await fetch()
        return bool(check(found["value"]))
    try:
        await wait_for(done, timeout=PATIENCE, interval=0.3, what=what)
    except AssertionError as e:  # say what was there instead
        raise AssertionError(f"{e}; last seen: {found.get('value')!r}") from None
    return found["value"]


async def test_one_customers_journey_across_the_four_services(club: Club, kafka_tap,
                                                              event_publisher):
    staff = club.staff
    host, colleague, specialist = str(staff.host), str(staff.colleague), str(staff.specialist)
    journey_started = now()

    # -- HR's staff are known where they work: reception's directory, CRM's team ----------
    async with club.as_("reception", Role.ATTENDANT, staff.host) as desk:
        directory = {m["staff_id"]: m for m in (await desk.get("/staff")).json()}
    assert {directory[s]["status"] for s in (host, colleague, specialist)} == {"active"}
    assert directory[host]["display_name"] == "Ana Host"
    assert directory[specialist]["role"] == "crm_specialist"

    # -- CRM registers the customer ---------------------------------------------------------
    async with club.as_("crm", Role.CRM_SPECIALIST, staff.specialist) as crm:
        registered = await crm.post("/customers", json={
            "full_name": "Mei Lin", "phone": "+86 138 0013 8000",
            "email": f"mei.lin.{uuid4().hex[:8]}@example.com", "tier": "gold"})
        assert registered.status_code == 201, registered.text
        customer_id = registered.json()["customer_id"]
        summary = await crm.get(f"/customers/{customer_id}/summary")
    assert summary.status_code == 200 and summary.json()["tier"] == "gold"
    member = (Role.MEMBER, customer_id)

    # -- the member books online: the first slot offered to them (an hour's notice) --------
    resource_id = await club.add_resource()
    asked = now()
    async with club.as_("booking", Role.MEMBER, customer_id) as app:
        slots = []
        # Dates are the club's own (BOOKING_TIMEZONE): around today in UTC covers any zone.
        for days in (-1, 0, 1):
            offered = await app.get("/availability", params={
                "service_code": club.treatment,
                "date": (asked.date() + timedelta(days=days)).isoformat(),
                "resource_id": resource_id})
            assert offered.status_code == 200, offered.text
            slots += offered.json()["slots"]
        slot = min(slots, key=lambda s: _at(s["starts_at"]))
        assert _at(slot["starts_at"]) >= asked + timedelta(minutes=60)  # the online notice
        booked = await app.post("/bookings", json={
            "resource_id": resource_id, "service_code": club.treatment,
            "starts_at": slot["starts_at"], "staff_id": host})
        assert booked.status_code == 201, booked.text
        booking = booked.json()
        mine = (await app.get("/bookings")).json()
    booking_id = booking["id"]
    assert (booking["channel"], booking["status"], booking["customer_id"]) == (
        "online", "booked", customer_id)
    assert [b["id"] for b in mine] == [booking_id]

    # -- reception expects them (from booking.created) ---------------------------------------
    arrival = await _poll(lambda: club.arrival(booking_id),
                          lambda a: a and a["status"] == "expected",
                          "reception expecting the booking")
    assert (arrival["customer_id"], arrival["service_code"], arrival["channel"]) == (
        customer_id, club.treatment, "online")
    assert _at(arrival["starts_at"]) == _at(booking["starts_at"])
    assert arrival["staff_id"] == host
    day_of_visit = _at(booking["starts_at"]).date()
    assert booking_id in [a["booking_id"] for a in await club.arrivals_on([day_of_visit])]

    # -- check-in, two services by two staff members, completion ------------------------------
    visit = await club.check_in(booking_id)
    visit_id = visit["visit_id"]
    assert (visit["booking_id"], visit["customer_id"], visit["host_staff_id"]) == (
        booking_id, customer_id, host)
    await club.serve(visit, [(club.treatment, staff.host), (club.quick, staff.colleague)])
    completed = await club.complete(visit_id)
    assert completed["staff_ids"] == [host, colleague]
    assert [s["service_code"] for s in completed["services"]] == [club.treatment, club.quick]
    completed_at = _at(completed["completed_at"])
    async with club.as_("reception", Role.MEMBER, customer_id) as app:
        own_visit = (await app.get(f"/visits/{visit_id}")).json()
    assert own_visit["status"] == "completed"
    assert all("notes" not in s or s["notes"] is None for s in own_visit["services"])
    assert (await club.arrival(booking_id))["status"] == "completed"

    # -- booking marks the booking fulfilled (from visit.checked_in) ----------------------------
    async with club.as_("booking", Role.MEMBER, customer_id) as app:
        async def booking_now() -> dict:
            return (await app.get(f"/bookings/{booking_id}")).json()
        fulfilled = await _poll(booking_now, lambda b: b["status"] == "fulfilled",
                                "the booking fulfilled")
    assert fulfilled["visit_id"] == visit_id
    assert _at(fulfilled["checked_in_at"]) == _at(visit["checked_in_at"])

    # -- CRM schedules a call and a survey (from visit.completed) -------------------------------
    [call] = await _poll(lambda: club.followups(visit_id=visit_id), len,
                         "the post-visit call")
    assert (call["reason"], call["customer_id"], call["assigned_to"], call["state"]) == (
        "post_visit", customer_id, specialist, "open")
    assert _at(call["due_at"]) == completed_at + timedelta(hours=24)  # "the next day"
    async with club.as_("crm", *member) as app:
        pending = await _poll(lambda: app.get("/surveys/invitations"),
                              lambda r: r.status_code == 200 and r.json(),
                              "the member's survey invitation")
    [invitation] = pending.json()
    assert invitation["visit_id"] == visit_id and invitation["status"] == "pending"

    # -- the customer answers the survey; it names that visit's staff -------------------------
    async with club.public("crm") as anonymous:
        form = (await anonymous.get(f"/surveys/respond/{invitation['token']}")).json()
    assert sorted(form["services"]) == sorted([club.treatment, club.quick])
    async with kafka_tap("survey.submitted") as tap:
        response = await club.answer_survey(invitation["token"], csat=4, nps=9)
        [submitted] = await tap.events(SurveySubmitted, key=response["response_id"],
                                       timeout=PATIENCE)
    assert submitted.event.visit_id == UUID(visit_id)
    assert [str(s) for s in submitted.event.staff_ids] == [host, colleague]
    async with club.public("crm") as anonymous:
        again = await anonymous.post(f"/surveys/respond/{invitation['token']}",
                                     json={"csat": 1})
    assert again.status_code == 409  # a link answers once

    # -- the customer complains about the host; the specialist upholds it -----------------------
    async with club.as_("crm", *member) as app:
        opened = await app.post("/complaints", json={
            "visit_id": visit_id, "subject_staff_ids": [host], "category": "staff_conduct",
            "severity": "medium", "channel": "app",
            "description": "The attendant was rude when I asked for a quieter room."})
        assert opened.status_code == 201, opened.text
        complaint = opened.json()
        complaint_id = complaint["complaint_id"]
        assert (await app.get("/complaints")).json()[0]["complaint_id"] == complaint_id
    assert complaint["assigned_to"] == specialist  # the only specialist: fair assignment
    async with club.as_("crm", Role.CRM_SPECIALIST, staff.specialist) as crm:
        assert (await crm.post(f"/complaints/{complaint_id}/acknowledge")).status_code == 200
        resolved = await crm.post(f"/complaints/{complaint_id}/resolve", json={
            "explanation": "We apologised; the attendant will be coached.",
            "compensation": {"kind": "voucher", "amount": 200}, "upheld": True})
        assert resolved.status_code == 200, resolved.text
        listed = {c["complaint_id"]: c for c in (await crm.get("/complaints")).json()}
    assert listed[complaint_id]["state"] == "resolved"
    assert listed[complaint_id]["within_sla"] is True

    # -- the calls are made: after the visit, and after the resolution --------------------------
    [after_complaint] = await _poll(lambda: club.followups(complaint_id=complaint_id), len,
                                    "the post-complaint call")
    assert after_complaint["assigned_to"] == specialist  # the resolving specialist (R1 §5.4)
    calls = [call["followup_id"], after_complaint["followup_id"]]
    async with club.as_("crm", Role.CRM_SPECIALIST, staff.specialist) as crm:
        queue = [f["followup_id"] for f in (await crm.get("/followups/queue")).json()]
        assert set(calls) <= set(queue)
        for followup_id in calls:
            done = await crm.post(f"/followups/{followup_id}/complete",
                                  json={"outcome": "satisfied"})
            assert done.status_code == 200, done.text
    for followup_id in calls:
        [state] = [f for f in await club.followups(customer_id=customer_id)
                   if f["followup_id"] == followup_id]
        assert state["state"] == "completed" and state["outcome"] == "satisfied"

    # -- HR counts all of it as KPI facts, each exactly once ------------------------------------
    response_id = response["response_id"]
    expected = {
        ("visit", None, visit_id): 1,
        ("visit_served", host, visit_id): 1,
        ("visit_served", colleague, visit_id): 1,
        ("survey", None, response_id): 1,
        ("survey_rating", host, response_id): 1,
        ("survey_rating", colleague, response_id): 1,
        ("complaint", None, complaint_id): 1,
        ("upheld_complaint", host, complaint_id): 1,
        ("complaint_resolved", specialist, complaint_id): 1,
        ("first_response", specialist, complaint_id): 1,  # acknowledged within the hour
        ("followup", specialist, calls[0]): 1,
        ("followup", specialist, calls[1]): 1,
    }
    subjects = [visit_id, response_id, complaint_id, *calls]
    facts = await _poll(lambda: club.facts(journey_started),
                        lambda f: fact_counts(f, subjects) == expected,
                        "HR's KPI facts of the journey")
    by_key = {(f["kind"], f["staff_id"], f["subject_id"]): f for f in facts}
    assert by_key[("survey_rating", host, response_id)]["value"] == 4
    assert by_key[("visit_served", host, visit_id)]["attrs"]["host"] is True
    assert by_key[("visit_served", colleague, visit_id)]["attrs"]["host"] is False
    assert by_key[("complaint_resolved", specialist, complaint_id)]["attrs"]["within_sla"]
    assert by_key[("followup", specialist, calls[0])]["attrs"]["on_time"] is True

    # -- HR opened a discipline case for the upheld complaint, citing its clause ----------------
    async with club.as_("hr", Role.HEAD, staff.head) as hr:
        rules = {r["code"]: r for r in (await hr.get("/discipline/rules")).json()}

        async def cases() -> list[dict]:
            return (await hr.get("/discipline/cases", params={"staff_id": host})).json()
        [case] = await _poll(cases, len, "the discipline case for the upheld complaint")
    assert (case["violation"], case["status"], case["origin"]) == (
        "upheld_complaint", "open", "complaint")
    assert case["rule_ref"] == rules["upheld_complaint"]["rule_ref"] == "R1 §8.2"
    assert case["subject_ref"] == f"complaint:{complaint_id}"
    assert case["proposed_action"]  # the ladder's first step for a first case

    # -- an assessment for a closed period ------------------------------------------------------
    # HR assesses whole club days that are over (never today), and every fact the journey made
    # is dated now. With real clocks, the closed period is yesterday, and what happened in it
    # must be put there by the APIs that take past times: the HR head schedules yesterday's
    # shift for the host after the fact (as a roster is often entered), and the door system
    # reports the host's clock-in and clock-out of yesterday on `attendance.clocked` (HR reads
    # door events from the bus). Nothing is faked: HR judges the shift from those clockings
    # and assesses the period from its own records. Today's journey must not leak into it.
    club_day = club_today()
    yesterday = club_day - timedelta(days=1)
    shift_start = datetime.combine(yesterday, time(9), CLUB_ZONE)
    shift_end = datetime.combine(yesterday, time(17), CLUB_ZONE)
    door = uuid4()
    async with kafka_tap("attendance.clocked") as tap:
        arrived = await event_publisher.publish(AttendanceClocked(
            staff_id=staff.host, direction="in", at=shift_start - timedelta(minutes=3),
            device_id=door))
        await event_publisher.publish(AttendanceClocked(
            staff_id=staff.host, direction="out", at=shift_end + timedelta(minutes=4),
            device_id=door))
        await tap.events(AttendanceClocked, key=staff.host, count=2, timeout=PATIENCE)
    async with club.as_("hr", Role.HEAD, staff.head) as hr:
        scheduled = await hr.post("/shifts", json={
            "staff_id": host, "starts_at": shift_start.isoformat(),
            "ends_at": shift_end.isoformat()})
        assert scheduled.status_code == 201, scheduled.text
        shift_id = scheduled.json()["shift_id"]

        async def shift() -> dict:
            return (await hr.get(f"/shifts/{shift_id}")).json()
        # the door's events are consumed asynchronously; the verdict shows once both are in
        judged = await _poll(shift, lambda s: _clocked_both(s), "yesterday's shift judged")
        template = (await hr.get("/kpi-templates/attendant/in-force",
                                 params={"on": yesterday.isoformat()})).json()
        async with kafka_tap("assessment.published") as tap:
            assessed = await hr.post("/assessments", json={
                "staff_id": host, "period_start": yesterday.isoformat(),
                "period_end": yesterday.isoformat()})
            assert assessed.status_code == 201, assessed.text
            # a draft until the head has reviewed it (nothing adjusted) and published it
            draft = assessed.json()
            reviewed = await hr.post(f"/assessments/{draft['assessment_id']}/review", json={})
            assert reviewed.status_code == 200, reviewed.text
            done = await hr.post(f"/assessments/{draft['assessment_id']}/publish")
            assert done.status_code == 200, done.text
            assessment = done.json()
            [published] = await tap.events(AssessmentPublished,
                                           key=assessment["assessment_id"], timeout=PATIENCE)
        today = await hr.post("/assessments", json={
            "staff_id": host, "period_start": club_day.isoformat(),
            "period_end": club_day.isoformat()})
        listed = (await hr.get("/assessments", params={"staff_id": host})).json()
    assert judged["attendance"]["kept"] is True
    assert judged["attendance"]["late_minutes"] is None
    assert today.status_code == 422 and "not ended" in today.json()["detail"]
    assert [a["assessment_id"] for a in listed] == [assessment["assessment_id"]]
    kpis = {k["code"]: k for k in assessment["kpis"]}
    # Yesterday: one shift, kept (clocked in before it started, out after it ended) …
    assert kpis["shifts_attended"]["value"] == 100 and kpis["shifts_attended"][
        "counted_ids"] == [shift_id]
    # … and none of today's work: no visit served, no upheld complaint, no survey yet.
    assert kpis["visits_served"]["value"] == 0 and kpis["visits_served"]["counted_ids"] == []
    assert kpis["upheld_complaints"]["value"] == 0
    assert kpis["mean_csat"]["measured"] is False
    assert visit_id not in str(assessment) and complaint_id not in str(assessment)
    expected_total = _weighted_total(template, kpis)
    assert assessment["total_score"] == expected_total
    assert assessment["rating"] == _rating(expected_total)
    assert published.event.staff_id == staff.host
    assert (published.event.period_start, published.event.period_end) == (yesterday, yesterday)
    assert published.event.rating == assessment["rating"]
    assert {k.code for k in published.event.kpis} == {
        code for code, k in kpis.items() if k["status"] == "scored"}
    async with club.as_("hr", Role.HEAD, staff.head) as hr:
        evidence = (await hr.get(f"/assessments/{assessment['assessment_id']}/evidence")).json()
    [kept] = next(k for k in evidence["kpis"] if k["code"] == "shifts_attended")["counted"]
    assert kept["attrs"]["arrival_event_id"] == str(arrived.id)  # the door's event, by ce_id

    # -- and nothing on the way was dead-lettered by any of the four ----------------------------
    assert await club.dead_letters() == {}


def _clocked_both(shift: dict) -> bool:
    attendance = shift.get("attendance") or {}
    return bool(attendance.get("arrived_at") and attendance.get("left_at"))


def _weighted_total(template: dict, kpis: dict[str, dict]) -> float:
    """The total as HR documents it (README, "Assessments"): the weighted mean of the measured
    KPIs' scores, each score 0–5 between the template's worst and target, to 2 places."""
    two = Decimal("0.01")
    weights = total = Decimal(0)
    for item in template["items"]:
        kpi = kpis[item["code"]]
        if kpi["status"] != "scored":  # not measured, not assessed or too few: out of the total
            continue
        # the targets for this period (per shift ones scaled by the shifts due)
        value, target, worst = (Decimal(str(kpi["value"])),
                                Decimal(str(kpi["target_for_period"])),
                                Decimal(str(kpi["worst_for_period"])))
        score = Decimal(5) * (value - worst) / (target - worst)
        score = min(Decimal(5), max(Decimal(0), score)).quantize(two, ROUND_HALF_UP)
        assert Decimal(str(kpi["score"])) == score, (item["code"], kpi, score)
        weights += item["weight"]
        total += item["weight"] * score
    return float((total / weights).quantize(two, ROUND_HALF_UP))


def _rating(total: float) -> str:
    for floor, rating in ((4.5, "outstanding"), (3.5, "good"), (2.5, "meets"),
                          (1.5, "needs_improvement")):
        if total >= floor:
            return rating
    return "unsatisfactory"
