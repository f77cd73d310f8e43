"""Customers' confidential records over real HTTP and PostgreSQL (R1 §4.4, §6;
docs/authorization.md): registration without personal data on the bus, encryption at rest,
CRM-only audited reads."""

from __future__ import annotations

import json
from uuid import UUID, uuid4

from club_contracts import CustomerRegistered
from club_platform.auth import Role


def _unique() -> str:
    return uuid4().hex[:8]


async def test_registration_publishes_only_id_tier_and_time(crm, kafka_tap, clock):
    name, email = f"Zhao Lei {_unique()}", f"zhao.{_unique()}@example.com"
    async with kafka_tap("customer.registered") as tap:
        customer_id = await crm.register(full_name=name, email=email, phone="+86 138 0000 1111",
                                         tier="silver")
        [seen] = await tap.events(CustomerRegistered, key=customer_id)
    data = json.loads(seen.record.value)
    assert set(data) == {"customer_id", "tier", "registered_at"}
    assert data["customer_id"] == str(customer_id) and data["tier"] == "silver"
    assert seen.event.registered_at == clock.now()
    raw = (seen.record.value or b"").decode() + str(seen.headers)
    assert name not in raw and email not in raw and "13800001111" not in raw


async def test_personal_data_is_encrypted_at_rest(crm, sql):
    name, email = f"Sun Li {_unique()}", f"sun.{_unique()}@example.com"
    customer_id = await crm.register(full_name=name, email=email, phone="13900002222",
                                     preferences={"allergy": "peanuts"})
    row = await sql.fetchrow("SELECT * FROM customers WHERE customer_id = $1", customer_id)
    stored = " ".join(str(v) for v in row.values())
    for secret in (name, email, "13900002222", "peanuts"):
        assert secret not in stored
    for column in ("full_name_enc", "phone_enc", "email_enc", "preferences_enc"):
        assert row[column].startswith("v1:"), column
    # The sealed value is bound to its place: another customer's row cannot borrow it.
    assert row["email_lookup"] and email not in row["email_lookup"]


async def test_only_crm_roles_read_personal_data(crm, token):
    customer_id = await crm.register(full_name="Qian Yu", phone="13700003333")
    for role in (Role.ATTENDANT, Role.HR_ADMIN, Role.MEMBER):
        async with crm.as_(role) as http:
            profile = await http.get(f"/customers/{customer_id}",
                                     headers={"X-Access-Purpose": "customer_request"})
            notes = await http.get(f"/customers/{customer_id}/notes",
                                   params={"purpose": "customer_request"})
            found = await http.post("/customers/search", json={"phone": "13700003333"},
                                    params={"purpose": "customer_request"})
        for response in (profile, notes, found):
            assert response.status_code == 403, (role, response.text)
            assert response.json()["code"] == "forbidden"
    # Attendants record what a customer asks for (R1 §2.3) and see the non-personal summary.
    async with crm.as_(Role.ATTENDANT) as http:
        note = await http.post(f"/customers/{customer_id}/notes",
                               json={"text": "asked for a quiet room"})
        summary = await http.get(f"/customers/{customer_id}/summary")
    assert note.status_code == 201, note.text
    assert set(note.json()) == {"note_id", "customer_id", "written_at"}
    assert summary.status_code == 200
    assert summary.json()["tier"] == "gold" and "full_name" not in summary.json()
    async with crm.as_(Role.HEAD) as http:
        for role in ("deputy", "crm_specialist", "head"):
            async with crm.as_(role) as reader:
                read = await reader.get(f"/customers/{customer_id}",
                                        params={"purpose": "complaint_handling"})
            assert read.status_code == 200, (role, read.text)
            assert read.json()["full_name"] == "Qian Yu"


async def test_reading_without_a_stated_purpose_is_refused(crm, sql):
    customer_id = await crm.register(full_name="Zhou Min")
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        missing = await http.get(f"/customers/{customer_id}")
        unknown = await http.get(f"/customers/{customer_id}",
                                 headers={"X-Access-Purpose": "curiosity"})
    assert missing.status_code == 400
    assert missing.json()["code"] == "purpose_required"
    assert "X-Access-Purpose" in missing.json()["detail"]
    assert unknown.status_code == 400 and "curiosity" in unknown.json()["detail"]
    reads = await sql.fetchval("SELECT count(*) FROM pii_access_log WHERE customer_id = $1 "
                               "AND action = 'read_profile'", customer_id)
    assert reads == 0


async def test_a_specialists_read_is_in_the_audit_log_the_head_reads(crm, token, clock):
    customer_id = await crm.register(full_name="Wu Hao", email=f"wu.{_unique()}@example.com")
    specialist = uuid4()
    async with crm.as_(Role.CRM_SPECIALIST, subject=specialist) as http:
        read = await http.get(f"/customers/{customer_id}",
                              headers={"X-Access-Purpose": "followup_call"})
        notes = await http.get(f"/customers/{customer_id}/notes",
                               headers={"X-Access-Purpose": "followup_call"})
    assert read.status_code == 200 and notes.status_code == 200
    async with crm.as_(Role.HEAD) as http:
        log = await http.get("/audit/pii-access", params={"customer_id": str(customer_id)})
        by_actor = await http.get("/audit/pii-access", params={"actor_id": str(specialist)})
    assert log.status_code == 200, log.text
    entries = [(e["action"], e["purpose"], e["actor_id"], e["actor_role"]) for e in log.json()]
    assert ("read_profile", "followup_call", str(specialist), "crm_specialist") in entries
    assert ("read_notes", "followup_call", str(specialist), "crm_specialist") in entries
    assert {e["action"] for e in by_actor.json()} == {"read_profile", "read_notes"}
    read_entry = next(e for e in log.json() if e["action"] == "read_profile")
    assert read_entry["at"].startswith(clock.now().isoformat()[:19])
    for role in (Role.DEPUTY, Role.CRM_SPECIALIST, Role.ATTENDANT):
        async with crm.as_(role) as http:
            refused = await http.get("/audit/pii-access")
        assert refused.status_code == 403


async def test_a_member_reads_their_own_record_only(crm, sql):
    member = uuid4()
    await crm.register(full_name="Lin Yue", customer_id=member)
    other = await crm.register(full_name="Guo Jing")
    async with crm.as_(Role.MEMBER, subject=member) as http:
        mine = await http.get("/customers/me")
        theirs = await http.get(f"/customers/{other}", params={"purpose": "customer_request"})
    assert mine.status_code == 200 and mine.json()["full_name"] == "Lin Yue"
    assert theirs.status_code == 403
    purpose = await sql.fetchval("SELECT purpose FROM pii_access_log WHERE customer_id = $1 "
                                 "AND action = 'read_profile'", member)
    assert purpose == "data_subject_access"


async def test_find_by_email_or_phone_however_written(crm):
    email = f"Ma.Rui.{_unique()}@Example.com"
    customer_id = await crm.register(full_name="Ma Rui", email=email, phone="+86 (136) 0000-4444")
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        purpose = {"X-Access-Purpose": "customer_request"}
        by_email = await http.post("/customers/search", json={"email": email.upper()},
                                   headers=purpose)
        by_phone = await http.post("/customers/search", json={"phone": "+86 136 0000 4444"},
                                   headers=purpose)
        neither = await http.post("/customers/search", json={}, headers=purpose)
        no_purpose = await http.post("/customers/search", json={"email": email})
    assert [c["customer_id"] for c in by_email.json()] == [str(customer_id)]
    assert str(customer_id) in [c["customer_id"] for c in by_phone.json()]
    assert neither.status_code == 422
    assert no_purpose.status_code == 400


async def test_update_and_duplicate_email(crm):
    first_email, second_email = f"a.{_unique()}@example.com", f"b.{_unique()}@example.com"
    customer_id = await crm.register(full_name="He Jun", email=first_email)
    await crm.register(full_name="Other", email=second_email)
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        taken = await http.post("/customers", json={"full_name": "Dup", "email": first_email})
        clash = await http.patch(f"/customers/{customer_id}", json={"email": second_email},
                                 params={"purpose": "account_maintenance"})
        no_purpose = await http.patch(f"/customers/{customer_id}", json={"tier": "platinum"})
        changed = await http.patch(f"/customers/{customer_id}",
                                   json={"tier": "platinum", "phone": "135 0000 5555",
                                         "email": None},
                                   params={"purpose": "account_maintenance"})
        read = await http.get(f"/customers/{customer_id}", params={"purpose": "customer_request"})
        old = await http.post("/customers/search", json={"email": first_email},
                              params={"purpose": "customer_request"})
    assert taken.status_code == 409
    assert clash.status_code == 409
    assert no_purpose.status_code == 400
    assert changed.status_code == 200, changed.text
    assert changed.json()["tier"] == "platinum" and "phone" not in changed.json()
    assert read.json()["phone"] == "13500005555" and read.json()["email"] is None
    assert old.json() == []


async def test_bad_input_gets_a_clear_4xx(crm):
    async with crm.as_(Role.CRM_SPECIALIST) as http:
        bad_email = await http.post("/customers", json={"full_name": "A", "email": "not-mail"})
        bad_tier = await http.post("/customers", json={"full_name": "A", "tier": "diamond"})
        no_name = await http.post("/customers", json={"full_name": "  "})
        bad_phone = await http.post("/customers", json={"full_name": "A", "phone": "12ab"})
        extra = await http.post("/customers", json={"full_name": "A", "ssn": "1"})
        unknown = await http.get(f"/customers/{uuid4()}", params={"purpose": "customer_request"})
    assert bad_email.status_code == 422 and "e-mail" in bad_email.json()["detail"]
    assert bad_tier.status_code == 422 and "diamond" in bad_tier.json()["detail"]
    assert no_name.status_code == 422 and "name" in no_name.json()["detail"]
    assert bad_phone.status_code == 422 and "phone" in bad_phone.json()["detail"]
    assert extra.status_code == 422
    assert unknown.status_code == 404


async def test_registration_repeats_safely_with_an_idempotency_key(crm, kafka_tap):
    key = f"register-{_unique()}"
    body = {"full_name": "Xu Qing", "tier": "standard"}
    async with kafka_tap("customer.registered") as tap, crm.as_(Role.ATTENDANT) as http:
        first = await http.post("/customers", json=body, headers={"Idempotency-Key": key})
        again = await http.post("/customers", json=body, headers={"Idempotency-Key": key})
        other = await http.post("/customers", json={**body, "tier": "gold"},
                                headers={"Idempotency-Key": key})
        customer_id = UUID(first.json()["customer_id"])
        await tap.events(CustomerRegistered, key=customer_id)
        seen = await tap.settle(1.0)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.status_code == 422
    assert len([s for s in seen if s.key == str(customer_id)]) == 1
