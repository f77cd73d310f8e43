"""What a completed visit sets going (R1 §3.5, R2 §3.5), from real events on real Kafka:
the follow-up call, fairly assigned from the staff events, and the single-use survey link."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

from club_contracts import BookingNoShow, FollowupCompleted, StaffHired, SurveySubmitted
from club_platform.auth import Role
from club_platform.envelope import envelope_for
from club_platform.testing import client, wait_for

from club_crm.fieldcrypt import FieldCipher


async def _only_these_specialists(crm, sql, *keep: UUID) -> None:
    """Suspend every other active specialist the session's tests hired, so assignment is
    decided among `keep` alone."""
    others = await sql.fetch("SELECT staff_id FROM staff WHERE role = 'crm_specialist' AND "
                             "status = 'active' AND NOT (staff_id = ANY($1::uuid[]))", list(keep))
    for row in others:
        await crm.set_status(row["staff_id"], "suspended")
    for row in others:
        await crm.staff_known(sql, row["staff_id"], "suspended")


async def _invitation(crm, visit_id: UUID) -> dict:
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        response = await http.get("/surveys/invitations", params={"visit_id": str(visit_id)})
    [invitation] = response.json()
    return invitation


async def test_a_completed_visit_schedules_a_call_and_a_survey(crm, sql, kafka_tap, clock,
                                                               crm_url):
    specialist = await crm.hire_specialist()
    await crm.staff_known(sql, specialist, "active")
    await _only_these_specialists(crm, sql, specialist)
    customer_id = await crm.register(full_name="Pan Yun")
    host, masseur, stylist = uuid4(), uuid4(), uuid4()
    visit = await crm.complete_visit(customer_id, staff=[host, masseur],
                                     services=[("massage", masseur), ("hair", stylist)])
    followup = await crm.wait_for_visit(visit.visit_id)
    assert followup["reason"] == "post_visit" and followup["customer_id"] == str(customer_id)
    assert followup["assigned_to"] == str(specialist)
    assert datetime.fromisoformat(followup["due_at"]) == visit.completed_at + timedelta(days=1)

    invitation = await _invitation(crm, visit.visit_id)
    assert invitation["status"] == "pending"
    assert invitation["link"] == f"https://club.example/surveys/respond/{invitation['token']}"
    async with client(crm_url) as anonymous:
        form = await anonymous.get(f"/surveys/respond/{invitation['token']}")
        async with kafka_tap("survey.submitted") as tap:
            answered = await anonymous.post(f"/surveys/respond/{invitation['token']}",
                                            json={"csat": 5, "nps": 9, "comment": "lovely"})
            [seen] = await tap.events(SurveySubmitted, key=answered.json()["response_id"])
        reused = await anonymous.post(f"/surveys/respond/{invitation['token']}",
                                      json={"csat": 1})
    assert form.status_code == 200 and form.json()["services"] == ["hair", "massage"]
    assert answered.status_code == 201, answered.text
    event = seen.event
    assert event.visit_id == visit.visit_id and event.customer_id == customer_id
    assert event.staff_ids == [host, masseur, stylist]  # kept from visit.completed
    assert (event.csat, event.nps, event.submitted_at) == (5, 9, clock.now())
    assert "lovely" not in seen.record.value.decode()
    assert reused.status_code == 409 and "already used" in reused.json()["detail"]
    assert (await _invitation(crm, visit.visit_id))["status"] == "answered"


async def test_bad_survey_answers_get_a_clear_4xx(crm, crm_url, clock):
    customer_id = await crm.register(full_name="Lu Xin")
    visit = await crm.complete_visit(customer_id)
    old = await crm.complete_visit(customer_id, completed_at=clock.now() - timedelta(days=15))
    await crm.wait_for_visit(visit.visit_id)
    await crm.wait_for_visit(old.visit_id)
    token = (await _invitation(crm, visit.visit_id))["token"]
    async with crm.as_(Role.HEAD) as http:
        expired_token = (await http.get("/surveys/invitations",
                                        params={"visit_id": str(old.visit_id)})).json()
    assert expired_token[0]["status"] == "expired" and expired_token[0]["token"] is None
    # The expired invitation's genuine token (the service no longer shows it), and a forgery.
    stale = FieldCipher.from_setting(crm.settings_key).survey_token(
        UUID(expired_token[0]["invitation_id"]))
    forged = FieldCipher.from_setting(crm.other_key).survey_token(uuid4())
    async with client(crm_url) as anonymous:
        six = await anonymous.post(f"/surveys/respond/{token}", json={"csat": 6})
        eleven = await anonymous.post(f"/surveys/respond/{token}", json={"csat": 3, "nps": 11})
        nothing = await anonymous.post(f"/surveys/respond/{token}", json={})
        garbage = await anonymous.post("/surveys/respond/not-a-token", json={"csat": 3})
        fake = await anonymous.post(f"/surveys/respond/{forged}", json={"csat": 3})
        expired = await anonymous.post(f"/surveys/respond/{stale}", json={"csat": 3})
        still_open = await anonymous.get(f"/surveys/respond/{token}")
    assert six.status_code == 422 and "csat" in six.json()["detail"]
    assert eleven.status_code == 422 and "nps" in eleven.json()["detail"]
    assert nothing.status_code == 422
    assert garbage.status_code == 404 and fake.status_code == 404
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]
    assert still_open.json()["status"] == "pending"


async def test_the_same_visit_twice_schedules_once(crm, event_publisher, sql):
    customer_id = await crm.register(full_name="Ye Qiu")
    visit = await crm.complete_visit(customer_id)
    # Published again by reception under a new ce_id (the inbox cannot tell it is a repeat).
    await event_publisher.publish(visit, envelope=envelope_for(visit))
    await crm.wait_for_visit(visit.visit_id)
    marker = await crm.complete_visit(customer_id)  # handled after both copies
    await crm.wait_for_visit(marker.visit_id)
    assert len(await crm.followups_of_visit(visit.visit_id)) == 1
    assert await sql.fetchval("SELECT count(*) FROM survey_invitations WHERE visit_id = $1",
                              visit.visit_id) == 1


async def test_calls_go_to_the_least_busy_specialist_and_move_when_one_leaves(crm, sql):
    first, second = sorted([uuid4(), uuid4()], key=str)
    for staff_id in (first, second):
        await crm.hire_specialist(staff_id)
    for staff_id in (first, second):
        await crm.staff_known(sql, staff_id, "active")
    await _only_these_specialists(crm, sql, first, second)
    customer_id = await crm.register(full_name="Xiong Fei")

    async def workload() -> dict[str, int]:
        async with crm.as_(Role.CRM_SPECIALIST) as http:
            return {m["staff_id"]: m["open_followups"]
                    for m in (await http.get("/followups/team")).json()}

    load = await workload()  # hiring handed them any calls nobody held
    assert set(load) == {str(first), str(second)}
    for _ in range(4):
        visit = await crm.complete_visit(customer_id)
        owner = (await crm.wait_for_visit(visit.visit_id))["assigned_to"]
        assert load[owner] == min(load.values()), (owner, load)  # always the least busy
        load[owner] += 1
    assert await workload() == load

    await crm.set_status(first, "offboarded")
    await crm.staff_known(sql, first, "offboarded")

    async def moved() -> bool:
        async with crm.as_(Role.HEAD) as http:
            queue = (await http.get("/followups/queue",
                                    params={"staff_id": str(second)})).json()
        return len(queue) == sum(load.values())
    await wait_for(moved, what="the leaver's calls moved to the other specialist")


async def test_queue_overdue_list_and_recording_the_outcome(crm, sql, kafka_tap, clock):
    specialist = await crm.hire_specialist()
    await crm.staff_known(sql, specialist, "active")
    await _only_these_specialists(crm, sql, specialist)
    customer_id = await crm.register(full_name="Mo Yan")
    visit = await crm.complete_visit(customer_id,
                                     completed_at=clock.now() - timedelta(hours=30))
    followup = await crm.wait_for_visit(visit.visit_id)
    followup_id = followup["followup_id"]
    async with crm.as_(Role.CRM_SPECIALIST, subject=specialist) as http:
        queue = await http.get("/followups/queue")
        overdue = await http.get("/followups/overdue")
        others = await http.get("/followups/queue", params={"staff_id": str(uuid4())})
    assert followup_id in [f["followup_id"] for f in queue.json()]
    assert followup_id in [f["followup_id"] for f in overdue.json()]
    assert all(f["overdue"] for f in overdue.json())
    assert others.status_code == 403

    async with crm.as_(Role.CRM_SPECIALIST, subject=uuid4()) as stranger:
        refused = await stranger.post(f"/followups/{followup_id}/complete",
                                      json={"outcome": "satisfied"})
    async with crm.as_(Role.CRM_SPECIALIST, subject=specialist) as http:
        bad = await http.post(f"/followups/{followup_id}/complete", json={"outcome": "happy"})
        async with kafka_tap("followup.completed") as tap:
            done = await http.post(f"/followups/{followup_id}/complete",
                                   json={"outcome": "dissatisfied",
                                         "note": "wants a call from the head"})
            [seen] = await tap.events(FollowupCompleted, key=followup_id)
        again = await http.post(f"/followups/{followup_id}/complete",
                                json={"outcome": "satisfied"})
        notes = await http.get(f"/customers/{customer_id}/notes",
                               params={"purpose": "followup_call"})
        overdue_after = await http.get("/followups/overdue")
    assert refused.status_code == 403
    assert bad.status_code == 422 and "outcome" in bad.json()["detail"]
    assert done.status_code == 200, done.text
    event = seen.event
    assert (event.reason, event.outcome, event.staff_id) == ("post_visit", "dissatisfied",
                                                            specialist)
    assert event.visit_id == visit.visit_id and event.complaint_id is None
    assert event.due_at == visit.completed_at + timedelta(days=1)
    assert event.completed_at == clock.now()
    assert "head" not in seen.record.value.decode()
    assert again.status_code == 409
    assert [n["text"] for n in notes.json()] == ["wants a call from the head"]
    assert notes.json()[0]["followup_id"] == followup_id
    assert followup_id not in [f["followup_id"] for f in overdue_after.json()]
    stored = await sql.fetchval("SELECT body_enc FROM customer_notes WHERE followup_id = $1",
                                UUID(followup_id))
    assert stored.startswith("v1:") and "head" not in stored


async def test_no_shows_are_counted_against_the_customer(crm, event_publisher, clock):
    customer_id = await crm.register(full_name="Hu Die")
    booking = uuid4()

    def no_show(booking_id: UUID) -> BookingNoShow:
        return BookingNoShow(booking_id=booking_id, customer_id=customer_id, resource_id=uuid4(),
                             starts_at=clock.now() - timedelta(hours=2),
                             marked_at=clock.now() - timedelta(hours=1))

    first = no_show(booking)
    await event_publisher.publish(first)
    await event_publisher.publish(first, envelope=envelope_for(first))  # a repeat, new ce_id
    await event_publisher.publish(no_show(uuid4()))

    async def counted() -> dict | None:
        async with crm.as_(Role.ATTENDANT) as http:
            summary = (await http.get(f"/customers/{customer_id}/summary")).json()
        return summary if summary["no_shows"]["count"] == 2 else None

    summary = await wait_for(counted, what="two no-shows counted")
    assert summary["no_shows"]["last_at"] is not None


async def test_staff_events_converge_in_any_order(crm, event_publisher, sql, clock):
    staff_id = uuid4()
    # The suspension (later) arrives before the hiring (earlier).
    await crm.set_status(staff_id, "suspended", at_offset=timedelta(days=1))
    await event_publisher.publish(StaffHired(
        staff_id=staff_id, display_name="Late News", role="crm_specialist",
        department="service", hired_at=clock.now()))

    async def settled():
        row = await sql.fetchrow("SELECT * FROM staff WHERE staff_id = $1", staff_id)
        return row if row and row["display_name"] else None

    row = await wait_for(settled, what="both staff events applied")
    assert (row["role"], row["status"], row["display_name"]) == (
        "crm_specialist", "suspended", "Late News")
