"""The crm service's HTTP API (docs/authorization.md): one router per aggregate, combined here."""

from __future__ import annotations

from fastapi import APIRouter

from club_crm.api import (
    audit,
    complaints,
    customers,
    followups,
    meetings,
    notifications,
    surveys,
)

router = APIRouter()
for module in (customers, complaints, followups, surveys, audit, notifications,
               meetings):
    router.include_router(module.router)
