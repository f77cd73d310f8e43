"""build_app(settings): the console's composition root."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from club_console import i18n, signin
from club_console.pages import routers
from club_console.services import Problem, ServiceDown, Services
from club_console.sessions import SessionStore
from club_console.settings import ConsoleSettings
from club_console.web import (
    MENUS,
    SERVICE_NAMES,
    BadForm,
    Console,
    SignInNeeded,
    Visit,
    error_id,
    make_templates,
    sign_in_url,
    use_languages,
    visit,
)

log = logging.getLogger("club_console")


class SecurityHeaders:
    """Every answer: a strict Content-Security-Policy (scripts and styles only from the
    console itself, no inline code, forms only to the console and the sign-in provider), no
    framing, no MIME sniffing, no referrer leaving the site; pages are not cached (they hold
    personal data)."""

    def __init__(self, app: ASGIApp, *, provider: str) -> None:
        self.app = app
        origin = "/".join(provider.split("/")[:3])
        self.policy = ("default-src 'none'; script-src 'self'; style-src 'self'; "
                       "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                       f"form-action 'self' {origin}; frame-ancestors 'none'; "
                       "base-uri 'none'").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", self.policy),
                            (b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"same-origin")]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def build_app(settings: ConsoleSettings) -> FastAPI:
    languages = i18n.Languages(strict=settings.i18n_strict, zone=settings.zone)
    use_languages(languages)
    folder = str(resources.files("club_console") / "templates")
    console = Console(
        templates=make_templates(languages, folder), languages=languages,
        sessions=SessionStore(idle_seconds=settings.session_idle_minutes * 60,
                              max_seconds=settings.session_max_hours * 3600),
        services=Services(settings), secure_cookies=settings.secure_cookies,
        tokens=signin.Tokens(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await console.services.close()

    app = FastAPI(title="Club console", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.console = console
    app.state.settings = settings
    app.add_middleware(SecurityHeaders, provider=settings.oidc_issuer)
    app.mount("/static", StaticFiles(directory=str(resources.files("club_console") / "static")),
              name="static")

    # The console holds nothing that can fail on its own: ready as soon as it serves (a
    # service that is down shows on the pages that need it, not as a console outage).
    @app.get("/health/live", include_in_schema=False)
    @app.get("/health/ready", include_in_schema=False)
    async def live() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/")
    async def home(visit: Visit = Depends(visit)):
        person = visit.person
        if person is None:
            return visit.render("welcome.html")
        return visit.redirect(MENUS[person.role][0][0])

    @app.get("/language")
    async def language(to: str = "zh_CN", next: str | None = None):
        response = RedirectResponse(signin.safe_next(next), status_code=303)
        if to in i18n.LANGUAGES:
            response.set_cookie(i18n.COOKIE, to, max_age=365 * 86400, samesite="lax",
                                secure=settings.secure_cookies, httponly=True)
        return response

    app.include_router(signin.router)
    for router in routers():
        app.include_router(router)

    def page_for(request: Request) -> Visit:
        return Visit(request, console)

    @app.exception_handler(SignInNeeded)
    async def needs_sign_in(request: Request, e: SignInNeeded):
        page = page_for(request)
        if request.headers.get("accept") == "text/event-stream":
            return PlainTextResponse("sign in again", status_code=401)
        return page.redirect(sign_in_url(e.back_to))

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, _e: BadForm):
        page = page_for(request)
        return page.render("error.html", status=403, title=page._("Form refused"),
                           message=page._("This form has expired or did not come from this "
                                          "console. Open the page again and send it from "
                                          "there."))

    @app.exception_handler(Problem)
    async def refused(request: Request, e: Problem):
        page = page_for(request)
        titles = {401: page._("Sign in again"), 403: page._("Not for your role"),
                  404: page._("Not found"), 409: page._("Not possible now"),
                  410: page._("No longer available")}
        return page.render("error.html", status=e.status,
                           title=titles.get(e.status, page._("Not accepted")),
                           message=e.detail, service=page._(SERVICE_NAMES[e.service]))

    @app.exception_handler(ServiceDown)
    async def down(request: Request, e: ServiceDown):
        page = page_for(request)
        return page.render("error.html", status=503, title=page._("Service unavailable"),
                           message=page._("The {service} service is not answering right now. "
                                          "The rest of the console still works; try this page "
                                          "again in a minute.").format(
                               service=page._(SERVICE_NAMES[e.service])))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        page = page_for(request)
        title = page._("Not found") if e.status_code == 404 else page._("Not accepted")
        return page.render("error.html", status=e.status_code, title=title,
                           message=page._("There is no such page.") if e.status_code == 404
                           else page._("The request was not accepted."))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        page = page_for(request)
        fields = ", ".join(".".join(str(p) for p in err["loc"][1:]) for err in e.errors()[:5])
        return page.render("error.html", status=422, title=page._("Not accepted"),
                           message=page._("These values are not valid: {fields}").format(
                               fields=fields))

    @app.exception_handler(Exception)
    async def failed(request: Request, e: Exception):
        reference = error_id()
        log.exception("page failed (reference %s)", reference)
        page = page_for(request)
        return page.render("error.html", status=500, title=page._("Something went wrong"),
                           message=page._("The page could not be shown. The error is logged "
                                          "under reference {reference}.").format(
                               reference=reference))

    return app
