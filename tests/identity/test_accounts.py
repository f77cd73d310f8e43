"""Accounts that follow HR, on the real provider, Kafka and PostgreSQL: HR hires → the user
exists with the role and a "set your password" action; HR changes the role → the next token
carries it; HR offboards → the user is disabled, sign-in fails, CRM refuses the old token at
once and every service within one token lifetime; a suspension does the same; replaying HR's
topics from offset 0 changes nothing in the provider."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from uuid import UUID, uuid4

import jwt
import pytest
from aiokafka import AIOKafkaConsumer
from club_platform.auth import Role
from club_platform.envelope import decode
from club_platform.kafka import partitions_of
from club_platform.testing import wait_for

from club_crm.accounts import Accounts, ProviderAccess, build_accounts_consumer

from .conftest import STAFF_TOPICS
from .provider import SignInRefused, refresh, sign_in
from .support import READS, call, refusal

pytestmark = pytest.mark.asyncio(loop_scope="session")

LIFETIME = 15  # seconds: the access tokens of the test client (the realm's are 5 minutes)


async def hire(club, token, staff_id: UUID, role: str, name: str) -> None:
    response = await call(club, "hr", token(Role.HR_ADMIN), "/staff", "POST", json={
        "display_name": name, "role": role, "staff_id": str(staff_id)})
    assert response.status_code == 201, response.text


async def account(provider, staff_id: UUID, **expected) -> dict:
    """The provider's user for `staff_id` once it shows `expected` (enabled=…, role=…)."""
    async def check():
        user = await provider.user_by_club_id(staff_id)
        if user is None:
            return None
        if "enabled" in expected and user["enabled"] != expected["enabled"]:
            return None
        if "role" in expected and expected["role"] not in await provider.realm_roles(user["id"]):
            return None
        return user
    return await wait_for(check, timeout=60, interval=0.5,
                          what=f"the account of {staff_id} shows {expected}")


async def offboard(club, token, staff_id: UUID) -> None:
    hr = token(Role.HR_ADMIN)
    base = f"/staff/{staff_id}/offboarding"
    started = await call(club, "hr", hr, base, "POST", json={
        "reason": "resignation", "last_day": datetime.now(UTC).date().isoformat()})
    assert started.status_code == 201, started.text
    for item in ("documents_returned_or_destroyed", "customer_data_access_revoked",
                 "badge_and_keys_returned"):
        ticked = await call(club, "hr", hr, f"{base}/items/{item}", "PUT",
                            json={"evidence": f"checked by HR: {item}"})
        assert ticked.status_code == 200, ticked.text
    done = await call(club, "hr", hr, f"{base}/completion", "POST")
    assert done.status_code in (200, 201), done.text


async def test_hr_hires_changes_the_role_and_offboards_and_the_account_follows(
        club, provider, token):
    client_id = await provider.ensure_short_lived_client(LIFETIME)
    staff_id = uuid4()
    await hire(club, token, staff_id, "attendant", "Mei Lin")

    user = await account(provider, staff_id, enabled=True, role="attendant")
    assert user["requiredActions"] == ["UPDATE_PASSWORD"]
    assert {"attendant"} == await provider.realm_roles(user["id"]) & {r.value for r in Role}
    assert user["username"].startswith("mei.lin.")
    # HR hands over a first password; the provider makes the new hire choose their own.
    await provider.admin("PUT", f"/users/{user['id']}/reset-password", expect=204, json={
        "type": "password", "value": "first-Pass-1234", "temporary": True})
    chosen = "chosen-Pass-5678"
    first = await sign_in(provider, user["username"], "first-Pass-1234", client_id=client_id,
                          new_password=chosen)
    assert jwt.decode(first["access_token"], options={"verify_signature": False})["roles"]
    assert (await call(club, "reception", first["access_token"])).status_code == 200

    # A role change: the next token carries the new role, not the old one.
    changed = await call(club, "hr", token(Role.HR_ADMIN), f"/staff/{staff_id}/role", "POST",
                         json={"role": "crm_specialist"})
    assert changed.status_code == 200, changed.text
    await account(provider, staff_id, role="crm_specialist")
    tokens = await sign_in(provider, user["username"], chosen, client_id=client_id)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert "crm_specialist" in claims["roles"] and "attendant" not in claims["roles"]
    held = tokens["access_token"]
    assert (await call(club, "crm", held, "/followups/queue")).status_code == 200

    # Offboarding: CRM refuses the token as soon as it reads staff.offboarded ...
    started = time.monotonic()
    await offboard(club, token, staff_id)

    async def crm_refuses():
        response = await call(club, "crm", held, "/followups/queue")
        return response.status_code == 401 and "offboarded" in response.json()["detail"]
    await wait_for(crm_refuses, timeout=30, interval=0.2, what="CRM refuses the old token")
    crm_after = time.monotonic() - started
    # ... the user is disabled, their sessions ended: no sign-in, no refresh ...
    await account(provider, staff_id, enabled=False)
    with pytest.raises(SignInRefused):
        await sign_in(provider, user["username"], chosen, client_id=client_id)
    assert (await refresh(provider, tokens["refresh_token"], client_id)).status_code == 400
    # ... and within one token lifetime every service refuses the token it still holds.
    expires = claims["exp"]
    await asyncio.sleep(max(0.0, expires + 5 + 0.5 - time.time()))
    for service in READS:
        assert "expired" in await refusal(club, service, held)
    assert time.time() - claims["iat"] <= LIFETIME + 5 + 5
    assert crm_after < LIFETIME, f"CRM took {crm_after:.1f}s"


async def test_a_suspension_disables_the_account_and_crm_refuses_at_once(club, provider, token):
    client_id = await provider.ensure_short_lived_client(LIFETIME)
    staff_id = uuid4()
    await hire(club, token, staff_id, "crm_specialist", "Ana Silva")
    user = await account(provider, staff_id, enabled=True, role="crm_specialist")
    await provider.admin("PUT", f"/users/{user['id']}/reset-password", expect=204, json={
        "type": "password", "value": "their-Pass-1234", "temporary": False})
    await provider.admin("PUT", f"/users/{user['id']}", expect=204,
                         json={"requiredActions": []})
    held = (await sign_in(provider, user["username"], "their-Pass-1234",
                          client_id=client_id))["access_token"]
    assert (await call(club, "crm", held, "/followups/queue")).status_code == 200

    suspended = await call(club, "hr", token(Role.HEAD), f"/staff/{staff_id}/suspension", "POST",
                           json={"reason": "investigation of a complaint"})
    assert suspended.status_code == 200, suspended.text

    async def crm_refuses():
        return (await call(club, "crm", held, "/followups/queue")).status_code == 401
    await wait_for(crm_refuses, timeout=30, interval=0.2, what="CRM refuses the old token")
    await account(provider, staff_id, enabled=False)
    with pytest.raises(SignInRefused):
        await sign_in(provider, user["username"], "their-Pass-1234", client_id=client_id)

    reinstated = await call(club, "hr", token(Role.HEAD), f"/staff/{staff_id}/reinstatement",
                            "POST", json={"reason": "complaint not upheld"})
    assert reinstated.status_code == 200, reinstated.text
    await account(provider, staff_id, enabled=True)
    again = (await sign_in(provider, user["username"], "their-Pass-1234",
                           client_id=client_id))["access_token"]
    assert (await call(club, "crm", again, "/followups/queue")).status_code == 200


async def snapshot(provider, staff_ids) -> dict:
    """Everything about these users the sync could change."""
    found = {}
    for staff_id in staff_ids:
        user = await provider.user_by_club_id(staff_id)
        found[staff_id] = {k: user.get(k) for k in (
            "id", "username", "enabled", "attributes", "requiredActions", "createdTimestamp")}
        found[staff_id]["roles"] = await provider.realm_roles(user["id"])
    return found


async def test_replaying_hr_topics_from_offset_0_changes_nothing(
        club, provider, token, accounts_secret, kafka_connection):
    hired, changed, gone = uuid4(), uuid4(), uuid4()
    await hire(club, token, hired, "attendant", "Replay One")
    await hire(club, token, changed, "attendant", "Replay Two")
    await hire(club, token, gone, "deputy", "Replay Three")
    await account(provider, changed, role="attendant")
    assert (await call(club, "hr", token(Role.HR_ADMIN), f"/staff/{changed}/role", "POST",
                       json={"role": "head"})).status_code == 200
    await account(provider, gone, role="deputy")
    await offboard(club, token, gone)
    await account(provider, changed, role="head")
    await account(provider, gone, enabled=False)
    await account(provider, hired, role="attendant")
    ours = {hired, changed, gone}
    before = await snapshot(provider, ours)

    # Every staff event from offset 0, through the same handlers the CRM's accounts group
    # runs (without the inbox that would skip them): the events of these three people.
    accounts = Accounts(ProviderAccess(provider.base_url, "club", "club-accounts",
                                       accounts_secret))
    handlers = build_accounts_consumer(accounts)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_connection.bootstrap_servers,
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    replayed = 0
    try:
        partitions = await partitions_of(consumer, STAFF_TOPICS)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    envelope, event = decode(record.headers, record.value)
                    if event.staff_id in ours:
                        await handlers.handler_for(envelope.type)(None, event, envelope)
                        replayed += 1
    finally:
        await consumer.stop()
        await accounts.close()
    assert replayed >= 6  # three hires, a role change, the offboarding's events

    assert await snapshot(provider, ours) == before


async def test_a_member_registered_by_crm_gets_an_account_and_erasure_removes_it(
        club, provider, token):
    customer_id = uuid4()
    email = f"alba.{customer_id.hex[:8]}@example.org"
    registered = await call(club, "crm", token(Role.CRM_SPECIALIST), "/customers", "POST",
                            json={"customer_id": str(customer_id), "full_name": "Alba Reyes",
                                  "email": email, "tier": "standard"})
    assert registered.status_code == 201, registered.text
    user = await account(provider, customer_id, enabled=True, role="member")
    # The provider has the name and e-mail from CRM's records (the event carries neither).
    assert (user["username"], user["email"], user["firstName"]) == (email, email, "Alba Reyes")
    assert await provider.realm_roles(user["id"]) & {r.value for r in Role} == {"member"}

    await provider.admin("PUT", f"/users/{user['id']}/reset-password", expect=204, json={
        "type": "password", "value": "first-Pass-1234", "temporary": True})
    tokens = await sign_in(provider, email, "first-Pass-1234", new_password="her-Pass-5678")
    mine = await call(club, "crm", tokens["access_token"], "/customers/me")
    assert mine.status_code == 200, mine.text
    assert mine.json()["customer_id"] == str(customer_id)

    erased = await call(club, "crm", token(Role.CRM_SPECIALIST), f"/customers/{customer_id}/erase",
                        "POST")
    assert erased.status_code == 200, erased.text

    async def gone():
        return await provider.user_by_club_id(customer_id) is None
    await wait_for(gone, timeout=60, interval=0.5, what="the erased member's account is removed")
    with pytest.raises(SignInRefused):
        await sign_in(provider, email, "her-Pass-5678")
