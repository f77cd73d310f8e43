"""What every hr router shares: the runtime, a transaction per request, `Idempotency-Key` on
creating endpoints, and the role sets of docs/authorization.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from club_platform.auth import STAFF_ROLES, Principal, Role, require_roles
from club_platform.errors import Forbidden
from club_platform.idempotency import claim, remember
from club_platform.runtime import ServiceRuntime
from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.settings import HrSettings

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key",
           description="Repeat a creating request safely: the same key returns the first answer"),
]

# Who may do what (docs/authorization.md; R1 §2, R2 §2).
anyone_on_staff = require_roles(*STAFF_ROLES)
supervisors = require_roles(Role.HEAD, Role.DEPUTY)
managers = require_roles(Role.HEAD, Role.DEPUTY, Role.HR_ADMIN)
hr_admin = require_roles(Role.HR_ADMIN)
head_or_hr = require_roles(Role.HEAD, Role.HR_ADMIN)
head = require_roles(Role.HEAD)

MANAGING_ROLES = (Role.HEAD, Role.DEPUTY, Role.HR_ADMIN)


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt field is a 422, not ignored."""

    model_config = ConfigDict(extra="forbid")


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def settings_of(request: Request) -> HrSettings:
    return request.app.state.settings


def now_of(request: Request):
    return runtime_of(request).clock.now()


def grace_of(request: Request) -> timedelta:
    return timedelta(minutes=settings_of(request).attendance_grace_minutes)


def check_self_or_managing(principal: Principal, staff_id: UUID | None, what: str) -> None:
    """Staff see their own records; the head, the deputy and the HR admin see everyone's."""
    if principal.role in MANAGING_ROLES:
        return
    if staff_id != principal.id:
        raise Forbidden(f"you may see only your own {what}")


async def read(request: Request, action: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with runtime_of(request).database.transaction() as session:
        return await action(session)


async def change(request: Request, action: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with runtime_of(request).database.transaction() as session:
        return await action(session)


async def create(request: Request, principal: Principal, key: str | None, payload: Any,
                 action: Callable[[AsyncSession], Awaitable[Any]],
                 status_code: int = 201) -> JSONResponse:
    """Run a creating use case in one transaction with its `Idempotency-Key`: a repeat of the
    same request answers what the first answered, without doing it again."""
    scope = f"{request.method} {request.url.path}"
    async with runtime_of(request).database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope=scope,
                             payload=jsonable_encoder(payload))
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code)
        # The same JSON as FastAPI's own responses (times with "Z"), also when replayed.
        body = to_jsonable_python(await action(session))
        await remember(session, key=key, principal=principal, scope=scope,
                       status_code=status_code, body=body)
    return JSONResponse(body, status_code=status_code)
