"""The HTTP shell every service shares (docs/authorization.md): authentication and roles, problem
details for bad input, the body limit, idempotency keys — over real HTTP on a real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from uuid import uuid4

import pytest
import pytest_asyncio
import sqlalchemy as sa
from club_platform import idempotency
from club_platform.auth import (
    Principal,
    Role,
    authenticated,
    issue_token,
    require_roles,
    route_access,
)
from club_platform.errors import Conflict
from club_platform.http import MAX_JSON_DEPTH, create_app
from club_platform.runtime import ServiceRuntime
from club_platform.settings import ServiceSettings
from club_platform.testing import client, serve_app
from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field


class Greeting(BaseModel):
    text: str = Field(min_length=1, max_length=50)
    times: int = Field(ge=1, le=10)


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post("/greetings", status_code=201)
    async def greet(body: Greeting, request: Request,
                    principal: Principal = Depends(require_roles(Role.HEAD, Role.DEPUTY)),
                    idempotency_key: str | None = Header(default=None)) -> dict:
        runtime = request.app.state.runtime
        async with runtime.database.transaction() as session:
            earlier = await idempotency.claim(session, key=idempotency_key, principal=principal,
                                              scope="greet", payload=body)
            if earlier:
                return earlier.body
            if body.text == "taken":
                raise Conflict("that greeting is taken", slot="10:00–11:00")
            greeting_id = str(uuid4())
            await session.execute(
                sa.text("INSERT INTO effects (event_id, consumer, payload) VALUES "
                        "(:e, 'greet', :p)"), {"e": greeting_id, "p": body.text})
            response = {"id": greeting_id, "text": body.text * body.times}
            await idempotency.remember(session, key=idempotency_key, principal=principal,
                                       scope="greet", status_code=201, body=response)
            return response

    return router


@pytest.fixture
def platform_settings_for_docs() -> ServiceSettings:
    """Enough to build an app object; nothing connects."""
    return ServiceSettings(service_name="shell", database_url="postgresql+asyncpg://x@h/d",
                           kafka_bootstrap_servers="localhost:9092",
                           jwt_secret="only-for-building-the-app-object")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shell(platform_database, kafka_connection, jwt_secret) -> AsyncIterator[str]:
    settings = ServiceSettings(
        service_name="shell", database_url=platform_database.url,
        kafka_bootstrap_servers=kafka_connection.bootstrap_servers, jwt_secret=jwt_secret,
        run_consumer=False, run_relay=False, http_max_body_bytes=4096,
    )
    app = create_app(runtime=ServiceRuntime(settings), routers=[build_router()],
                     title="shell", description="test shell")
    async with serve_app(app) as url:
        yield url


async def test_no_token_is_401_with_a_bearer_challenge(shell):
    async with client(shell) as http:
        response = await http.post("/greetings", json={"text": "hi", "times": 1})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "a bearer token is required"


async def test_expired_wrong_signature_and_garbage_tokens_are_401(shell, jwt_secret):
    expired = issue_token(jwt_secret, subject=uuid4(), role="head", ttl=timedelta(minutes=-5))
    forged = issue_token("another-secret-entirely-0123456789", subject=uuid4(), role="head")
    for token, words in ((expired, "expired"), (forged, "Signature"), ("garbage", "not valid")):
        async with client(shell, token) as http:
            response = await http.post("/greetings", json={"text": "hi", "times": 1})
        assert response.status_code == 401, token
        assert words in response.json()["detail"]


async def test_a_role_not_allowed_is_403_naming_the_roles(shell, token):
    async with client(shell, token("attendant")) as http:
        response = await http.post("/greetings", json={"text": "hi", "times": 1})
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "the attendant role may not do this (allowed: deputy, head)")


async def test_bad_input_is_422_naming_each_field(shell, token):
    async with client(shell, token("head")) as http:
        response = await http.post("/greetings", json={"text": "", "times": 99})
        not_json = await http.post("/greetings", content=b"{nope",
                                   headers={"content-type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"text", "times"}
    assert "times" in body["detail"]
    assert not_json.status_code == 422


async def test_a_conflict_is_409_with_its_details(shell, token):
    async with client(shell, token("head")) as http:
        response = await http.post("/greetings", json={"text": "taken", "times": 1})
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["detail"], body["slot"]) == (
        "conflict", "that greeting is taken", "10:00–11:00")


async def test_oversized_bodies_are_413_and_store_nothing(shell, token, platform_database):
    async with client(shell, token("head")) as http:
        declared = await http.post("/greetings", json={"text": "x" * 10_000, "times": 1})

        async def chunks():
            for _ in range(10):
                yield b"x" * 1000

        streamed = await http.post("/greetings", content=chunks(),
                                   headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert streamed.status_code == 413, streamed.text
    async with platform_database.transaction() as session:
        assert await session.scalar(
            sa.text("SELECT count(*) FROM effects WHERE length(payload) > 1000")) == 0


async def test_deeply_nested_json_is_a_4xx(shell, token):
    deep = b"[" * 3000 + b"]" * 3000
    async with client(shell, token("head")) as http:
        response = await http.post("/greetings", content=deep,
                                   headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500


async def test_text_no_database_can_hold_is_422_and_stores_nothing(shell, token,
                                                                   platform_database):
    """A NUL character (PostgreSQL cannot store it) or a lone surrogate (not text at all),
    anywhere: a field, a key, the query, the path."""

    def raw(body: dict) -> dict:  # ASCII escapes: "\u0000", "\ud800", as a client sends them
        return {"content": json.dumps(body).encode(),
                "headers": {"content-type": "application/json"}}

    async with client(shell, token("head")) as http:
        answers = {
            "NUL": await http.post("/greetings", **raw({"text": "hi\x00", "times": 1})),
            "surrogate": await http.post("/greetings", **raw({"text": "hi\ud800", "times": 1})),
            "in a key": await http.post("/greetings",
                                        **raw({"text": "hi", "times": 1, "a\x00": 1})),
            "in a list": await http.post("/greetings",
                                         **raw({"text": "hi", "times": 1, "x": ["\ud83d"]})),
            "in the query": await http.get("/health/live?who=a%00b"),
            "in the path": await http.get("/health/live%00"),
        }
        a_pair = await http.post("/greetings", **raw({"text": "hi \U0001f3be", "times": 1}))
    for what, answer in answers.items():
        assert answer.status_code == 422, what
        assert answer.json()["code"] == "invalid_text", what
    assert "text" in answers["NUL"].json()["detail"]
    assert "surrogate" in answers["surrogate"].json()["detail"]
    assert a_pair.status_code == 201  # a surrogate pair is an ordinary character: 🎾
    assert a_pair.json()["text"] == "hi \U0001f3be"
    async with platform_database.transaction() as session:
        assert await session.scalar(sa.text(
            "SELECT count(*) FROM effects WHERE consumer = 'greet' AND payload <> 'hi \U0001f3be' "
            "AND payload LIKE 'hi%'")) == 0


async def test_json_nested_deeper_than_any_request_needs_is_422(shell, token):
    def nested(depth: int) -> bytes:
        return b'{"text": "hi", "times": 1, "x": ' + b"[" * depth + b"]" * depth + b"}"

    async with client(shell, token("head")) as http:
        shallow = await http.post("/greetings", content=nested(MAX_JSON_DEPTH - 2),
                                  headers={"content-type": "application/json"})
        deep = await http.post("/greetings", content=nested(MAX_JSON_DEPTH + 5),
                               headers={"content-type": "application/json"})
    assert shallow.status_code == 201  # the extra field is ignored by this model
    assert deep.status_code == 422
    assert "nested more than" in deep.json()["detail"]


def test_route_access_reads_who_may_call_each_route(platform_settings_for_docs):
    app = create_app(runtime=ServiceRuntime(platform_settings_for_docs),
                     routers=[build_router(), _extra_router()], title="t", description="d")
    found = {(e.method, e.path): e.roles for e in route_access(app)}
    assert found[("POST", "/greetings")] == {Role.HEAD, Role.DEPUTY}
    assert found[("GET", "/whoami")] == set(Role)  # authenticated, any role
    assert found[("DELETE", "/nested")] == {Role.HEAD}  # both checks must pass
    for public in ("/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"):
        assert found[("GET", public)] is None


def _extra_router() -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_roles(Role.HEAD, Role.HR_ADMIN))])

    @router.delete("/nested")
    async def nested(_: Principal = Depends(require_roles(Role.HEAD, Role.DEPUTY))) -> dict:
        return {}

    plain = APIRouter()

    @plain.get("/whoami")
    async def whoami(principal: Principal = Depends(authenticated)) -> dict:
        return {"role": principal.role}

    outer = APIRouter()
    outer.include_router(router)
    outer.include_router(plain)
    return outer


async def test_an_idempotency_key_replays_the_first_response_even_under_concurrency(
    shell, token, platform_database
):
    head = token("head", subject=uuid4())
    key = f"greet-{uuid4()}"
    async with client(shell, head) as http:
        responses = await asyncio.gather(*[
            http.post("/greetings", json={"text": "hello", "times": 2},
                      headers={"Idempotency-Key": key}) for _ in range(8)
        ])
        reused = await http.post("/greetings", json={"text": "other", "times": 1},
                                 headers={"Idempotency-Key": key})
    assert {r.status_code for r in responses} == {201, 200} or {r.status_code for r in
                                                                 responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert reused.status_code == 422
    assert "different request" in reused.json()["detail"]
    async with platform_database.transaction() as session:
        stored = await session.scalar(sa.text(
            "SELECT count(*) FROM effects WHERE event_id = :e"), {"e": responses[0].json()["id"]})
    assert stored == 1


async def test_health_and_metrics(shell):
    async with client(shell) as http:
        ready = await http.get("/health/ready")
        metrics = await http.get("/metrics")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "up"
    assert 'club_http_requests_total{method="POST",route="/greetings"' in metrics.text


def test_secrets_have_no_defaults(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ValueError, match="name the identity provider"):
        ServiceSettings(service_name="x", database_url="postgresql+asyncpg://x@h/d",
                        kafka_bootstrap_servers="h:1")


def test_production_refuses_the_shared_secret_and_takes_the_provider():
    common = {"service_name": "x", "database_url": "postgresql+asyncpg://x@h/d",
              "kafka_bootstrap_servers": "h:1", "environment": "production"}
    with pytest.raises(ValueError, match="for local operators and tests"):
        ServiceSettings(**common, jwt_secret="s" * 64)
    with pytest.raises(ValueError, match="for local operators and tests"):
        ServiceSettings(**common, jwt_secret="s" * 64, oidc_issuer="https://sso.example/realms/c")
    settings = ServiceSettings(**common, oidc_issuer="https://sso.example/realms/club")
    assert settings.jwt_secret is None and settings.oidc_issuer.endswith("/club")


class _Assets(HTMLParser):
    """The scripts, styles and icons a page asks its browser to load."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(found["src"])
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"])


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_api_pages_load_everything_from_the_service_itself(shell, page):
    """A back office with no internet still sees its API pages: every script and style the
    page asks for is served by the service, none by a public CDN."""
    async with client(shell) as http:
        html = await http.get(page)
        assert html.status_code == 200
        assets = _Assets()
        assets.feed(html.text)
        assert assets.urls, "the page loads no script at all"
        for url in assets.urls:
            assert url.startswith("/docs/assets/"), f"{page} loads {url} from elsewhere"
            asset = await http.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
    assert "/openapi.json" in html.text  # and what it shows is the service's own API
    assert "cdn.jsdelivr.net" not in html.text and "fonts.googleapis.com" not in html.text
