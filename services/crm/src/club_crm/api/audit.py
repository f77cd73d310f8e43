"""The personal-data access audit, for the head (docs/authorization.md, R1 §6.2)."""

from __future__ import annotations

from uuid import UUID

from club_contracts.base import UtcDatetime
from club_platform.auth import Principal, require_roles
from fastapi import APIRouter, Depends, Query, Request

from club_crm.api.common import read
from club_crm.domain.customers import AUDITORS
from club_crm.services import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/pii-access", summary="Who read or changed which customer's personal data, when, "
                                   "and why (head only), newest first")
async def pii_access(request: Request, customer_id: UUID | None = None,
                     actor_id: UUID | None = None, since: UtcDatetime | None = None,
                     until: UtcDatetime | None = None,
                     limit: int = Query(default=200, ge=1, le=5000),
                     _principal: Principal = Depends(require_roles(*AUDITORS))) -> list[dict]:
    return await read(request, lambda s: audit.access_log(
        s, customer_id=customer_id, actor_id=actor_id, since=since, until=until, limit=limit))
