"""Issue 9, scenario 7: the authorisation matrix, against the four services as real processes.

Every endpoint of every service (found by walking each app's routes, the same list that
docs/authorization.md is generated from) is called once per role, and once each with no
token, an expired token, a forged one and other broken credentials:

- a role the route does not admit gets 403, a role it admits gets past the door (neither 401
  nor 403: the request may still be refused for what it says, 404 or 422);
- every request without a valid token gets 401 with `WWW-Authenticate: Bearer`, except on
  the endpoints listed in PUBLIC, which are public on purpose;
- nothing answers 5xx.

Requests carry the smallest thing that looks valid: each UUID in the path is the caller's own
id (so "own records" checks inside a handler are passed, not tripped), a body is `{}`, and
CRM reads state a purpose. Member isolation and the audit of personal-data reads, which need
real records, are in test_own_records.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cache
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
import pytest_asyncio
from club_platform.auth import Role, RouteAccess, issue_token

from .support import ROOT, SERVICES, endpoints

DOC_PAGES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
             ("GET", "/redoc"), ("GET", "/docs/assets/redoc.offline.js")}
PROBES = {("GET", "/health/live"), ("GET", "/health/ready"), ("GET", "/metrics")}
# Public on purpose, and nothing else: the survey link is the credential of its form
# (services/crm/README.md), so a customer answers without an account; the unsubscribe link
# in a message is likewise the credential of its one click.
PUBLIC = {
    "booking": DOC_PAGES | PROBES,
    "reception": DOC_PAGES | PROBES,
    "crm": DOC_PAGES | PROBES | {("GET", "/surveys/respond/{token}"),
                                 ("POST", "/surveys/respond/{token}"),
                                 ("GET", "/notifications/unsubscribe/{token}"),
                                 ("POST", "/notifications/unsubscribe/{token}")},
    "hr": DOC_PAGES | PROBES,
}
PURPOSE = {"X-Access-Purpose": "customer_request"}  # CRM reads of personal data need one
PROTECTED = [(service, endpoint) for service in SERVICES for endpoint in endpoints(service)
             if endpoint.roles is not None]


def _id(case: tuple[str, RouteAccess]) -> str:
    service, endpoint = case
    return f"{service} {endpoint.method} {endpoint.path}"


@cache
def _operations(service: str) -> dict:
    return json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())["paths"]


def _path_value(schema: dict, subject: UUID) -> str:
    if schema.get("format") == "uuid":
        return str(subject)  # the caller's own id: own-record checks pass
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("format") == "date":
        return "2030-01-07"
    if schema.get("type") == "integer":
        return "1"
    return "x"


def request_for(service: str, endpoint: RouteAccess, subject: UUID) -> tuple[str, str, dict]:
    """The method, path and httpx arguments of a minimal, valid-looking request."""
    # the OpenAPI pages themselves are not in the document: no parameters, no body
    operation = _operations(service).get(endpoint.path, {}).get(endpoint.method.lower(), {})
    path = endpoint.path
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}",
                                _path_value(parameter["schema"], subject))
    kwargs: dict = {"headers": dict(PURPOSE) if service == "crm" else {}}
    if "requestBody" in operation:
        kwargs["json"] = {}
    return endpoint.method, path, kwargs


# ------------------------------------------------------------------------ the matrix itself


def test_only_the_listed_endpoints_are_public():
    for service in SERVICES:
        public = {(e.method, e.path) for e in endpoints(service) if e.roles is None}
        assert public == PUBLIC[service], f"{service}: public endpoints changed"


def test_the_matrix_covers_every_documented_operation():
    for service in SERVICES:
        documented = {(method.upper(), path) for path, operations in _operations(service).items()
                      for method in operations}
        found = {(e.method, e.path) for e in endpoints(service)}
        assert documented == found - DOC_PAGES, service
        assert all(e.roles for e in endpoints(service) if e.roles is not None), \
            f"{service}: a route admits no role at all"


async def _send(http: httpx.AsyncClient, base: str, method: str, path: str, kwargs: dict,
                authorization: str | None) -> httpx.Response:
    headers = dict(kwargs.get("headers", {}))
    if authorization is not None:
        headers["Authorization"] = authorization
    return await http.request(method, base + path, **{**kwargs, "headers": headers})


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def tally(fault_report):
    """What the matrix sent and got, for the table in docs/security.md."""
    counts = {"endpoints": set(), "requests": 0, "5xx": 0}
    yield counts
    if counts["requests"]:
        fault_report("7. authorisation matrix", f"{len(counts['endpoints'])} endpoints × "
                     f"(6 roles + 8 broken credentials): {counts['requests']} requests",
                     "every role; no, expired, forged, unsigned, foreign, unknown-role token",
                     lost=0, duplicated=0, server_errors=counts["5xx"],  # no retries
                     note="plus member isolation and the PII audit (test_own_records.py)")


def _count(tally, service: str, endpoint: RouteAccess, responses) -> None:
    tally["endpoints"].add((service, endpoint.method, endpoint.path))
    tally["requests"] += len(responses)
    tally["5xx"] += sum(r.status_code >= 500 for r in responses)


@pytest.mark.parametrize("case", PROTECTED, ids=[_id(c) for c in PROTECTED])
async def test_each_role_gets_what_the_matrix_says(club, subjects, token, http, tally, case):
    service, endpoint = case

    async def as_role(role: Role) -> tuple[Role, httpx.Response]:
        method, path, kwargs = request_for(service, endpoint, subjects[role])
        bearer = f"Bearer {token(role, subject=subjects[role])}"
        return role, await _send(http, club[service].url, method, path, kwargs, bearer)

    answers = await asyncio.gather(*(as_role(role) for role in Role))
    _count(tally, service, endpoint, [r for _, r in answers])
    wrong = []
    for role, response in answers:
        allowed = role in endpoint.roles
        status = response.status_code
        if status >= 500 or (allowed and status in (401, 403)) or (not allowed and status != 403):
            wrong.append(f"{role.value} ({'allowed' if allowed else 'not allowed'}): {status} "
                         f"{response.text[:200]}")
    assert not wrong, "\n".join(wrong)


def _bad_credentials(secret: str) -> dict[str, str | None]:
    """Authorization headers that must never get anyone in."""
    subject = uuid4()
    now_claims = {"sub": str(subject), "role": "head", "iss": "club", "aud": "club-services"}
    return {
        "no token": None,
        # well past the 30 s of clock skew the services allow
        "expired": "Bearer " + issue_token(secret, subject=subject, role=Role.HEAD,
                                           ttl=-timedelta(minutes=5)),
        "wrong signature": "Bearer " + issue_token("not-the-club-secret-" + "x" * 24,
                                                   subject=subject, role=Role.HEAD),
        "unsigned (alg none)": "Bearer " + jwt.encode(
            {**now_claims, "exp": 4102444800}, key=None, algorithm="none"),
        "another audience": "Bearer " + issue_token(secret, subject=subject, role=Role.HEAD,
                                                    audience="someone-else"),
        "an unknown role": "Bearer " + jwt.encode(
            {**now_claims, "role": "owner", "exp": 4102444800}, secret, algorithm="HS256"),
        "not a JWT": "Bearer not-a-token",
        "basic auth": "Basic aGVhZDpoZWFk",
    }


@pytest.mark.parametrize("case", PROTECTED, ids=[_id(c) for c in PROTECTED])
async def test_without_a_valid_token_nothing_but_401(club, subjects, jwt_secret, http, tally,
                                                     case):
    service, endpoint = case
    method, path, kwargs = request_for(service, endpoint, subjects[Role.HEAD])
    credentials = _bad_credentials(jwt_secret)
    answers = await asyncio.gather(*(
        _send(http, club[service].url, method, path, kwargs, header)
        for header in credentials.values()))
    _count(tally, service, endpoint, answers)
    wrong = [f"{what}: {r.status_code} {r.text[:200]}"
             for what, r in zip(credentials, answers, strict=True)
             if r.status_code != 401 or r.headers.get("WWW-Authenticate") != "Bearer"
             or r.json().get("code") != "unauthorized"]
    assert not wrong, "\n".join(wrong)


PUBLIC_CASES = [(s, e) for s in SERVICES for e in endpoints(s) if e.roles is None]


@pytest.mark.parametrize("case", PUBLIC_CASES, ids=[_id(c) for c in PUBLIC_CASES])
async def test_public_endpoints_answer_without_a_token(club, subjects, http, case):
    service, endpoint = case
    method, path, kwargs = request_for(service, endpoint, subjects[Role.MEMBER])
    response = await _send(http, club[service].url, method, path, kwargs, None)
    # the survey form with a link that is not ours: 404 (or 422 for a bad answer), never 401
    assert response.status_code < 500 and response.status_code not in (401, 403), response.text
