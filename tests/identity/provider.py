"""The identity tests' view of the real Keycloak: its admin REST API (as the bootstrap
administrator, local only) and a sign-in driven over HTTP as a browser does it — the login
form, the redirect with the code, the code exchange with the PKCE verifier."""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import httpx
from club_platform.testing.infrastructure import read_env_file

ROOT = Path(__file__).resolve().parents[2]

# The console client's redirect (deploy/keycloak/club-realm.json: CLUB_CONSOLE_URL/*); the
# browser would land there; the test reads the code from the redirect instead.
REDIRECT_URI = "http://127.0.0.1:8100/signed-in"
SHORT_CLIENT = "club-test-short-tokens"


def running_provider() -> Provider:
    """The tests' Keycloak: the one `make test-infra` started (its address in the environment),
    or else started here by deploy/local/keycloak.py (once: it does nothing when it answers)."""
    env = dict(os.environ)
    if not (env.get("CLUB_OIDC_ISSUER") and _answers(env["CLUB_OIDC_ISSUER"])):
        subprocess.run([sys.executable, str(ROOT / "deploy" / "local" / "keycloak.py"), "up"],
                       check=True)
        env |= read_env_file(ROOT / ".env.local")
    return Provider(base_url=env["CLUB_KEYCLOAK_URL"], issuer=env["CLUB_OIDC_ISSUER"],
                    admin_password=env["CLUB_KEYCLOAK_ADMIN_PASSWORD"])


def _answers(issuer: str) -> bool:
    try:
        with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=3):
            return True
    except OSError:
        return False


class SignInRefused(AssertionError):
    pass


@dataclass
class Provider:
    base_url: str
    issuer: str
    admin_password: str
    realm: str = "club"

    async def admin_token(self) -> str:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{self.base_url}/realms/master/protocol/openid-connect/token",
                data={"grant_type": "password", "client_id": "admin-cli", "username": "admin",
                      "password": self.admin_password})
        response.raise_for_status()
        return response.json()["access_token"]

    async def admin(self, method: str, path: str, *, expect: int | None = None,
                    **kwargs) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.request(
                method, f"{self.base_url}/admin/realms/{self.realm}{path}",
                headers={"Authorization": f"Bearer {await self.admin_token()}"}, **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} " \
                                                   f"{response.text[:300]}"
        return response

    async def make_user(self, role: str, club_id: UUID, *, password: str | None = None,
                        required_actions: list[str] | None = None) -> tuple[str, str]:
        username = f"t-{role}-{secrets.token_hex(4)}"
        password = password or secrets.token_urlsafe(16)
        await self.admin("POST", "/users", expect=201, json={
            "username": username, "enabled": True, "firstName": "Test", "lastName": role,
            "email": f"{username}@club.invalid", "emailVerified": True,
            "attributes": {"club_id": [str(club_id)]},
            "credentials": [{"type": "password", "value": password, "temporary": False}],
            "requiredActions": required_actions or []})
        user = await self.user_by_club_id(club_id)
        role_repr = (await self.admin("GET", f"/roles/{role}", expect=200)).json()
        await self.admin("POST", f"/users/{user['id']}/role-mappings/realm", json=[role_repr],
                         expect=204)
        return username, password

    async def user_by_club_id(self, club_id: UUID) -> dict | None:
        found = (await self.admin("GET", "/users", expect=200, params={
            "q": f"club_id:{club_id}", "exact": "true", "briefRepresentation": "false"})).json()
        return found[0] if found else None

    async def realm_roles(self, user_id: str) -> set[str]:
        held = (await self.admin("GET", f"/users/{user_id}/role-mappings/realm",
                                 expect=200)).json()
        return {r["name"] for r in held}

    async def ensure_short_lived_client(self, lifespan_seconds: int) -> str:
        """A public PKCE client like the console whose access tokens live `lifespan_seconds`:
        "refused within one token lifetime" is then seconds, not the realm's five minutes."""
        found = (await self.admin("GET", "/clients", params={"clientId": SHORT_CLIENT})).json()
        if not found:
            console = (await self.admin("GET", "/clients",
                                        params={"clientId": "club-console"})).json()[0]
            await self.admin("POST", "/clients", expect=201, json={
                "clientId": SHORT_CLIENT, "publicClient": True, "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False, "redirectUris": [REDIRECT_URI],
                "attributes": {"pkce.code.challenge.method": "S256",
                               "access.token.lifespan": str(lifespan_seconds)},
                "protocolMappers": [{k: v for k, v in m.items() if k != "id"}
                                    for m in console["protocolMappers"]]})
        return SHORT_CLIENT


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


class Browser:
    """httpx with a cookie jar of its own: Keycloak marks its cookies Secure, which browsers
    send to http://127.0.0.1 (loopback counts as a secure context) and httpx does not."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(timeout=30, follow_redirects=False)
        self.jar: dict[str, str] = {}

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_exc) -> None:
        await self.http.aclose()

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        cookies = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        response = await self.http.request(method, url, headers={"Cookie": cookies} if cookies
                                           else {}, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            self.jar[name.strip()] = rest.split(";", 1)[0]
        return response

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("POST", url, **kwargs)


def _form_action(page: str, form_id: str) -> str | None:
    form = re.search(rf'<form[^>]*id="{form_id}"[^>]*>', page)
    if form is None:
        return None
    action = re.search(r'action="([^"]+)"', form.group(0))
    return html.unescape(action.group(1)) if action else None


async def sign_in(provider: Provider, username: str, password: str, *,
                  client_id: str = "club-console", new_password: str | None = None,
                  send_verifier: bool = True) -> dict:
    """The authorization-code flow with PKCE, as a browser: returns the token response."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    endpoint = f"{provider.issuer}/protocol/openid-connect"
    async with Browser() as browser:
        page = await browser.get(f"{endpoint}/auth", params={
            "client_id": client_id, "redirect_uri": REDIRECT_URI, "response_type": "code",
            "scope": "openid", "state": state, "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge, "code_challenge_method": "S256"})
        assert page.status_code == 200, f"login page: {page.status_code} {page.text[:300]}"
        action = _form_action(page.text, "kc-form-login")
        assert action, "no login form on the login page"
        answer = await browser.post(action, data={"username": username, "password": password,
                                                   "credentialId": ""})
        # A new hire's first sign-in: the one-time "set your password" action, then the
        # provider may ask them to complete their profile (their e-mail is not HR's to send).
        for _ in range(3):
            if answer.status_code == 302 and "/login-actions/required-action" in answer.headers[
                    "location"]:
                answer = await browser.get(answer.headers["location"])
            if answer.status_code != 200:
                break
            if action := _form_action(answer.text, "kc-passwd-update-form"):
                assert new_password, "the provider asks for a new password"
                answer = await browser.post(action, data={"password-new": new_password,
                                                          "password-confirm": new_password})
            elif action := _form_action(answer.text, "kc-update-profile-form"):
                answer = await browser.post(action, data={
                    "username": username,
                    "email": username if "@" in username else f"{username}@club.invalid",
                    "firstName": "New", "lastName": "Hire"})
            else:
                break
        if answer.status_code != 302:
            message = re.search(r'kc-feedback-text">([^<]+)<|input-error[^>]*>\s*([^<]+)<',
                                answer.text)
            reason = next((g for g in message.groups() if g), "") if message else ""
            raise SignInRefused(f"sign-in refused ({answer.status_code}): {reason.strip()}")
        location = answer.headers["location"]
        assert location.startswith(REDIRECT_URI), location
        query = parse_qs(urlparse(location).query)
        assert query["state"] == [state]
        exchange = {"grant_type": "authorization_code", "code": query["code"][0],
                    "redirect_uri": REDIRECT_URI, "client_id": client_id}
        if send_verifier:
            exchange["code_verifier"] = verifier
        tokens = await browser.post(f"{endpoint}/token", data=exchange)
    if tokens.status_code != 200:
        raise SignInRefused(f"code exchange refused: {tokens.status_code} {tokens.text[:200]}")
    return tokens.json()


async def refresh(provider: Provider, refresh_token: str, client_id: str = "club-console"
                  ) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{provider.issuer}/protocol/openid-connect/token", data={
            "grant_type": "refresh_token", "refresh_token": refresh_token,
            "client_id": client_id})
