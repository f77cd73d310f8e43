"""The four services as the console calls them: over HTTP, with the signed-in person's own
token. A service's answer is the truth: its 4xx problem is shown next to the form field it
names, its 403 is the page's refusal, and a service that does not answer makes only its own
part of a page say so."""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx

from club_console.settings import SERVICES, ConsoleSettings

# The time a request spent waiting for the services (seconds, calls), for its Server-Timing
# header: what a page costs beside what its API calls cost.
spent: ContextVar[list[float] | None] = ContextVar("club_console_api_time", default=None)


class ServiceDown(Exception):
    """The service did not answer, or answered that it cannot serve now (5xx)."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


@dataclass
class Problem(Exception):
    """A 4xx answer (RFC 9457 problem JSON): its sentence, and the fields it names."""

    service: str
    status: int
    detail: str
    code: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.service} {self.status}: {self.detail}"


def _problem(service: str, response: httpx.Response) -> Problem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    fields: dict[str, str] = {}
    # Validation problems list their fields ({"field": "body.name" or "query.date", …}).
    for error in body.get("errors") or []:
        if isinstance(error, dict) and error.get("field"):
            name = str(error["field"]).split(".")[-1]
            fields.setdefault(name, str(error.get("problem") or ""))
    if isinstance(body.get("field"), str):
        fields.setdefault(body["field"], detail)
    return Problem(service, response.status_code, detail, str(body.get("code") or ""), fields)


class Services:
    def __init__(self, settings: ConsoleSettings) -> None:
        self._http = httpx.AsyncClient(timeout=settings.service_timeout_seconds,
                                       limits=httpx.Limits(max_connections=100))
        self._base = {s: settings.service_url(s) for s in SERVICES}

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, service: str, method: str, path: str, token: str | None, *,
                   params: dict[str, Any] | None = None, json: Any = None,
                   idempotent: bool = False) -> Any:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if idempotent:
            # A form sent twice (a double click, a retry after a timeout) creates once.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        if params:
            params = {k: v for k, v in params.items() if v not in (None, "")}
        started = time.perf_counter()
        try:
            response = await self._http.request(method, self._base[service] + path,
                                                params=params, json=json, headers=headers)
        except httpx.HTTPError as e:
            raise ServiceDown(service, type(e).__name__) from e
        finally:
            tally = spent.get()
            if tally is not None:
                tally[0] += time.perf_counter() - started
                tally[1] += 1
        if response.status_code >= 500:
            raise ServiceDown(service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise _problem(service, response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, service: str, path: str, token: str | None, **params: Any) -> Any:
        return await self.call(service, "GET", path, token, params=params)

    async def post(self, service: str, path: str, token: str | None, json: Any = None, *,
                   idempotent: bool = True) -> Any:
        return await self.call(service, "POST", path, token, json=json, idempotent=idempotent)
