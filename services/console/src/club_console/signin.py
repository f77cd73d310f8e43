"""Sign-in at the club's OpenID Connect provider: the authorization code flow with PKCE (S256)
as the public client `club-console`; the tokens stay in the server-side session.

    GET /sign-in?next=/desk   → the provider's login page (state, nonce, code challenge)
    GET /signed-in?code&state → code exchanged with the verifier; the access token verified
                                as the services verify it; back to `next`
    POST /sign-out            → the session ends here and at the provider
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import urllib.request
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from club_platform.auth import IssuerKeys, TokenVerifier
from club_platform.errors import ClubError
from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from club_console.sessions import Person, Session
from club_console.settings import ConsoleSettings
from club_console.web import Visit, visit

log = logging.getLogger("club_console.signin")
AUDIENCE = "club-services"


def safe_next(value: str | None) -> str:
    """Only a path of this console: never another site (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


class Tokens:
    """The provider as the console uses it: its endpoints (discovery, fetched once), the code
    exchange, the refresh, and the access token checked as every service checks it."""

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.redirect_uri = settings.public_url.rstrip("/") + "/signed-in"
        self._discovery: dict[str, Any] | None = None
        self._verifier = TokenVerifier(algorithm="HS256", key=None, issuer=self.issuer,
                                       audience=AUDIENCE, oidc=IssuerKeys(self.issuer))

    def _internal(self, url: str) -> str:
        """The provider's server-side address, where it differs from the browser's."""
        inside = self.settings.oidc_internal_url
        if inside and url.startswith(self.issuer):
            return inside.rstrip("/") + url[len(self.issuer):]
        return url

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            url = self._internal(self.issuer) + "/.well-known/openid-configuration"

            def fetch() -> dict[str, Any]:
                with urllib.request.urlopen(url, timeout=10) as response:
                    return json.load(response)

            self._discovery = await run_in_threadpool(fetch)
        return self._discovery

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=self.settings.oidc_client_id,
                                 redirect_uri=self.redirect_uri,
                                 code_challenge_method="S256", timeout=10,
                                 token_endpoint_auth_method="none")

    async def authorization_url(self, session: Session, back_to: str, language: str) -> str:
        endpoints = await self.discovery()
        verifier = generate_token(64)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        session.pending = {"verifier": verifier, "state": state, "nonce": nonce,
                           "next": back_to}
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoints["authorization_endpoint"], state=state, nonce=nonce,
                code_verifier=verifier, scope="openid profile",
                ui_locales="zh-CN" if language == "zh_CN" else "en")
        assert create_s256_code_challenge(verifier) in url
        return url

    async def exchange(self, session: Session, code: str) -> None:
        endpoints = await self.discovery()
        async with self._client() as client:
            token = await client.fetch_token(
                self._internal(endpoints["token_endpoint"]), grant_type="authorization_code",
                code=code, code_verifier=session.pending["verifier"])
        await self._keep(session, token)

    async def refresh(self, session: Session) -> bool:
        if not session.refresh_token:
            return False
        endpoints = await self.discovery()
        try:
            async with self._client() as client:
                token = await client.refresh_token(
                    self._internal(endpoints["token_endpoint"]),
                    refresh_token=session.refresh_token)
            await self._keep(session, token)
        except Exception as e:  # the provider refused (session ended there) or is away
            log.info("token refresh failed: %s", e)
            return False
        return True

    async def _keep(self, session: Session, token: dict[str, Any]) -> None:
        principal = await run_in_threadpool(self._verifier.verify, token["access_token"])
        session.person = Person(id=principal.id, role=principal.role.value,
                                name=principal.name)
        session.access_token = token["access_token"]
        session.access_expires = time.time() + float(token.get("expires_in", 60))
        session.refresh_token = token.get("refresh_token") or session.refresh_token
        session.id_token = token.get("id_token") or session.id_token

    async def end_session_url(self, id_token: str | None) -> str | None:
        endpoints = await self.discovery()
        end = endpoints.get("end_session_endpoint")
        if not end:
            return None
        query = {"client_id": self.settings.oidc_client_id,
                 "post_logout_redirect_uri": self.settings.public_url.rstrip("/") + "/"}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{end}?{urlencode(query)}"


router = APIRouter()

@router.get("/sign-in")
async def sign_in(next: str | None = None, visit: Visit = Depends(visit)):
    tokens: Tokens = visit.console.tokens
    try:
        url = await tokens.authorization_url(visit.session, safe_next(next), visit.language)
    except OSError:
        return visit.render("error.html", status=503, title=visit._("Sign-in unavailable"),
                            message=visit._("The club's sign-in service is not answering. "
                                            "Try again in a minute."))
    return visit.redirect(url)

@router.get("/signed-in")
async def signed_in(code: str | None = None, state: str | None = None,
                    error: str | None = None, visit: Visit = Depends(visit)):
    pending = visit.session.pending
    if error or not code or not state or not pending or \
            not secrets.compare_digest(state, pending.get("state", "")):
        return visit.render("error.html", status=400, title=visit._("Sign-in failed"),
                            message=visit._("The sign-in did not complete. Please sign in "
                                            "again."), retry="/sign-in")
    tokens: Tokens = visit.console.tokens
    try:
        await tokens.exchange(visit.session, code)
    except ClubError as e:
        # A person with no club role, or with two: the provider's account needs fixing.
        log.info("sign-in refused: %s", e.detail)
        return visit.render("error.html", status=403, title=visit._("Sign-in refused"),
                            message=visit._("Your account holds no role at the club. Ask "
                                            "the HR administrator."))
    except Exception as e:
        log.warning("code exchange failed: %s", e)
        return visit.render("error.html", status=400, title=visit._("Sign-in failed"),
                            message=visit._("The sign-in did not complete. Please sign in "
                                            "again."), retry="/sign-in")
    back_to = safe_next(pending.get("next"))
    visit.session.pending = {}
    visit.renew()
    return visit.redirect(back_to)

@router.post("/sign-out")
async def sign_out(visit: Visit = Depends(visit)):
    await visit.form()
    id_token = visit.session.id_token if visit.person else None
    visit.end()
    tokens: Tokens = visit.console.tokens
    try:
        end = await tokens.end_session_url(id_token)
    except OSError:
        end = None
    return visit.redirect(end or "/")

