"""What the security tests share: the services' endpoints with the roles each admits, read
from the routes themselves (docs/generate.py builds the same list for docs/authorization.md),
and a token of an allowed role for each."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

from club_platform.auth import Role, RouteAccess

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("booking", "reception", "crm", "hr")
# The one role a test calls an endpoint as: the first of these that the endpoint admits.
PREFERRED = (Role.HEAD, Role.HR_ADMIN, Role.DEPUTY, Role.CRM_SPECIALIST, Role.ATTENDANT,
             Role.MEMBER)


@cache
def generate() -> ModuleType:
    """docs/generate.py, which builds each service's app object with placeholder settings."""
    spec = importlib.util.spec_from_file_location("club_docs_generate",
                                                  ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def endpoints(service: str) -> tuple[RouteAccess, ...]:
    return tuple(generate().endpoints(service))


def roles_of(service: str, method: str, path: str) -> frozenset[Role] | None:
    """The roles the endpoint admits; None for a public one. Fails for an unknown endpoint."""
    found = {(e.method, e.path): e.roles for e in endpoints(service)}
    return found[(method.upper(), path)]


def caller(roles: frozenset[Role]) -> Role:
    return next(r for r in PREFERRED if r in roles)
