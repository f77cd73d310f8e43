"""The HTTP shell every service shares (docs/authorization.md): FastAPI app with OpenAPI at /docs,
/health/live, /health/ready, /metrics, problem-details errors (never a 500 for bad input),
a request-body limit, a guard against text no service can store, tracing and JSON access
logs."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import fastapi_offline
from club_platform.auth import TokenVerifier
from club_platform.consumer import is_outage
from club_platform.errors import ClubError
from club_platform.logs import configure_logging
from club_platform.runtime import ServiceRuntime
from club_platform.tracing import configure_tracing, span
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("club.http")

REQUESTS = Counter("club_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("club_http_request_seconds", "HTTP request time", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
PROBLEM = "application/problem+json"


def problem(status: int, detail: str, code: str, **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": code.replace("_", " "), "status": status,
            "code": code, "detail": detail, **extra}
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, whether or not they say their size."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = f"the request body is over {self.limit} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await problem(413, too_large, "payload_too_large")(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                # An HTTPException passes through FastAPI's body parsing to our handler.
                raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)


MAX_JSON_DEPTH = 32  # no request of any service nests more than a few levels


class UnstorableText(ValueError):
    """Request input that PostgreSQL cannot store and UTF-8 cannot encode."""


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise UnstorableText(f"{where}: contains a NUL character (\\u0000), which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableText(f"{where}: contains a lone UTF-16 surrogate, which is not text; "
                             "send the character itself or a complete surrogate pair") from None


def _check_json(value: Any, where: str = "body", depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise UnstorableText(f"{where}: the JSON is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, f"{where}: a key")
            _check_json(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1)


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True  # FastAPI reads a body without a content type as JSON
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/")
                                             and media.endswith(b"+json"))


class TextGuard:
    """Refuse, with 422, text that no service can keep: a NUL character (PostgreSQL text and
    JSONB cannot hold it) or a lone surrogate (not Unicode text; UTF-8 cannot encode it), in
    the path, the query or anywhere in a JSON body, and JSON nested deeper than any request
    needs. Caught here once, a service never fails on it half-way (a 500) nor seals it
    into an encrypted field where no constraint would see it. Sits inside BodyLimit, so a
    body it reads is already known to be small."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            _check_text(scope["path"], "the path")
            query = unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" "))
            if b"\x00" in query:
                raise UnstorableText("the query: contains a NUL character (%00)")
        except UnstorableText as e:
            return await problem(422, str(e), "invalid_text")(scope, receive, send)
        headers = dict(scope["headers"])
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS") or not _is_json(
                headers.get(b"content-type")):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        try:
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
        except HTTPException as e:  # BodyLimit: over the limit
            return await problem(e.status_code, str(e.detail), "payload_too_large")(
                scope, receive, send)
        body = b"".join(chunks)
        try:
            _check_json(json.loads(body), "body")
        except UnstorableText as e:
            return await problem(422, str(e), "invalid_text")(scope, receive, send)
        except RecursionError:
            return await problem(
                422, f"body: the JSON is nested more than {MAX_JSON_DEPTH} levels deep",
                "invalid_text")(scope, receive, send)
        except ValueError:
            pass  # not JSON (or not UTF-8): FastAPI answers 422 and says where

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Observe:
    """A span per request (continuing an incoming `traceparent`), and request metrics by
    route template. Pure ASGI: no extra task per request, exceptions pass through as-is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500
        incoming = dict(scope["headers"]).get(b"traceparent")

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with span(f"{scope['method']} {scope['path']}", "club.http",
                      {"traceparent": incoming.decode("latin-1")} if incoming else None):
                await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, status).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@functools.cache
def offline_redoc_script() -> bytes:
    """fastapi_offline's ReDoc bundle, its one image from the internet replaced."""
    script = (Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js").read_text(
        encoding="utf-8")
    if REDOC_LOGO not in script:
        log.warning("ReDoc's bundle no longer names %s; served as it is", REDOC_LOGO)
    return script.replace(REDOC_LOGO, EMPTY_IMAGE).encode()


def create_app(*, runtime: ServiceRuntime, routers: Sequence[APIRouter], title: str,
               description: str, version: str = "1.0.0") -> FastAPI:
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        log.info("%s started", settings.service_name)
        try:
            yield
        finally:
            await runtime.stop()
            log.info("%s stopped", settings.service_name)

    # The API pages' scripts and styles come from the service itself, not a public CDN: a
    # club's back office (and this project's CI) may have no internet, and /docs was blank.
    app = FastAPIOffline(title=title, description=description, version=version,
                         lifespan=lifespan, docs_url="/docs", redoc_url=None,
                         openapi_url="/openapi.json", static_url="/docs/assets")

    # ReDoc's bundle shows Redocly's logo from Redocly's CDN in its menu: /redoc serves the
    # bundle with that one image made an empty local one, so the page needs nothing outside.
    @app.get("/redoc", include_in_schema=False)
    async def redoc_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}/openapi.json", title=f"{title} - ReDoc",
                              redoc_js_url=f"{root}/docs/assets/redoc.offline.js",
                              with_google_fonts=False,
                              redoc_favicon_url=f"{root}/docs/assets/favicon.png")

    @app.get("/docs/assets/redoc.offline.js", include_in_schema=False)
    async def redoc_script() -> Response:
        return Response(offline_redoc_script(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})

    # Ahead of the /docs/assets mount, which would otherwise answer it (404).
    app.router.routes.insert(0, app.router.routes.pop())

    app.state.runtime = runtime
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier.from_settings(settings)

    app.add_middleware(TextGuard)
    app.add_middleware(BodyLimit, limit=settings.http_max_body_bytes)
    app.add_middleware(Observe)  # outermost: it also counts what BodyLimit refuses

    @app.exception_handler(ClubError)
    async def club_error(_request: Request, error: ClubError) -> JSONResponse:
        response = problem(error.status, error.detail, error.code, **error.extra)
        if error.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body") or "body",
             "problem": e["msg"]}
            for e in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:5])
        return problem(422, detail or "the request is not valid", "invalid_request",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail),
                       {404: "not_found", 405: "method_not_allowed",
                        413: "payload_too_large"}.get(error.status_code, "http_error"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        if is_outage(error):
            log.warning("database unavailable during %s %s: %s", request.method,
                        request.url.path, error)
            return problem(503, "the service's database is unavailable; try again shortly",
                           "unavailable")
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return problem(500, "an unexpected error happened; it has been logged", "internal_error")

    health = APIRouter(tags=["health"])

    @health.get("/health/live", summary="The process is up")
    async def live() -> dict:
        return {"status": "alive", "service": settings.service_name}

    @health.get("/health/ready", summary="The database (and Kafka) answer",
                responses={503: {"description": "not ready"}})
    async def ready() -> JSONResponse:
        database = await runtime.database_ready()
        kafka = await runtime.kafka_ready()
        ok = database and (kafka or not settings.ready_requires_kafka)
        body = {
            "status": "ready" if ok else "not_ready",
            "service": settings.service_name,
            "checks": {"database": "up" if database else "down",
                       "kafka": "up" if kafka else "down"},
            "relay_leader": bool(runtime.relay and runtime.relay.is_leader),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @health.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(health)
    for router in routers:
        app.include_router(router)
    return app
