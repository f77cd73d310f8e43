"""Server-side sessions: the browser holds only a random id (an HttpOnly cookie); the tokens,
the CSRF token and the sign-in's PKCE verifier stay on the server.

They are kept in the process's memory, which is why the console runs as one replica
(deploy/helm: replicas 1): a restart signs everyone out, and each person signs in again and
returns to the page they were on. A shared store would let it scale out; one front desk does
not need it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from uuid import UUID

COOKIE = "club_console_session"
# Sessions never signed in (a survey link, the sign-in page) are cheap; cap them so a flood of
# anonymous visits cannot fill the memory: the oldest go first.
MAX_SESSIONS = 20_000


@dataclass
class Person:
    id: UUID
    role: str
    name: str | None


@dataclass
class Session:
    id: str
    csrf: str
    created: float
    seen: float
    person: Person | None = None
    access_token: str | None = None
    access_expires: float = 0
    refresh_token: str | None = None
    id_token: str | None = None
    # During sign-in: the PKCE verifier, the state and where to return.
    pending: dict[str, str] = field(default_factory=dict)
    # Messages shown once on the next page (after a redirect).
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        return self.person is not None


class SessionStore:
    def __init__(self, *, idle_seconds: float, max_seconds: float) -> None:
        self._idle = idle_seconds
        self._max = max_seconds
        self._sessions: dict[str, Session] = {}

    def new(self) -> Session:
        self._sweep()
        now = time.monotonic()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32),
                          created=now, seen=now)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = time.monotonic()
        if now - session.seen > self._idle or now - session.created > self._max:
            del self._sessions[session_id]
            return None
        session.seen = now
        return session

    def renew(self, session: Session) -> Session:
        """A new id for the same session (at sign-in): an id someone planted before cannot
        follow the person into their signed-in session."""
        self._sessions.pop(session.id, None)
        session.id = secrets.token_urlsafe(32)
        session.csrf = secrets.token_urlsafe(32)
        self._sessions[session.id] = session
        return session

    def end(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def _sweep(self) -> None:
        if len(self._sessions) < MAX_SESSIONS:
            return
        now = time.monotonic()
        for sid, s in list(self._sessions.items()):
            if now - s.seen > self._idle or now - s.created > self._max:
                del self._sessions[sid]
        while len(self._sessions) >= MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
