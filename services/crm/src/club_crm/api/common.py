"""What every crm route shares: the runtime, settings and clock; the stated purpose of a
personal-data read; and the Idempotency-Key wrapper of creating endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from club_platform.auth import Principal, Role
from club_platform.idempotency import claim, remember
from club_platform.runtime import ServiceRuntime
from fastapi import Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.customers import PII_READERS, AccessPurpose, parse_purpose
from club_crm.settings import CrmSettings

CRM_ROLES = PII_READERS            # head, deputy, crm_specialist
SUPERVISORS = (Role.HEAD, Role.DEPUTY)

IDEMPOTENCY_KEY = Header(default=None, alias="Idempotency-Key", max_length=200,
                         description="Repeat a request safely: the same key returns the first "
                                     "response.")


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def settings_of(request: Request) -> CrmSettings:
    return request.app.state.settings


def now_of(request: Request) -> datetime:
    return runtime_of(request).clock.now()


async def stated_purpose(
    x_access_purpose: str | None = Header(
        default=None, description="Why you read this customer's personal data (audited): "
        "complaint_handling, followup_call, customer_request, account_maintenance, "
        "erasure_request, incident_investigation or quality_review."),
    purpose: str | None = Query(default=None, description="The same as X-Access-Purpose."),
) -> AccessPurpose:
    return parse_purpose(x_access_purpose or purpose)


def purpose_for(principal: Principal, stated: str | None) -> AccessPurpose:
    """Members read their own record as data subjects; staff must state a purpose."""
    if principal.role is Role.MEMBER:
        return AccessPurpose.DATA_SUBJECT_ACCESS
    return parse_purpose(stated)


async def once(request: Request, principal: Principal, *, scope: str, key: str | None,
               payload: Any, action: Callable[[AsyncSession], Awaitable[Any]],
               status_code: int = 201) -> JSONResponse:
    """Run `action` in one transaction with the Idempotency-Key claimed in it: a repeat
    returns the stored response, the same key with another request is refused."""
    async with runtime_of(request).database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope=scope, payload=payload)
        if stored is not None:
            return JSONResponse(stored.body, status_code=stored.status_code)
        body = jsonable_encoder(await action(session))
        await remember(session, key=key, principal=principal, scope=scope,
                       status_code=status_code, body=body)
    return JSONResponse(body, status_code=status_code)


async def read(request: Request, action: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with runtime_of(request).database.transaction() as session:
        return await action(session)
