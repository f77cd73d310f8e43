"""Authentication and authorisation (BLUEPRINT §5): JWT bearer tokens carrying a role.

Roles come from the regulations: `head` (department head / supervisor, R1 §2.1, R2 §2.1),
`deputy` (R2 §2.1), `attendant` (service staff, R1 §2.3, R2 §2.3), `crm_specialist`
(R1 §2.4), `hr_admin`, and `member` (a customer booking online, R1 §3.1). `sub` is the staff
member's id, or for a member their customer id.

    @router.get("/bookings/{id}")
    async def read(principal: Principal = Depends(require_roles(*STAFF, MEMBER))): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

import jwt
from club_platform.errors import Forbidden, Unauthorized
from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


class Role(StrEnum):
    HEAD = "head"
    DEPUTY = "deputy"
    ATTENDANT = "attendant"
    CRM_SPECIALIST = "crm_specialist"
    HR_ADMIN = "hr_admin"
    MEMBER = "member"


STAFF_ROLES = (Role.HEAD, Role.DEPUTY, Role.ATTENDANT, Role.CRM_SPECIALIST, Role.HR_ADMIN)
SUPERVISORS = (Role.HEAD, Role.DEPUTY)


@dataclass(frozen=True)
class Principal:
    id: UUID
    role: Role
    name: str | None = None

    @property
    def is_member(self) -> bool:
        return self.role is Role.MEMBER


class TokenVerifier:
    def __init__(self, *, algorithm: str, key: str, issuer: str, audience: str) -> None:
        self._algorithm = algorithm
        self._key = key
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_settings(cls, settings) -> TokenVerifier:
        key = (settings.jwt_secret.get_secret_value() if settings.jwt_algorithm.startswith("HS")
               else settings.jwt_public_key)
        return cls(algorithm=settings.jwt_algorithm, key=key, issuer=settings.jwt_issuer,
                   audience=settings.jwt_audience)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self._algorithm], issuer=self._issuer,
                audience=self._audience, options={"require": ["exp", "sub", "role"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as e:
            raise Unauthorized("the token has expired") from e
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"the token is not valid: {e}") from e
        try:
            return Principal(id=UUID(str(claims["sub"])), role=Role(claims["role"]),
                             name=claims.get("name"))
        except ValueError as e:
            raise Unauthorized("the token's subject or role is not recognised") from e


def issue_token(secret: str, *, subject: UUID, role: Role | str, name: str | None = None,
                ttl: timedelta = timedelta(hours=8), issuer: str = "club",
                audience: str = "club-services", algorithm: str = "HS256") -> str:
    """A signed token, for local development, the demo day and tests. Production tokens come
    from the club's identity provider."""
    now = datetime.now(UTC)
    claims = {"sub": str(subject), "role": str(Role(role)), "iss": issuer, "aud": audience,
              "iat": now, "exp": now + ttl}
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm=algorithm)


_bearer = HTTPBearer(auto_error=False, description="A JWT issued by the club's identity provider")


async def authenticated(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required")
    return request.app.state.token_verifier.verify(credentials.credentials)


def require_roles(*roles: Role):
    allowed = frozenset(roles)

    async def check(principal: Principal = Depends(authenticated)) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"the {principal.role.value} role may not do this (allowed: {names})")
        return principal

    check.allowed_roles = allowed  # read by the authorisation matrix (docs and tests)
    return check


@dataclass(frozen=True)
class RouteAccess:
    """Who may call one endpoint: `roles` is None for an endpoint that asks for no token."""

    method: str
    path: str
    roles: frozenset[Role] | None


def route_access(app: FastAPI) -> list[RouteAccess]:
    """Every endpoint of `app` with the roles that may call it, read from its dependencies
    (the authorisation matrix in docs/authorization.md and its tests): a route behind several
    `require_roles` checks admits the roles every one of them allows; a route that only
    authenticates admits every role; one with neither (health, metrics, the OpenAPI pages, …)
    is public. Checks of ownership inside a handler ("own records") are not seen here."""
    found = []
    for route in iter_route_contexts(app.routes):  # with the routes of included routers
        methods = sorted(set(route.methods or ()) - {"HEAD", "OPTIONS"})
        roles = _roles(route.dependant) if isinstance(route.original_route, APIRoute) else None
        found += [RouteAccess(method, route.path, roles) for method in methods]
    return found


def _roles(dependant: Dependant) -> frozenset[Role] | None:
    roles: frozenset[Role] | None = None
    for dependency in dependant.dependencies:
        allowed = getattr(dependency.call, "allowed_roles", None)
        if allowed is None and dependency.call is authenticated:
            allowed = frozenset(Role)
        inner = _roles(dependency)
        for found in (allowed, inner):
            if found is not None:
                roles = found if roles is None else roles & found
    return roles
