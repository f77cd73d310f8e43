"""Discipline over real Kafka, PostgreSQL and HTTP (R1 §7.2, R2 §6, §8): cases opened by events
and by hand, the ladder climbing, who may decide, suspensions and appeals."""

from datetime import timedelta
from uuid import UUID, uuid4

from club_contracts import (
    DisciplineAppealDecided,
    DisciplineDismissed,
    DisciplineOpened,
    DisciplineRecorded,
    StaffChanged,
)
from club_platform.envelope import envelope_for


async def cases_of(hr, staff_id, **params) -> list[dict]:
    return (await hr.call("head", "GET", "/discipline/cases", expect=200,
                          params={"staff_id": str(staff_id), **params})).json()


async def decide(hr, case_id, role="head", expect=200, **body) -> dict:
    response = await hr.call(role, "POST", f"/discipline/cases/{case_id}/decision", json=body,
                             expect=expect)
    return response.json()


async def test_an_upheld_complaint_naming_a_staff_member_opens_a_case_citing_its_clause(
        hr, events, event_publisher, kafka_tap, hr_caught_up):
    wei = UUID((await hr.hire("attendant"))["staff_id"])
    resolved = events.complaint_resolved([wei], upheld=True, at=hr.clock.now())
    envelope = envelope_for(resolved)
    await event_publisher.publish(resolved, envelope=envelope)
    await event_publisher.publish(resolved, envelope=envelope)  # redelivered
    await event_publisher.publish(resolved)  # and re-sent by CRM under a new event id
    await event_publisher.publish(events.complaint_resolved([wei], upheld=False,
                                                            at=hr.clock.now()))
    await hr_caught_up()
    (case,) = await cases_of(hr, wei)
    assert (case["violation"], case["rule_ref"], case["origin"], case["status"]) == (
        "upheld_complaint", "R1 §8.2", "complaint", "open")
    assert case["source_event_id"] == str(envelope.id)
    assert case["subject_ref"] == f"complaint:{resolved.complaint_id}"
    assert case["proposed_action"] == "verbal_warning"

    async with kafka_tap("discipline.recorded") as tap:
        decided = await decide(hr, case["case_id"], action="verbal_warning")
        (seen,) = await tap.events(DisciplineRecorded, key=case["case_id"])
    recorded = seen.event
    assert (recorded.staff_id, recorded.rule_ref, recorded.violation, recorded.action) == (
        wei, "R1 §8.2", "upheld_complaint", "verbal_warning")
    assert recorded.source_event_id == envelope.id
    assert recorded.fine is None and recorded.suspension_days is None
    assert decided["status"] == "decided" and decided["proposed_action"] == "verbal_warning"


async def test_a_third_lateness_within_30_days_climbs_the_ladder(
        hr, events, event_publisher, kafka_tap, hr_caught_up):
    jun = UUID((await hr.hire("attendant"))["staff_id"])
    nine = hr.clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
    days_ago = (70, 60, 48, 10)  # three within 30 days of each other, then one much later
    for ago in days_ago:
        start = nine - timedelta(days=ago)
        await hr.shift(jun, start)
        await event_publisher.publish(events.door(jun, "in", start + timedelta(minutes=25)))
    await hr_caught_up()
    cases = await cases_of(hr, jun)
    assert [(c["violation"], c["rule_ref"], c["origin"]) for c in cases] == [
        ("late_arrival", "R2 §6.1", "attendance")] * 4
    assert all(c["source_event_id"] for c in cases)
    first, second, third, fourth = (c["case_id"] for c in cases)

    # an attendant may not decide, a deputy may not terminate
    refused = await decide(hr, first, role="attendant", expect=403, action="verbal_warning")
    assert refused["code"] == "forbidden"
    refused = await decide(hr, first, role="deputy", expect=403, action="termination",
                           reason="fed up")
    assert "only the department head may decide a termination" in refused["detail"]

    assert (await decide(hr, first, role="deputy", action="verbal_warning"))["status"] == (
        "decided")
    shown = (await hr.call("head", "GET", f"/discipline/cases/{second}", expect=200)).json()
    assert shown["proposed_action"] == "written_warning"
    await decide(hr, second, action="written_warning")
    shown = (await hr.call("head", "GET", f"/discipline/cases/{third}", expect=200)).json()
    assert shown["proposed_action"] == "fine"
    assert [c["case_id"] for c in shown["ladder_counted"]] == [first, second]
    async with kafka_tap("discipline.recorded") as tap:
        await decide(hr, third, role="deputy", action="fine")
        (seen,) = await tap.events(DisciplineRecorded, key=third)
    assert (seen.event.action, seen.event.rule_ref) == ("fine", "R2 §6.1")
    assert (seen.event.fine.amount, seen.event.fine.currency) == (50, "CNY")
    # 38 days after the third: the window has passed, the ladder starts again
    shown = (await hr.call("head", "GET", f"/discipline/cases/{fourth}", expect=200)).json()
    assert shown["proposed_action"] == "verbal_warning" and shown["ladder_counted"] == []
    again = await decide(hr, third, action="fine", expect=409)
    assert "not open" in again["detail"]


async def test_deciding_against_the_ladder_needs_a_reason(hr):
    member = UUID((await hr.hire("attendant"))["staff_id"])
    case = (await hr.call("deputy", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(member), "violation": "dress_code",
        "occurred_at": hr.clock.now().isoformat(),
        "description": "open-toed shoes at reception"})).json()
    assert (case["rule_ref"], case["proposed_action"]) == ("R1 §4.2", "verbal_warning")
    refused = await decide(hr, case["case_id"], expect=422, action="written_warning")
    assert "proposes verbal_warning" in refused["detail"]
    decided = await decide(hr, case["case_id"], action="written_warning",
                           reason="second time this week, after a spoken reminder")
    assert decided["action"] == "written_warning"


async def test_a_suspension_sets_the_staff_status_and_an_overturned_appeal_lifts_it(
        hr, kafka_tap):
    ming = UUID((await hr.hire("attendant"))["staff_id"])
    case = (await hr.call("hr_admin", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(ming), "violation": "private_dealings",
        "occurred_at": (hr.clock.now() - timedelta(days=1)).isoformat(),
        "description": "arranged a private massage with a member"})).json()
    assert case["proposed_action"] == "written_warning"
    async with kafka_tap("staff.changed", "discipline.recorded") as tap:
        decided = await decide(hr, case["case_id"], action="suspension", suspension_days=5,
                               reason="the member was pressed into it")
        (changed,) = await tap.events(StaffChanged, key=ming)
        (recorded,) = await tap.events(DisciplineRecorded, key=case["case_id"])
    assert changed.event.status == "suspended"
    assert (recorded.event.action, recorded.event.suspension_days, recorded.event.rule_ref) == (
        "suspension", 5, "R1 §4.5")
    member = (await hr.call("head", "GET", f"/staff/{ming}", expect=200)).json()
    assert member["status"] == "suspended"
    assert member["suspended_until"].startswith((hr.clock.now() + timedelta(days=5))
                                                .date().isoformat())
    assert decided["decided_by"]

    # someone else may not appeal for them; they may
    await hr.call("attendant", "POST", f"/discipline/cases/{case['case_id']}/appeal",
                  json={"grounds": "not me"}, expect=403)
    appealed = await hr.call("attendant", "POST", f"/discipline/cases/{case['case_id']}/appeal",
                             subject=ming, json={"grounds": "the member invited me"},
                             expect=200)
    assert appealed.json()["status"] == "appealed"
    await hr.call("deputy", "POST", f"/discipline/cases/{case['case_id']}/appeal/decision",
                  json={"outcome": "overturned", "reason": "x"}, expect=403)
    async with kafka_tap("staff.changed", "discipline.appeal_decided") as tap:
        overturned = await hr.call(
            "head", "POST", f"/discipline/cases/{case['case_id']}/appeal/decision", expect=200,
            json={"outcome": "overturned", "reason": "the member's own account confirms it"})
        (changed,) = await tap.events(StaffChanged, key=ming)
        (outcome,) = await tap.events(DisciplineAppealDecided, key=case["case_id"])
    assert overturned.json()["status"] == "overturned"
    assert changed.event.status == "active"
    # Other systems learn that nothing stands (the reason stays in HR).
    assert (outcome.event.outcome, outcome.event.action_appealed, outcome.event.action,
            outcome.event.staff_id) == ("overturned", "suspension", None, ming)
    assert b"account confirms" not in outcome.record.value
    # an overturned case does not count for the ladder
    later = (await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(ming), "violation": "private_dealings",
        "occurred_at": hr.clock.now().isoformat(), "description": "again"})).json()
    assert later["proposed_action"] == "written_warning"


async def test_a_dismissed_case_is_published_without_its_reason(hr, kafka_tap):
    hua = UUID((await hr.hire("attendant"))["staff_id"])
    case = (await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(hua), "violation": "dress_code",
        "occurred_at": hr.clock.now().isoformat(), "description": "no name badge"})).json()
    async with kafka_tap("discipline.dismissed") as tap:
        await hr.call("deputy", "POST", f"/discipline/cases/{case['case_id']}/dismissal",
                      expect=200, json={"reason": "Hua's badge was at the engraver's"})
        (seen,) = await tap.events(DisciplineDismissed, key=case["case_id"])
    assert (seen.event.staff_id, seen.event.violation, seen.event.dismissed_at) == (
        hua, "dress_code", hr.clock.now())
    assert b"engraver" not in seen.record.value
    kept = await hr.call("head", "GET", f"/discipline/cases/{case['case_id']}", expect=200)
    assert kept.json()["status"] == "dismissed"


async def test_a_reduced_appeal_records_the_new_action_and_the_window_closes(hr, kafka_tap):
    lan = UUID((await hr.hire("attendant"))["staff_id"])
    case = (await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(lan), "violation": "facility_misuse",
        "occurred_at": hr.clock.now().isoformat(),
        "description": "used the VIP sauna after hours"})).json()
    await decide(hr, case["case_id"], action="fine", fine={"amount": "120.00"},
                 reason="the sauna was left running all night")
    await hr.call("attendant", "POST", f"/discipline/cases/{case['case_id']}/appeal",
                  subject=lan, json={"grounds": "it was switched off"}, expect=200)
    async with kafka_tap("discipline.recorded", "discipline.appeal_decided") as tap:
        reduced = await hr.call(
            "head", "POST", f"/discipline/cases/{case['case_id']}/appeal/decision", expect=200,
            json={"outcome": "reduced", "action": "written_warning",
                  "reason": "the timer log shows it was off"})
        (seen,) = await tap.events(DisciplineRecorded, key=case["case_id"])
        (outcome,) = await tap.events(DisciplineAppealDecided, key=case["case_id"])
    assert (outcome.event.outcome, outcome.event.action_appealed, outcome.event.action) == (
        "reduced", "fine", "written_warning")
    assert (seen.event.action, seen.event.rule_ref) == ("written_warning", "R2 §6.4")
    body = reduced.json()
    assert (body["action"], body["appeal"]["action_before"], body["appeal"]["outcome"]) == (
        "written_warning", "fine", "reduced")
    twice = await hr.call("attendant", "POST", f"/discipline/cases/{case['case_id']}/appeal",
                          subject=lan, json={"grounds": "again"}, expect=409)
    assert "already been appealed" in twice.json()["detail"]

    late = (await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(lan), "violation": "dress_code",
        "occurred_at": hr.clock.now().isoformat(), "description": "slippers"})).json()
    await decide(hr, late["case_id"], action="verbal_warning")
    hr.clock.advance(days=15)
    closed = await hr.call("attendant", "POST", f"/discipline/cases/{late['case_id']}/appeal",
                           subject=lan, json={"grounds": "too late?"}, expect=409)
    assert "appeal window of 14 days has passed" in closed.json()["detail"]


async def test_a_termination_is_for_the_head_and_suspends_until_offboarded(hr, kafka_tap):
    tao = UUID((await hr.hire("attendant"))["staff_id"])
    case = (await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(tao), "violation": "confidentiality_breach",
        "occurred_at": hr.clock.now().isoformat(),
        "description": "sold the member list"})).json()
    async with kafka_tap("staff.changed", "discipline.recorded") as tap:
        await decide(hr, case["case_id"], action="termination",
                     reason="a gross breach of R1 §6.1")
        (recorded,) = await tap.events(DisciplineRecorded, key=case["case_id"])
        (changed,) = await tap.events(StaffChanged, key=tao)
    assert recorded.event.action == "termination"
    assert changed.event.status == "suspended"


async def test_a_withdrawn_lateness_withdraws_its_open_case(hr, events, event_publisher,
                                                           hr_caught_up):
    yu = UUID((await hr.hire("attendant"))["staff_id"])
    start = hr.clock.now().replace(microsecond=0) - timedelta(days=2)
    await hr.shift(yu, start)
    await event_publisher.publish(events.door(yu, "in", start + timedelta(minutes=30)))
    await hr_caught_up()
    assert [c["status"] for c in await cases_of(hr, yu)] == ["open"]
    await hr.call("head", "POST", "/attendance/clockings", expect=201, json={
        "direction": "in", "staff_id": str(yu), "at": start.isoformat()})
    assert [c["status"] for c in await cases_of(hr, yu)] == ["withdrawn"]


async def test_opening_a_case_tells_the_staff_member_without_its_description(hr, kafka_tap):
    """R1 §7.2: the person a case is about hears of it when it is opened, before any decision;
    what the manager wrote stays in HR."""
    lin = UUID((await hr.hire("attendant"))["staff_id"])
    occurred = hr.clock.now() - timedelta(hours=3)
    async with kafka_tap("discipline.opened") as tap:
        case = (await hr.call("deputy", "POST", "/discipline/cases", expect=201, json={
            "staff_id": str(lin), "violation": "dress_code",
            "occurred_at": occurred.isoformat(),
            "description": "Lin wore slippers on the spa floor"})).json()
        (seen,) = await tap.events(DisciplineOpened, key=case["case_id"])
    opened = seen.event
    assert (opened.staff_id, opened.violation, opened.rule_ref, opened.origin) == (
        lin, "dress_code", "R1 §4.2", "manual")
    assert (opened.occurred_at, opened.opened_at) == (occurred, hr.clock.now())
    assert opened.opened_by is not None and opened.source_event_id is None
    assert b"slippers" not in seen.record.value


async def test_a_case_opened_by_an_event_is_announced_once(hr, events, event_publisher,
                                                          kafka_tap, hr_caught_up):
    """A lateness the door reports opens a case: one announcement, however often the door's
    event is delivered."""
    mei = UUID((await hr.hire("attendant"))["staff_id"])
    start = hr.clock.now().replace(microsecond=0) - timedelta(days=2)
    await hr.shift(mei, start)
    late = events.door(mei, "in", start + timedelta(minutes=30))
    envelope = envelope_for(late)
    async with kafka_tap("discipline.opened") as tap:
        await event_publisher.publish(late, envelope=envelope)
        await event_publisher.publish(late, envelope=envelope)  # redelivered
        await hr_caught_up()
        (case,) = await cases_of(hr, mei)
        (seen,) = await tap.events(DisciplineOpened, key=case["case_id"])
        assert [s for s in await tap.settle() if s.key == case["case_id"]] == [seen]
    assert (seen.event.origin, seen.event.violation, seen.event.rule_ref) == (
        "attendance", "late_arrival", "R2 §6.1")
    assert seen.event.source_event_id == envelope.id


async def test_the_rule_catalogue_is_data_the_hr_admin_keeps(hr):
    rules = (await hr.call("attendant", "GET", "/discipline/rules", expect=200)).json()
    assert {r["code"]: r["rule_ref"] for r in rules}.items() >= {
        "dress_code": "R1 §4.2", "gift_acceptance": "R2 §6.3", "privacy_breach": "R1 §4.4",
        "confidentiality_breach": "R1 §6.1", "private_dealings": "R1 §4.5",
        "facility_misuse": "R2 §6.4", "late_arrival": "R2 §6.1", "early_leave": "R2 §6.1",
        "upheld_complaint": "R1 §8.2"}.items()
    phone = {"title": "Private phone calls at the desk", "rule_ref": "R2 §6.2",
             "severity": "minor", "window_days": 14,
             "ladder": ["verbal_warning", "written_warning"]}
    await hr.call("head", "PUT", "/discipline/rules/phone_use", json=phone, expect=403)
    saved = await hr.call("hr_admin", "PUT", "/discipline/rules/phone_use", json=phone,
                          expect=200)
    assert saved.json()["rule_ref"] == "R2 §6.2"
    member = UUID((await hr.hire("attendant"))["staff_id"])
    case = await hr.call("head", "POST", "/discipline/cases", expect=201, json={
        "staff_id": str(member), "violation": "phone_use",
        "occurred_at": hr.clock.now().isoformat(), "description": "a long call"})
    assert case.json()["rule_ref"] == "R2 §6.2"
    bad = await hr.call("hr_admin", "PUT", "/discipline/rules/phone_use", expect=422,
                        json={**phone, "ladder": ["written_warning", "verbal_warning"]})
    assert "must climb" in bad.json()["detail"]


async def test_bad_cases_get_a_clear_4xx(hr):
    member = UUID((await hr.hire("attendant"))["staff_id"])
    now = hr.clock.now()
    unknown = await hr.call("head", "POST", "/discipline/cases", expect=422, json={
        "staff_id": str(member), "violation": "chewing_gum", "occurred_at": now.isoformat(),
        "description": "x"})
    assert "unknown rule 'chewing_gum'" in unknown.json()["detail"]
    assert "dress_code" in unknown.json()["detail"]
    future = await hr.call("head", "POST", "/discipline/cases", expect=422, json={
        "staff_id": str(member), "violation": "dress_code",
        "occurred_at": (now + timedelta(days=1)).isoformat(), "description": "x"})
    assert "future" in future.json()["detail"]
    await hr.call("head", "POST", "/discipline/cases", expect=404, json={
        "staff_id": str(uuid4()), "violation": "dress_code", "occurred_at": now.isoformat(),
        "description": "x"})
    await hr.call("attendant", "POST", "/discipline/cases", expect=403, json={
        "staff_id": str(member), "violation": "dress_code", "occurred_at": now.isoformat(),
        "description": "x"})
    await hr.call("head", "POST", f"/discipline/cases/{uuid4()}/decision", expect=404,
                  json={"action": "verbal_warning"})
    wrong = await hr.call("head", "POST", f"/discipline/cases/{uuid4()}/decision", expect=422,
                          json={"action": "public_shaming"})
    assert "action" in wrong.json()["detail"]
    await hr.call("attendant", "GET", "/discipline/cases", expect=403,
                  params={"staff_id": str(member)})
