"""The assessment lifecycle over real HTTP, PostgreSQL and Kafka: a computed draft, the head's
review (an adjusted score kept beside the computed one, with its reason), publication (only
now `assessment.published`), the staff member's acknowledgement and appeal within the window,
decided by someone other than the reviewer, and the self-assessment beside it (R1 §5.3)."""

from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4

from club_contracts import AssessmentPublished


async def a_specialists_draft(hr, events, event_publisher, hr_caught_up) -> tuple[UUID, dict]:
    """A CRM specialist's day: one complaint resolved in 6 h within its SLA, one follow-up
    call on time after it (satisfied): every scored KPI at 5.00, total 5.00."""
    li = UUID((await hr.hire("crm_specialist", display_name="Li"))["staff_id"])
    day = hr.today() - timedelta(days=60)
    noon = datetime.combine(day, time(12), UTC)
    for event in (
        events.complaint_resolved([], upheld=False, at=noon, handled_by=li, hours=6),
        events.followup(li, due_at=noon, completed_at=noon, reason="post_complaint"),
    ):
        await event_publisher.publish(event)
    await hr_caught_up()
    draft = (await hr.call("hr_admin", "POST", "/assessments", expect=201, json={
        "staff_id": str(li), "period_start": day.isoformat(),
        "period_end": day.isoformat()})).json()
    return li, draft


def scored(assessment: dict) -> list[dict]:
    return [k for k in assessment["kpis"] if k["status"] == "scored"]


async def test_draft_review_publish_acknowledge_appeal(hr, events, event_publisher,
                                                        hr_caught_up, kafka_tap):
    reviewer, other_head = uuid4(), uuid4()
    async with kafka_tap("assessment.published") as tap:
        li, draft = await a_specialists_draft(hr, events, event_publisher, hr_caught_up)
        aid = draft["assessment_id"]
        assert (draft["status"], draft["published_at"], draft["total_score"]) == (
            "draft", None, 5.0)
        kpis = scored(draft)
        assert [k["score"] for k in kpis] == [5.0] * len(kpis) and len(kpis) >= 3

        # Not yet: no publication without a review, the staff member does not see a draft.
        refused = await hr.call("head", "POST", f"/assessments/{aid}/publish", expect=409)
        assert "review" in refused.json()["detail"]
        await hr.call("crm_specialist", "GET", f"/assessments/{aid}", subject=li, expect=403)
        await hr.call("crm_specialist", "POST", f"/assessments/{aid}/acknowledge",
                      subject=li, json={}, expect=409)

        # Only the head reviews; an adjustment needs its reason; only scored KPIs adjust.
        adjust = {"code": "followups_on_time", "score": 3,
                  "reason": "the on-time call was made by a colleague covering for Li"}
        await hr.call("deputy", "POST", f"/assessments/{aid}/review", json={
            "adjustments": [adjust]}, expect=403)
        await hr.call("head", "POST", f"/assessments/{aid}/review", subject=reviewer,
                      json={"adjustments": [{**adjust, "reason": ""}]}, expect=422)
        await hr.call("head", "POST", f"/assessments/{aid}/review", subject=reviewer,
                      json={"adjustments": [{"code": "followups_on_time", "score": 3}]},
                      expect=422)
        unknown = await hr.call("head", "POST", f"/assessments/{aid}/review",
                                subject=reviewer, expect=422, json={"adjustments": [
                                    {**adjust, "code": "visits_served"}]})
        assert "no KPI 'visits_served'" in unknown.json()["detail"]
        await hr.call("head", "POST", f"/assessments/{aid}/review", subject=reviewer,
                      json={"total_score": 4}, expect=422)  # a total without its reason

        reviewed = (await hr.call("head", "POST", f"/assessments/{aid}/review",
                                  subject=reviewer, expect=200, json={
                                      "adjustments": [adjust], "note": "fair otherwise"})
                    ).json()
        # n scored KPIs of equal weight, one from 5.00 to 3.00: (5 × (n − 1) + 3) / n
        n = len(kpis)
        expected_total = round((5 * (n - 1) + 3) / n, 2)
        followups = next(k for k in reviewed["kpis"] if k["code"] == "followups_on_time")
        assert (followups["score"], followups["computed_score"],
                followups["adjustment_reason"]) == (3.0, 5.0, adjust["reason"])
        assert (reviewed["status"], reviewed["total_score"], reviewed["computed_total_score"],
                str(reviewed["reviewed_by"])) == ("reviewed", expected_total, 5.0,
                                                  str(reviewer))
        # Nothing on Kafka yet: still not published.
        await tap.settle(2)
        assert [s for s in tap.seen if s.key == aid] == []

        published = (await hr.call("head", "POST", f"/assessments/{aid}/publish",
                                   subject=reviewer, expect=200)).json()
        assert published["status"] == "published" and published["published_at"]
        (seen,) = await tap.events(AssessmentPublished, key=aid)
        await tap.settle(1)
        assert len([s for s in tap.seen if s.key == aid]) == 1  # the one publication only
    event = seen.event
    assert {k.code: k.score for k in event.kpis}["followups_on_time"] == 3.0
    # the head's reason is about a colleague: kept in HR (checked above), never on the bus
    assert [(a.code, a.computed_score, a.adjusted_score)
            for a in event.adjustments] == [("followups_on_time", 5.0, 3.0)]
    assert adjust["reason"] not in seen.record.value.decode()
    assert (event.total_score, event.computed_total_score, event.reviewed_by) == (
        expected_total, 5.0, reviewer)

    # Publishing twice, or reviewing a published assessment: refused.
    again = await hr.call("head", "POST", f"/assessments/{aid}/publish", expect=409)
    assert "already published" in again.json()["detail"]
    await hr.call("head", "POST", f"/assessments/{aid}/review", json={}, expect=409)

    # The staff member sees it, and acknowledges their own only, once, with a comment.
    shown = (await hr.call("crm_specialist", "GET", f"/assessments/{aid}", subject=li,
                           expect=200)).json()
    assert shown["total_score"] == expected_total
    await hr.call("crm_specialist", "POST", f"/assessments/{aid}/acknowledge",
                  json={"comment": "not mine"}, expect=403)
    acknowledged = (await hr.call("crm_specialist", "POST", f"/assessments/{aid}/acknowledge",
                                  subject=li, json={"comment": "I made that call myself"},
                                  expect=200)).json()
    assert acknowledged["acknowledgement_comment"] == "I made that call myself"
    assert acknowledged["acknowledged_at"]
    await hr.call("crm_specialist", "POST", f"/assessments/{aid}/acknowledge", subject=li,
                  json={}, expect=409)

    # The appeal: their own only, once.
    await hr.call("crm_specialist", "POST", f"/assessments/{aid}/appeal",
                  json={"grounds": "x"}, expect=403)
    appeal = (await hr.call("crm_specialist", "POST", f"/assessments/{aid}/appeal",
                            subject=li, expect=201, json={
                                "grounds": "the call log shows my name"})).json()
    assert appeal["status"] == "open"
    await hr.call("crm_specialist", "POST", f"/assessments/{aid}/appeal", subject=li,
                  json={"grounds": "again"}, expect=409)
    mine = (await hr.call("crm_specialist", "GET", "/assessment-appeals", subject=li,
                          expect=200)).json()
    assert [a["appeal_id"] for a in mine] == [appeal["appeal_id"]]

    # Decided by someone other than the reviewer (nor the staff member, nor the deputy).
    decide = f"/assessment-appeals/{appeal['appeal_id']}/decide"
    upheld = {"outcome": "upheld", "reason": "the call log names Li"}
    own = await hr.call("head", "POST", decide, subject=reviewer, json=upheld, expect=403)
    assert "reviewer" in own.json()["detail"]
    await hr.call("deputy", "POST", decide, json=upheld, expect=403)
    await hr.call("crm_specialist", "POST", decide, subject=li, json=upheld, expect=403)
    decided = (await hr.call("head", "POST", decide, subject=other_head, json=upheld,
                             expect=200)).json()
    assert (decided["status"], str(decided["decided_by"])) == ("upheld", str(other_head))
    await hr.call("hr_admin", "POST", decide, json=upheld, expect=409)  # decided already

    # Upheld: back to review; the score is adjusted again, with a reason, and published anew.
    reopened = (await hr.call("head", "GET", f"/assessments/{aid}", expect=200)).json()
    assert reopened["status"] == "draft" and reopened["appeal"]["status"] == "upheld"
    async with kafka_tap("assessment.published") as tap:
        await hr.review_and_publish(aid, reviewer=reviewer, review={"adjustments": [
            {**adjust, "score": 5, "reason": "appeal upheld: Li made the call"}]})
        (republished,) = await tap.events(AssessmentPublished, key=aid)
    assert {k.code: k.score for k in republished.event.kpis}["followups_on_time"] == 5.0
    assert republished.event.total_score == 5.0
    assert [(a.code, a.adjusted_score) for a in republished.event.adjustments] == [
        ("followups_on_time", 5.0)]
    # the computed score was never overwritten
    final = (await hr.call("head", "GET", f"/assessments/{aid}", expect=200)).json()
    followups = next(k for k in final["kpis"] if k["code"] == "followups_on_time")
    assert (followups["computed_score"], followups["adjusted_score"]) == (5.0, 5.0)


async def test_an_adjusted_total_and_a_rejected_appeal_and_the_window(
        hr, hr_settings, events, event_publisher, hr_caught_up, kafka_tap):
    li, draft = await a_specialists_draft(hr, events, event_publisher, hr_caught_up)
    aid = draft["assessment_id"]
    reason = "a serious complaint about Li's manner, not upheld on a technicality"
    async with kafka_tap("assessment.published") as tap:
        published = await hr.review_and_publish(aid, review={
            "total_score": 3.4, "total_reason": reason})
        (seen,) = await tap.events(AssessmentPublished, key=aid)
    # 3.40 is "meets" (2.5 ≤ 3.40 < 3.5); the computed 5.00 stays beside it
    assert (published["total_score"], published["rating"], published["computed_total_score"],
            published["computed_rating"], published["total_adjustment_reason"]) == (
        3.4, "meets", 5.0, "outstanding", reason)
    assert (seen.event.total_score, seen.event.rating, seen.event.computed_total_score,
            seen.event.adjustments) == (3.4, "meets", 5.0, None)
    assert reason not in seen.record.value.decode()  # the reason stays in HR
    # not outstanding as published: no reward proposed from it
    assert (await hr.call("head", "GET", "/reward-proposals", expect=200,
                          params={"staff_id": str(li)})).json() == []

    appeal = (await hr.call("crm_specialist", "POST", f"/assessments/{aid}/appeal",
                            subject=li, json={"grounds": "it was not upheld"},
                            expect=201)).json()
    rejected = (await hr.call("hr_admin", "POST",
                              f"/assessment-appeals/{appeal['appeal_id']}/decide",
                              json={"outcome": "rejected", "reason": "the head's call"},
                              expect=200)).json()
    assert rejected["status"] == "rejected"
    stays = (await hr.call("head", "GET", f"/assessments/{aid}", expect=200)).json()
    assert (stays["status"], stays["total_score"]) == ("published", 3.4)

    # Another published assessment, appealed after the window (7 days by default): refused.
    assert hr_settings.assessment_appeal_window_days == 7
    _, late = await a_specialists_draft(hr, events, event_publisher, hr_caught_up)
    await hr.review_and_publish(late["assessment_id"])
    hr.clock.advance(days=7, minutes=1)
    closed = await hr.call("crm_specialist", "POST",
                           f"/assessments/{late['assessment_id']}/appeal",
                           subject=late["staff_id"], json={"grounds": "late"}, expect=409)
    assert "appeal window closed" in closed.json()["detail"]


async def test_a_self_assessment_sits_beside_the_assessment(hr, events, event_publisher,
                                                             hr_caught_up):
    li, draft = await a_specialists_draft(hr, events, event_publisher, hr_caught_up)
    period = {"period_start": draft["period_start"], "period_end": draft["period_end"]}
    body = {**period, "text": "A calm day; one complaint resolved and followed up.",
            "scores": [{"code": "complaints_within_sla", "score": 4.5,
                        "comment": "in time"},
                       {"code": "followups_on_time", "score": 5}]}
    filed = (await hr.call("crm_specialist", "POST", "/self-assessments", subject=li,
                           json=body, expect=201)).json()
    assert (str(filed["staff_id"]), filed["text"]) == (str(li), body["text"])
    await hr.call("crm_specialist", "POST", "/self-assessments", subject=li, json=body,
                  expect=409)
    bad = await hr.call("crm_specialist", "POST", "/self-assessments", subject=li,
                        expect=422, json={**body, "scores": [{"code": "smiles",
                                                              "score": 5}]})
    assert "unknown KPI 'smiles'" in bad.json()["detail"]
    await hr.call("crm_specialist", "POST", "/self-assessments", subject=li, expect=422,
                  json={**body, "scores": [{"code": "followups_on_time", "score": 6}]})
    # The head sees it beside HR's assessment; others may not read Li's.
    shown = (await hr.call("head", "GET", f"/assessments/{draft['assessment_id']}",
                           expect=200)).json()
    assert shown["self_assessment"]["text"] == body["text"]
    assert [(s["code"], s["score"]) for s in shown["self_assessment"]["scores"]] == [
        ("complaints_within_sla", 4.5), ("followups_on_time", 5.0)]
    await hr.call("attendant", "GET", "/self-assessments", params={"staff_id": str(li)},
                  expect=403)
    own = (await hr.call("crm_specialist", "GET", "/self-assessments", subject=li,
                         expect=200)).json()
    assert [s["self_assessment_id"] for s in own] == [filed["self_assessment_id"]]
