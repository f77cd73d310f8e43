"""Sign-in through the real provider (Keycloak): the authorization-code flow with PKCE driven
over HTTP as a browser drives it, then every service called with the token; what a member's
token may read; the tokens every service refuses, each with its reason; and a key rotation
in the realm that the services follow without a restart."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import jwt
import pytest
from club_platform.auth import Role

from .provider import REDIRECT_URI, SignInRefused, pkce_pair, refresh, sign_in
from .support import READS, call, refusal

pytestmark = pytest.mark.asyncio(loop_scope="session")


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_person_signs_in_with_pkce_and_every_service_accepts_the_token(club, provider):
    head_id = uuid4()
    username, password = await provider.make_user("head", head_id)

    tokens = await sign_in(provider, username, password)

    assert tokens["token_type"].lower() == "bearer"
    assert tokens["expires_in"] <= 300  # short access tokens; a refresh token for more
    claims = claims_of(tokens["access_token"])
    assert claims["iss"] == provider.issuer
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert "club-services" in audience
    assert claims["club_id"] == str(head_id) and "head" in claims["roles"]
    assert jwt.get_unverified_header(tokens["access_token"])["alg"] == "RS256"
    for service in READS:
        response = await call(club, service, tokens["access_token"])
        assert response.status_code == 200, (service, response.text[:300])
    # Who the services see is the staff id from the claims, not the provider's user id: HR
    # answers "one staff member (staff see themselves)" for the head's own id.
    hired = await call(club, "hr", tokens["access_token"], f"/staff/{head_id}")
    assert hired.status_code == 404, hired.text  # the head is not on HR's register here

    refreshed = await refresh(provider, tokens["refresh_token"])
    assert refreshed.status_code == 200
    assert (await call(club, "booking", refreshed.json()["access_token"])).status_code == 200


async def test_the_console_client_requires_pkce(provider):
    username, password = await provider.make_user("attendant", uuid4())
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        answer = await browser.get(f"{provider.issuer}/protocol/openid-connect/auth", params={
            "client_id": "club-console", "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": "openid", "state": "s"})
    # No code challenge: refused before any login form is shown.
    assert answer.status_code == 302 and "error=invalid_request" in answer.headers["location"]
    with pytest.raises(SignInRefused, match="code exchange refused"):
        await sign_in(provider, username, password, send_verifier=False)
    assert pkce_pair()[0] != pkce_pair()[0]


async def test_a_wrong_password_is_refused_and_the_provider_locks_out_guessing(provider):
    username, password = await provider.make_user("member", uuid4())
    with pytest.raises(SignInRefused):
        await sign_in(provider, username, "not-" + password)
    realm = (await provider.admin("GET", "", expect=200)).json()
    assert realm["bruteForceProtected"] is True and realm["failureFactor"] <= 10


async def test_a_members_token_reads_only_their_own_bookings(club, provider, token):
    alba, bruno = uuid4(), uuid4()
    username, password = await provider.make_user("member", alba)
    albas = (await sign_in(provider, username, password))["access_token"]
    head = token(Role.HEAD)
    court = (await call(club, "booking", head, "/resources", "POST", json={
        "name": f"Court {alba.hex[:6]}", "kind": "court", "capacity": 4, "location": "East",
        "opening_hours": [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
                          for d in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                    "saturday", "sunday")]})).json()
    code = f"squash-{alba.hex[:8]}"
    made = await call(club, "booking", head, "/services", "POST", json={
        "code": code, "name": "Squash", "duration_minutes": 60, "resource_kinds": ["court"]})
    assert made.status_code == 201, made.text
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    at = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=UTC)

    hers = await call(club, "booking", albas, "/bookings", "POST", json={
        "resource_id": court["id"], "service_code": code, "starts_at": at.isoformat()})
    assert hers.status_code == 201, hers.text
    assert hers.json()["customer_id"] == str(alba)  # the member is the one in the token
    his = await call(club, "booking", token(Role.MEMBER, subject=bruno), "/bookings", "POST",
                     json={"resource_id": court["id"], "service_code": code,
                           "starts_at": (at + timedelta(hours=2)).isoformat()})
    assert his.status_code == 201, his.text

    listed = await call(club, "booking", albas, "/bookings")
    assert listed.status_code == 200
    assert [b["id"] for b in listed.json()] == [hers.json()["id"]]
    assert (await call(club, "booking", albas, f"/bookings/{his.json()['id']}")).status_code == 404
    named = await call(club, "booking", albas, "/bookings", params={"customer_id": str(bruno)})
    assert named.status_code == 403
    # Staff-only reads stay closed to a member's token.
    assert (await call(club, "hr", albas)).status_code == 403


async def test_tokens_every_service_refuses_with_a_reason(club, provider, accounts_secret):
    username, password = await provider.make_user("head", uuid4())
    good = (await sign_in(provider, username, password))["access_token"]
    async with httpx.AsyncClient(timeout=30) as http:
        master = (await http.post(
            f"{provider.base_url}/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli", "username": "admin",
                  "password": provider.admin_password})).json()["access_token"]
        machine = (await http.post(f"{provider.issuer}/protocol/openid-connect/token", data={
            "grant_type": "client_credentials", "client_id": "club-accounts",
            "client_secret": accounts_secret})).json()["access_token"]
        jwks = (await http.get(f"{provider.issuer}/protocol/openid-connect/certs")).json()
    header, payload, _ = good.split(".")
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{payload}."
    # HS256 "signed" with the issuer's public key, the classic algorithm confusion.
    public = jwt.PyJWK(next(k for k in jwks["keys"] if k.get("use") == "sig"
                            and k["kty"] == "RSA")).key
    from cryptography.hazmat.primitives import serialization
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    confused_head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signature = hmac.new(pem, f"{confused_head}.{payload}".encode(), hashlib.sha256).digest()
    confused = f"{confused_head}.{payload}.{_b64(signature)}"

    cases = {
        "another issuer": (master, "another issuer"),
        "wrong audience": (machine, "not meant for 'club-services'"),
        "alg none": (unsigned, "not 'none'"),
        "HS256 with the public key": (confused, "not 'HS256'"),
        "tampered": (f"{header}.{payload[:-4]}AAAA.{good.split('.')[2]}", "not valid"),
    }
    for service in READS:
        assert (await call(club, service, good)).status_code == 200
        for case, (token, reason) in cases.items():
            detail = await refusal(club, service, token)
            assert reason in detail, (service, case, detail)


async def test_an_expired_token_is_refused(club, provider):
    client_id = await provider.ensure_short_lived_client(2)
    username, password = await provider.make_user("deputy", uuid4())
    tokens = await sign_in(provider, username, password, client_id=client_id)
    expires = claims_of(tokens["access_token"])["exp"]
    assert (await call(club, "booking", tokens["access_token"])).status_code == 200
    await asyncio.sleep(max(0.0, expires + 5 + 1 - time.time()))  # past exp and the leeway
    for service in READS:
        assert "expired" in await refusal(club, service, tokens["access_token"])


async def test_keys_rotated_in_the_realm_reach_every_service_without_a_restart(club, provider):
    username, password = await provider.make_user("head", uuid4())
    before = (await sign_in(provider, username, password))["access_token"]
    for service in READS:
        assert (await call(club, service, before)).status_code == 200
    pids = {service: club[service].pid for service in READS}

    realm_id = (await provider.admin("GET", "", expect=200)).json()["id"]
    keys = (await provider.admin("GET", "/keys", expect=200)).json()["keys"]
    old = next(k for k in keys if k["algorithm"] == "RS256" and k["status"] == "ACTIVE"
               and k["kid"] == jwt.get_unverified_header(before)["kid"])
    await provider.admin("POST", "/components", expect=201, json={
        "name": f"rotated-{uuid4().hex[:6]}", "providerId": "rsa-generated",
        "providerType": "org.keycloak.keys.KeyProvider", "parentId": realm_id,
        "config": {"priority": [str(old["providerPriority"] + 10)], "enabled": ["true"],
                   "active": ["true"], "algorithm": ["RS256"], "keySize": ["2048"]}})
    after = (await sign_in(provider, username, password))["access_token"]
    assert jwt.get_unverified_header(after)["kid"] != old["kid"]
    for service in READS:  # a key id they have not seen: they fetch the new key set
        response = await call(club, service, after)
        assert response.status_code == 200, (service, response.text[:300])

    # The old key is taken out of the realm: its tokens stop working once the services'
    # cached key set expires (seconds here; KEYS_CACHE_SECONDS), the new ones keep working.
    await provider.admin("DELETE", f"/components/{old['providerId']}", expect=204)
    await asyncio.sleep(4)
    for service in READS:
        assert "does not publish" in await refusal(club, service, before)
        assert (await call(club, service, after)).status_code == 200
    assert {service: club[service].pid for service in READS} == pids  # no restart
