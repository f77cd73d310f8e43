"""Rewards (R1 §7.1, R2 §5.2–5.3): an outstanding assessment proposes one; the head grants
commendations, bonuses and promotions, published with their clause."""

from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from club_contracts import RewardGranted, RewardGrantedV2, StaffChanged
from club_contracts.catalogue_v2 import REWARD_REASON_WORDING


async def outstanding_crm_specialist(hr, events, event_publisher, hr_caught_up) -> tuple:
    li = UUID((await hr.hire("crm_specialist"))["staff_id"])
    day = hr.today() - timedelta(days=90)
    noon = datetime.combine(day, time(12), UTC)
    for event in (
        events.complaint_resolved([], upheld=False, at=noon, handled_by=li, hours=6),
        events.followup(li, due_at=noon, completed_at=noon, reason="post_complaint"),
    ):
        await event_publisher.publish(event)
    await hr_caught_up()
    made = await hr.call("hr_admin", "POST", "/assessments", expect=201, json={
        "staff_id": str(li), "period_start": day.isoformat(), "period_end": day.isoformat()})
    # A draft proposes nothing: rewards come from published assessments only.
    assert made.json()["status"] == "draft"
    assert (await hr.call("head", "GET", "/reward-proposals", expect=200,
                          params={"staff_id": str(li)})).json() == []
    return li, await hr.review_and_publish(made.json()["assessment_id"])


async def test_an_outstanding_assessment_proposes_a_reward_the_head_grants(
        hr, events, event_publisher, hr_caught_up, kafka_tap):
    li, assessment = await outstanding_crm_specialist(hr, events, event_publisher,
                                                      hr_caught_up)
    assert (assessment["total_score"], assessment["rating"]) == (5.0, "outstanding")
    proposals = (await hr.call("head", "GET", "/reward-proposals", expect=200,
                               params={"staff_id": str(li)})).json()
    assert [(p["assessment_id"], p["suggested_kind"], p["status"]) for p in proposals] == [
        (assessment["assessment_id"], "commendation", "proposed")]
    grant = {"staff_id": str(li), "kind": "commendation", "reason": "every complaint "
             "resolved within the SLA", "proposal_id": proposals[0]["proposal_id"]}
    await hr.call("deputy", "POST", "/rewards", json=grant, expect=403)
    async with kafka_tap("reward.granted") as tap:
        granted = await hr.call("head", "POST", "/rewards", json=grant, expect=201)
        (seen,) = await tap.events(RewardGranted, key=granted.json()["reward_id"])
        (coded,) = await tap.events(RewardGrantedV2, key=granted.json()["reward_id"])
    assert (seen.event.staff_id, seen.event.kind, seen.event.rule_ref) == (
        li, "commendation", "R1 §7.1")
    # What the head typed stays in HR: v2 carries a code, v1 the code's standard wording.
    assert coded.event.reason_code == "outstanding_assessment" == granted.json()["reason_code"]
    assert seen.event.reason == REWARD_REASON_WORDING["outstanding_assessment"]
    for record in (seen.record, coded.record):
        assert b"within the SLA" not in record.value
    assert granted.json()["reason"] == grant["reason"]
    after = (await hr.call("head", "GET", "/reward-proposals", expect=200,
                           params={"staff_id": str(li)})).json()
    assert after[0]["status"] == "granted"
    assert after[0]["reward_id"] == granted.json()["reward_id"]
    again = await hr.call("head", "POST", "/rewards", json=grant, expect=409)
    assert "already granted" in again.json()["detail"]
    mine = await hr.call("crm_specialist", "GET", "/rewards", subject=li, expect=200)
    assert [r["kind"] for r in mine.json()] == ["commendation"]


async def test_a_promotion_changes_the_role_and_a_bonus_needs_an_amount(hr, kafka_tap):
    wen = UUID((await hr.hire("attendant"))["staff_id"])
    no_amount = await hr.call("head", "POST", "/rewards", expect=422, json={
        "staff_id": str(wen), "kind": "bonus", "reason": "a great month"})
    assert "a bonus needs an amount" in no_amount.json()["detail"]
    bonus = await hr.call("head", "POST", "/rewards", expect=201, json={
        "staff_id": str(wen), "kind": "bonus", "reason": "a great month",
        "bonus": {"amount": "500.00"}})
    assert (bonus.json()["rule_ref"], bonus.json()["bonus"]) == (
        "R2 §5.3", {"amount": "500.00", "currency": "CNY"})
    too_far = await hr.call("head", "POST", "/rewards", expect=422, json={
        "staff_id": str(wen), "kind": "promotion", "reason": "leadership",
        "new_role": "head"})
    assert "can be promoted to: crm_specialist, deputy" in too_far.json()["detail"]
    async with kafka_tap("reward.granted", "staff.changed") as tap:
        promoted = await hr.call("head", "POST", "/rewards", expect=201, json={
            "staff_id": str(wen), "kind": "promotion", "reason": "leads the morning shift",
            "new_role": "deputy"})
        (granted,) = await tap.events(RewardGranted, key=promoted.json()["reward_id"])
        (changed,) = await tap.events(StaffChanged, key=wen)
    assert granted.event.rule_ref == "R1 §7.1, R2 §5.2"
    assert (changed.event.role, changed.event.status) == ("deputy", "active")


async def test_a_declined_proposal_is_closed(hr, events, event_publisher, hr_caught_up):
    li, _ = await outstanding_crm_specialist(hr, events, event_publisher, hr_caught_up)
    (proposal,) = (await hr.call("head", "GET", "/reward-proposals", expect=200,
                                 params={"staff_id": str(li)})).json()
    await hr.call("deputy", "POST", f"/reward-proposals/{proposal['proposal_id']}/decline",
                  expect=403)
    declined = await hr.call("head", "POST",
                             f"/reward-proposals/{proposal['proposal_id']}/decline", expect=200)
    assert declined.json()["status"] == "declined"
