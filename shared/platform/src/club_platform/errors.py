"""Errors a service raises on purpose, and how HTTP shows them: RFC 9457 problem details
with a status, a stable `code` and a sentence a person can act on. Never a 500 for bad input."""

from __future__ import annotations

from typing import Any


class ClubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        return {"type": "about:blank", "title": self.code.replace("_", " "),
                "status": self.status, "code": self.code, "detail": self.detail, **self.extra}


class Invalid(ClubError):
    """The request is well-formed but breaks a rule (end before start, over capacity…)."""

    status = 422
    code = "invalid"


class NotFound(ClubError):
    status = 404
    code = "not_found"


class Conflict(ClubError):
    """The request clashes with the current state (a double booking, a closed complaint…)."""

    status = 409
    code = "conflict"


class Unauthorized(ClubError):
    status = 401
    code = "unauthorized"


class Forbidden(ClubError):
    status = 403
    code = "forbidden"


class Unavailable(ClubError):
    """A dependency is down: try again later (503, with Retry-After)."""

    status = 503
    code = "unavailable"
