"""What every page of the console shares: the visit (session, language, the person's token),
rendering in the reader's language, forms checked for their CSRF token, and the pages that
say what went wrong — a refusal, a missing thing, a service that is down — without ever
showing a stack trace."""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from club_console import i18n
from club_console.services import Problem, ServiceDown, Services, spent
from club_console.sessions import COOKIE, Session, SessionStore

log = logging.getLogger("club_console")
T = TypeVar("T")

# Where each role's day starts, and the screens its menu shows (the services decide what
# each may do; the menu only spares people links that would be refused).
MENUS: dict[str, tuple[tuple[str, str], ...]] = {
    "attendant": (("/desk", i18n.N_("Front desk")), ("/bookings", i18n.N_("Bookings")),
                  ("/me", i18n.N_("Me"))),
    "head": (("/desk", i18n.N_("Front desk")), ("/bookings", i18n.N_("Bookings")),
             ("/crm", i18n.N_("Customer relations")), ("/people", i18n.N_("People")),
             ("/me", i18n.N_("Me"))),
    "deputy": (("/desk", i18n.N_("Front desk")), ("/bookings", i18n.N_("Bookings")),
               ("/crm", i18n.N_("Customer relations")), ("/people", i18n.N_("People")),
               ("/me", i18n.N_("Me"))),
    "crm_specialist": (("/crm", i18n.N_("Customer relations")), ("/me", i18n.N_("Me"))),
    "hr_admin": (("/people", i18n.N_("People")), ("/me", i18n.N_("Me"))),
    "member": (("/member", i18n.N_("My bookings")), ("/member/book", i18n.N_("Book")),
               ("/member/complaints", i18n.N_("My complaints"))),
}


class SignInNeeded(Exception):
    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


class BadForm(Exception):
    """A form without its CSRF token, or with another session's."""


@dataclass
class Console:
    """What the pages need, built once by app.build_app."""

    templates: Jinja2Templates
    languages: i18n.Languages
    sessions: SessionStore
    services: Services
    secure_cookies: bool
    tokens: Any  # signin.Tokens (refresh)


def make_templates(languages: i18n.Languages, folder: str) -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_callables(languages.gettext, languages.ngettext,  # type: ignore[attr-defined]
                                  newstyle=True)
    env.globals.update(when=languages.when, time=languages.time, day=languages.day,
                       number=languages.number, clause=languages.clause,
                       translated=lambda pairs: [(v, languages.gettext(t)) for v, t in pairs])
    return Jinja2Templates(env=env)


class Visit:
    """One request's view of the person: `Depends(visit)` in every page."""

    def __init__(self, request: Request, console: Console) -> None:
        self.request = request
        self.console = console
        self.started = time.perf_counter()
        if spent.get() is None:
            spent.set([0.0, 0])
        self.services = console.services
        store = console.sessions
        self._session = store.get(request.cookies.get(COOKIE))
        self._new_cookie = False
        self.language = i18n.Languages.choose(request.cookies.get(i18n.COOKIE),
                                              request.headers.get("accept-language"))
        console.languages.use(self.language)

    # --- the session

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.console.sessions.new()
            self._new_cookie = True
        return self._session

    @property
    def person(self):
        return self._session.person if self._session else None

    def here(self) -> str:
        url = self.request.url
        return url.path + (f"?{url.query}" if url.query else "")

    def require_person(self):
        if self.person is None:
            raise SignInNeeded(self.here() if self.request.method == "GET" else
                               self.request.headers.get("x-back-to", "/"))
        return self.person

    async def token(self) -> str:
        """The person's access token, refreshed when it is about to expire; when the
        provider will not refresh it (the session ended there), sign in again."""
        person = self.require_person()
        session = self.session
        if session.access_expires - time.time() < 20:
            if not await self.console.tokens.refresh(session):
                self.console.sessions.end(session)
                self._session = None
                raise SignInNeeded(self.here())
        assert person is not None and session.access_token
        return session.access_token

    def renew(self) -> None:
        self.console.sessions.renew(self.session)
        self._new_cookie = True

    def end(self) -> None:
        if self._session is not None:
            self.console.sessions.end(self._session)
            self._session = None

    def flash(self, message: str, kind: str = "ok") -> None:
        self.session.flashes.append((kind, message))

    def _(self, message: str) -> str:
        return self.console.languages.gettext(message)

    # --- calls to the services with the person's token

    async def get(self, service: str, path: str, **params: Any) -> Any:
        return await self.services.get(service, path, await self.token(), **params)

    async def post(self, service: str, path: str, json: Any = None, *,
                   idempotent: bool = True) -> Any:
        """A form's call: a service that does not answer is told beside the form, like a
        refusal, with what the person typed kept (nothing was done; they may send it again)."""
        try:
            return await self.services.post(service, path, await self.token(), json,
                                            idempotent=idempotent)
        except ServiceDown as e:
            raise Problem(service, 503, self._(
                "The {service} service is not answering right now; nothing was done. Send "
                "the form again in a minute.").format(
                    service=self._(SERVICE_NAMES[e.service]))) from e

    async def call(self, service: str, method: str, path: str, **kw: Any) -> Any:
        return await self.services.call(service, method, path, await self.token(), **kw)

    async def part(self, call: Awaitable[T]) -> tuple[T | None, str | None]:
        """One part of a page: its data, or the sentence to show in its place (a service down
        or refusing), so the rest of the page still renders."""
        try:
            return await call, None
        except ServiceDown as e:
            return None, self.down_message(e)
        except Problem as e:
            if e.status == 401:
                raise
            return None, e.detail

    async def main(self, call: Awaitable[T]) -> tuple[T | None, str | None]:
        """The part a page is for: a service down still leaves the page standing with the
        sentence in its place, but a refusal is the whole page's (the person may not see
        this screen)."""
        try:
            return await call, None
        except ServiceDown as e:
            return None, self.down_message(e)

    def down_message(self, e: ServiceDown) -> str:
        return self._("The {service} service is not answering right now; this part of the page "
                      "will return when it does.").format(service=self._(SERVICE_NAMES[e.service]))

    # --- forms

    async def form(self) -> FormData:
        """The posted form, refused unless it carries this session's CSRF token."""
        form = await self.request.form()
        sent = form.get("csrf_token") or self.request.headers.get("x-csrf-token") or ""
        if self._session is None or not isinstance(sent, str) or not secrets.compare_digest(
                sent.encode(), self._session.csrf.encode()):
            raise BadForm()
        return form

    # --- answers

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        session = self.session
        flashes, session.flashes = session.flashes, []
        person = session.person
        menu = MENUS.get(person.role, ()) if person else ()
        path = self.request.url.path
        # The screen the page belongs to: the longest menu entry it starts with.
        current = max((href for href, _ in menu if path == href or path.startswith(href + "/")),
                      key=len, default=None)
        response = self.console.templates.TemplateResponse(self.request, template, {
            "person": person, "menu": menu, "current": current,
            "csrf": session.csrf, "language": self.language, "here": self.here(),
            "flashes": flashes, "role_name": role_name, "status_name": status_name,
            **context}, status_code=status)
        return self.finish(response)

    def redirect(self, to: str) -> RedirectResponse:
        return self.finish(RedirectResponse(to, status_code=303))

    def finish(self, response: Response) -> Response:
        tally = spent.get()
        if tally is not None:
            # Server-Timing (W3C): the whole page and the part of it spent in the services
            # (summed over its calls; parallel calls overlap). Browsers show it in their tools.
            response.headers["server-timing"] = (
                f'page;dur={(time.perf_counter() - self.started) * 1000:.1f}, '
                f'api;dur={tally[0] * 1000:.1f};desc="{tally[1]} calls"')
        if self._new_cookie and self._session is not None:
            response.set_cookie(COOKIE, self._session.id, httponly=True, samesite="lax",
                                secure=self.console.secure_cookies, path="/")
        if self._session is None and COOKIE in self.request.cookies:
            response.delete_cookie(COOKIE, path="/")
        return response


SERVICE_NAMES = {"booking": i18n.N_("booking"), "reception": i18n.N_("reception"),
                 "crm": i18n.N_("customer relations"), "hr": i18n.N_("HR")}

ROLE_NAMES = {"head": i18n.N_("Head of department"), "deputy": i18n.N_("Deputy head"),
              "attendant": i18n.N_("Attendant"), "crm_specialist": i18n.N_("CRM specialist"),
              "hr_admin": i18n.N_("HR administrator"), "member": i18n.N_("Member")}

# The states the services answer with, as people read them.
STATUS_NAMES = {
    "booked": i18n.N_("booked"), "confirmed": i18n.N_("confirmed"),
    "cancelled": i18n.N_("cancelled"), "no_show": i18n.N_("no-show"),
    "checked_in": i18n.N_("checked in"), "in_service": i18n.N_("in service"),
    "completed": i18n.N_("completed"), "open": i18n.N_("open"),
    "acknowledged": i18n.N_("acknowledged"), "in_progress": i18n.N_("in progress"),
    "resolved": i18n.N_("resolved"), "closed": i18n.N_("closed"),
    "escalated": i18n.N_("escalated"), "decided": i18n.N_("decided"),
    "dismissed": i18n.N_("dismissed"), "appealed": i18n.N_("appealed"),
    "draft": i18n.N_("draft"), "reviewed": i18n.N_("reviewed"),
    "published": i18n.N_("published"), "pending": i18n.N_("pending"),
    "done": i18n.N_("done"), "overdue": i18n.N_("overdue"), "waiting": i18n.N_("waiting"),
    "arrived": i18n.N_("arrived"), "expected": i18n.N_("expected"),
    "planned": i18n.N_("planned"), "active": i18n.N_("active"),
    "suspended": i18n.N_("suspended"), "offboarded": i18n.N_("offboarded"),
    "upheld": i18n.N_("upheld"), "not_upheld": i18n.N_("not upheld"),
    "scheduled": i18n.N_("scheduled"), "sent": i18n.N_("sent"),
}


def role_name(role: str) -> str:
    return _gettext(ROLE_NAMES.get(role, role))


def status_name(status: str | None) -> str:
    if not status:
        return ""
    known = STATUS_NAMES.get(status)
    return _gettext(known) if known else status.replace("_", " ")


def _gettext(message: str) -> str:
    return _languages.gettext(message) if _languages else message


_languages: i18n.Languages | None = None


def use_languages(languages: i18n.Languages) -> None:
    """The catalogues the labels of API values are translated with (set by build_app)."""
    global _languages
    _languages = languages


def sign_in_url(back_to: str) -> str:
    return "/sign-in?" + urlencode({"next": back_to}, quote_via=quote)


def error_id() -> str:
    return uuid.uuid4().hex[:12]


async def visit(request: Request) -> Visit:
    """`visit: Visit = Depends(visit)` in every page. Async, so that it runs in the request's
    own task and the language it chooses (a context variable) is the one the page renders in
    (a plain function would run in a worker thread's copy of the context)."""
    return Visit(request, request.app.state.console)
