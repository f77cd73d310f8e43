"""Authentication and authorisation (docs/authorization.md): JWT bearer tokens carrying a role.

Roles come from the regulations: `head` (department head / supervisor, R1 §2.1, R2 §2.1),
`deputy` (R2 §2.1), `attendant` (service staff, R1 §2.3, R2 §2.3), `crm_specialist`
(R1 §2.4), `hr_admin`, and `member` (a customer booking online, R1 §3.1). `sub` is the staff
member's id, or for a member their customer id.

    @router.get("/bookings/{id}")
    async def read(principal: Principal = Depends(require_roles(*STAFF, MEMBER))): ...
"""

from __future__ import annotations

import json
import threading
import urllib.request
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
from starlette.concurrency import run_in_threadpool


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


# What a token from the club's OpenID Connect provider must carry (docs/security.md): `iss`
# (the configured issuer), `aud` containing the audience, `exp`, the platform role in `roles`
# (a list, e.g. Keycloak's realm roles) or `role` (a string), and the staff or customer id in
# `club_id`.
OIDC_ALGORITHMS = ("RS256", "ES256")
SUBJECT_CLAIM = "club_id"
# Clock skew allowed on the provider's tokens: small, because their lifetime is (≤ 5 minutes)
# and an offboarded person's token must die within it.
PROVIDER_LEEWAY = 5


class IssuerKeys:
    """The provider's signing keys, found through `<issuer>/.well-known/openid-configuration`.

    The key set is cached; a token signed with a key id not in the cache makes it fetch the
    set again (at most once per `refresh_cooldown` seconds, so a stream of made-up key ids
    cannot hammer the provider), which is how a key rotation reaches every service without a
    restart. A key the provider no longer publishes stops verifying when the cache expires."""

    def __init__(self, issuer: str, *, cache_seconds: float = 300, refresh_cooldown: float = 5,
                 timeout: float = 5) -> None:
        self.issuer = issuer
        self._cache_seconds = cache_seconds
        self._refresh_cooldown = refresh_cooldown
        self._timeout = timeout
        self._client: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _jwks(self) -> jwt.PyJWKClient:
        with self._lock:
            if self._client is None:
                url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                try:
                    with urllib.request.urlopen(url, timeout=self._timeout) as response:
                        discovery = json.load(response)
                except (OSError, ValueError) as e:
                    raise Unauthorized(f"the identity provider cannot be reached: {e}") from e
                if discovery.get("issuer") != self.issuer:
                    raise Unauthorized("the identity provider's discovery document names "
                                       "another issuer")
                self._client = jwt.PyJWKClient(
                    discovery["jwks_uri"], cache_jwk_set=True, lifespan=self._cache_seconds,
                    timeout=self._timeout, cooldown_duration=self._refresh_cooldown)
            return self._client

    def key_for(self, token: str) -> jwt.PyJWK:
        try:
            return self._jwks().get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as e:
            raise Unauthorized("the identity provider's keys cannot be fetched") from e
        except jwt.PyJWKClientError as e:
            raise Unauthorized("the token is signed with a key the issuer does not publish") from e


class TokenVerifier:
    """Bearer tokens from the club's OpenID Connect provider (asymmetric, keys from its
    JWKS) and, outside production, tokens signed with the local shared secret (`club token`,
    the demo day, tests). Which path a token takes is decided by its `alg` header, and each
    path accepts only its own algorithms: `none` is refused, and an HS256 token signed with
    the provider's public key as a "secret" meets the shared secret, not the public key."""

    def __init__(self, *, algorithm: str, key: str | None, issuer: str, audience: str,
                 oidc: IssuerKeys | None = None) -> None:
        self._algorithm = algorithm
        self._key = key
        self._issuer = issuer
        self._audience = audience
        self._oidc = oidc

    @classmethod
    def from_settings(cls, settings) -> TokenVerifier:
        if settings.jwt_algorithm.startswith("HS"):
            key = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        else:
            key = settings.jwt_public_key
        oidc = None
        if settings.oidc_issuer:
            oidc = IssuerKeys(settings.oidc_issuer, cache_seconds=settings.oidc_keys_cache_seconds,
                              refresh_cooldown=settings.oidc_keys_refresh_cooldown_seconds)
        return cls(algorithm=settings.jwt_algorithm, key=key, issuer=settings.jwt_issuer,
                   audience=settings.jwt_audience, oidc=oidc)

    @property
    def uses_provider(self) -> bool:
        return self._oidc is not None

    def is_local(self, token: str) -> bool:
        """A shared-secret token: verified without any network, so on the event loop."""
        try:
            return jwt.get_unverified_header(token).get("alg") == self._algorithm
        except jwt.InvalidTokenError:
            return True  # refused at once by verify(), no key fetched

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"the token is not valid: {e}") from e
        algorithm = header.get("alg")
        if self._oidc is not None:
            try:
                stated = jwt.decode(token, options={"verify_signature": False}).get("iss")
            except jwt.InvalidTokenError as e:
                raise Unauthorized(f"the token is not valid: {e}") from e
            if stated == self._oidc.issuer and algorithm not in OIDC_ALGORITHMS:
                raise Unauthorized(f"tokens of {stated} must be signed with "
                                   f"{' or '.join(OIDC_ALGORITHMS)}, not {algorithm!r}")
            if algorithm in OIDC_ALGORITHMS and stated != self._oidc.issuer:
                raise Unauthorized("the token is from another issuer")
        if self._oidc is not None and algorithm in OIDC_ALGORITHMS:
            return self._verify_provider_token(token, algorithm)
        if self._key is not None and algorithm == self._algorithm:
            return self._verify_local_token(token)
        accepted = [*(OIDC_ALGORITHMS if self._oidc else ()),
                    *((self._algorithm,) if self._key else ())]
        raise Unauthorized(f"tokens signed with {algorithm!r} are not accepted here "
                           f"(accepted: {', '.join(accepted)})")

    def _verify_local_token(self, token: str) -> Principal:
        claims = self._decode(token, self._key, self._algorithm, self._issuer,
                              require=["exp", "sub", "role"])
        try:
            return Principal(id=UUID(str(claims["sub"])), role=Role(claims["role"]),
                             name=claims.get("name"))
        except ValueError as e:
            raise Unauthorized("the token's subject or role is not recognised") from e

    def _verify_provider_token(self, token: str, algorithm: str) -> Principal:
        key = self._oidc.key_for(token)
        claims = self._decode(token, key, algorithm, self._oidc.issuer, require=["exp", "iat"],
                              leeway=PROVIDER_LEEWAY)
        raw = claims.get(SUBJECT_CLAIM)
        try:
            subject = UUID(str(raw))
        except ValueError as e:
            raise Unauthorized(f"the token carries no staff or customer id in {SUBJECT_CLAIM!r}"
                               ) from e
        named = claims.get("roles")
        if not isinstance(named, list):
            named = [claims.get("role")]
        roles = {Role(r) for r in named if isinstance(r, str) and r in Role._value2member_map_}
        if len(roles) != 1:
            raise Forbidden("the account holds no club role" if not roles
                            else "the account holds more than one club role")
        name = claims.get("name") or claims.get("preferred_username")
        return Principal(id=subject, role=roles.pop(), name=name)

    def _decode(self, token: str, key, algorithm: str, issuer: str, *, require: list[str],
                leeway: int = 30) -> dict:
        try:
            return jwt.decode(token, key, algorithms=[algorithm], issuer=issuer,
                              audience=self._audience, options={"require": require},
                              leeway=leeway)
        except jwt.ExpiredSignatureError as e:
            raise Unauthorized("the token has expired") from e
        except jwt.InvalidIssuerError as e:
            raise Unauthorized("the token is from another issuer") from e
        except jwt.InvalidAudienceError as e:
            raise Unauthorized(f"the token is not meant for {self._audience!r}") from e
        except jwt.InvalidSignatureError as e:
            raise Unauthorized(f"the token's signature does not verify: {e}") from e
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"the token is not valid: {e}") from e


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
    verifier: TokenVerifier = request.app.state.token_verifier
    if verifier.uses_provider and not verifier.is_local(credentials.credentials):
        # The provider's keys may have to be fetched (first use, rotation): not on the loop.
        principal = await run_in_threadpool(verifier.verify, credentials.credentials)
    else:
        principal = verifier.verify(credentials.credentials)
    revoked = getattr(request.app.state, "revoked_principal", None)
    if revoked is not None and await revoked(principal):
        raise Unauthorized("this account has been suspended or offboarded")
    return principal


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
