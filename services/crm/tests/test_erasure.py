"""Erasure on request (R1 §6; docs/events.md): the customer's personal data is gone from the
database — checked with raw SQL over every table, ciphertexts included — and
customer.erased is published."""

from __future__ import annotations

from uuid import UUID, uuid4

import asyncpg
from club_contracts import CustomerErased, FollowupCancelled
from club_platform.auth import Role
from club_platform.testing import client, wait_for

NAME, PHONE, EMAIL = "Qiao Feng", "+86 131 2345 6789", "qiao.feng.erasure@example.com"
NOTE = "prefers the corner room, recovering from knee surgery"
DESCRIPTION = "The sauna was far too hot and nobody came when I rang."
TASK = "ask maintenance to check the sauna thermostat"
COMMENT = "Ring me back on 131 2345 6789 please"


async def _whole_database(sql: asyncpg.Connection) -> str:
    """Every row of every table of the service, as text."""
    tables = await sql.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    texts = []
    for table in tables:
        rows = await sql.fetch(f'SELECT t::text AS row FROM "{table["tablename"]}" t')
        texts += [r["row"] for r in rows]
    return "\n".join(texts)


async def _sealed_values(sql: asyncpg.Connection, customer_id: UUID) -> list[str]:
    values = await sql.fetchrow(
        "SELECT full_name_enc, phone_enc, email_enc, preferences_enc, email_lookup, "
        "phone_lookup FROM customers WHERE customer_id = $1", customer_id)
    found = [v for v in values.values() if v]
    found += [r[0] for r in await sql.fetch(
        "SELECT body_enc FROM customer_notes WHERE customer_id = $1", customer_id)]
    found += [r[0] for r in await sql.fetch(
        "SELECT description_enc FROM complaints WHERE customer_id = $1", customer_id)]
    found += [v for r in await sql.fetch(
        "SELECT t.description_enc, t.outcome_enc FROM complaint_tasks t JOIN complaints c "
        "USING (complaint_id) WHERE c.customer_id = $1", customer_id) for v in r.values() if v]
    found += [r[0] for r in await sql.fetch(
        "SELECT comment_enc FROM survey_responses WHERE customer_id = $1", customer_id)]
    return [v for v in found if v is not None]


async def test_erasure_leaves_nothing_personal_and_tells_the_others(crm, sql, kafka_tap,
                                                                   crm_url, clock):
    customer_id = await crm.register(full_name=NAME, phone=PHONE, email=EMAIL,
                                     preferences={"health": "knee surgery"})
    async with crm.as_(Role.HEAD) as http:  # the head may act on any complaint
        assert (await http.post(f"/customers/{customer_id}/notes",
                                json={"text": NOTE})).status_code == 201
        # Everything a customer can leave behind: a complaint, its coordination, a survey.
        visit = await crm.complete_visit(customer_id)
        await crm.wait_for_visit(visit.visit_id)
        complaint = await http.post("/complaints", json={
            "customer_id": str(customer_id), "visit_id": str(visit.visit_id),
            "category": "facility", "severity": "medium", "channel": "phone",
            "description": DESCRIPTION})
        complaint_id = complaint.json()["complaint_id"]
        await http.post(f"/complaints/{complaint_id}/acknowledge")
        task = await http.post(f"/complaints/{complaint_id}/tasks",
                               json={"department": "maintenance", "description": TASK})
        await http.post(f"/complaints/{complaint_id}/tasks/{task.json()['task_id']}/complete",
                        json={"outcome": f"fixed; told {NAME}"})
        [invitation] = (await http.get("/surveys/invitations",
                                       params={"visit_id": str(visit.visit_id)})).json()
        second = await crm.complete_visit(customer_id)
        await crm.wait_for_visit(second.visit_id)
        [unanswered] = (await http.get("/surveys/invitations",
                                       params={"visit_id": str(second.visit_id)})).json()
    async with client(crm_url) as anonymous:
        answered = await anonymous.post(f"/surveys/respond/{invitation['token']}",
                                        json={"csat": 2, "nps": 3, "comment": COMMENT})
    assert answered.status_code == 201
    sealed = await _sealed_values(sql, customer_id)
    assert len(sealed) == 11  # 4 on the record, 2 lookups, note, complaint, 2 task, comment
    before = await _whole_database(sql)
    assert all(value in before for value in sealed)

    async with crm.as_(Role.ATTENDANT) as http:
        assert (await http.post(f"/customers/{customer_id}/erase")).status_code == 403
    async with kafka_tap("customer.erased", "followup.cancelled") as tap, crm.as_(
            Role.CRM_SPECIALIST) as http:
        erased = await http.post(f"/customers/{customer_id}/erase")
        [seen] = await tap.events(CustomerErased, key=customer_id)
        called_off = [s.event for s in await tap.events(FollowupCancelled, count=2)
                      if s.event.customer_id == customer_id]
        again = await http.post(f"/customers/{customer_id}/erase")
        read = await http.get(f"/customers/{customer_id}", params={"purpose": "customer_request"})
        notes = await http.get(f"/customers/{customer_id}/notes",
                               params={"purpose": "customer_request"})
    assert erased.status_code == 200, erased.text
    assert seen.event.customer_id == customer_id and seen.event.erased_at == clock.now()
    assert again.status_code == 409
    assert read.status_code == 410 and notes.status_code == 410

    after = await _whole_database(sql)
    for gone in (*sealed, NAME, "Qiao", "+8613123456789", "13123456789", EMAIL, NOTE,
                 "knee surgery", DESCRIPTION, TASK, COMMENT, "2345 6789"):
        assert gone.lower() not in after.lower(), gone
    assert await _sealed_values(sql, customer_id) == []
    assert await sql.fetchval("SELECT count(*) FROM customer_notes WHERE customer_id = $1",
                              customer_id) == 0
    # What stays is not personal: ids, times, scores, states, and who read the data when.
    assert await sql.fetchval("SELECT csat FROM survey_responses WHERE customer_id = $1",
                              customer_id) == 2
    audit = await sql.fetch("SELECT action, purpose FROM pii_access_log WHERE customer_id = $1",
                            customer_id)
    assert ("erase", "erasure_request") in [tuple(r) for r in audit]
    # The unanswered link stops working; the open follow-up calls are called off.
    async with client(crm_url) as anonymous:
        dead_link = await anonymous.post(f"/surveys/respond/{unanswered['token']}",
                                         json={"csat": 5})
    assert dead_link.status_code == 404
    calls = await crm.followups_of_visit(second.visit_id)
    assert [(c["state"], c["cancel_reason"]) for c in calls] == [("cancelled", "customer_erased")]
    # ...and the others are told, with the code why: the calls after both visits.
    assert sorted((str(e.visit_id), e.cancel_reason) for e in called_off) == sorted(
        (str(v.visit_id), "customer_erased") for v in (visit, second))
    assert calls[0]["followup_id"] in {str(e.followup_id) for e in called_off}


async def test_a_late_visit_of_an_erased_customer_schedules_nothing(crm, sql):
    customer_id = await crm.register(full_name="Gone Soon")
    async with crm.as_(Role.HEAD) as http:
        assert (await http.post(f"/customers/{customer_id}/erase")).status_code == 200
    visit = await crm.complete_visit(customer_id)

    async def recorded() -> bool:
        return bool(await sql.fetchval("SELECT 1 FROM visits WHERE visit_id = $1",
                                       visit.visit_id))
    await wait_for(recorded, what="the visit recorded")
    assert await crm.followups_of_visit(visit.visit_id) == []
    assert await sql.fetchval("SELECT count(*) FROM survey_invitations WHERE visit_id = $1",
                              visit.visit_id) == 0
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        complaint = await http.post("/complaints", json={
            "customer_id": str(customer_id), "category": "other", "severity": "low",
            "channel": "email", "description": "x"})
        unknown = await http.post(f"/customers/{uuid4()}/erase")
    assert complaint.status_code == 422 and "erased" in complaint.json()["detail"]
    assert unknown.status_code == 404
