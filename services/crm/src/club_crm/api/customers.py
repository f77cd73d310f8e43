"""Customers' confidential records (R1 §6): registration, audited reads, notes, erasure."""

from __future__ import annotations

from uuid import UUID

from club_platform.auth import STAFF_ROLES, Principal, Role, require_roles
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from club_crm.api.common import (
    CRM_ROLES,
    IDEMPOTENCY_KEY,
    now_of,
    once,
    read,
    settings_of,
    stated_purpose,
)
from club_crm.domain.customers import PII_WRITERS, TIERS, AccessPurpose
from club_crm.services import customers

router = APIRouter(prefix="/customers", tags=["customers"])


class RegisterCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: UUID | None = Field(
        default=None, description="The member's id at the club's identity provider, if any; "
                                  "a new id is made otherwise.")
    full_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    tier: str = Field(default="standard", description=f"One of {', '.join(TIERS)}.")
    preferences: dict[str, str] = Field(default_factory=dict,
                                        description="e.g. {\"language\": \"zh\"}")


class UpdateCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="null clears it")
    email: str | None = Field(default=None, max_length=254, description="null clears it")
    tier: str | None = None
    preferences: dict[str, str] | None = None


class NewNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


@router.post("", status_code=201, summary="Register a customer (customer.registered)")
async def register(body: RegisterCustomer, request: Request,
                   principal: Principal = Depends(require_roles(*PII_WRITERS)),
                   idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    return await once(
        request, principal, scope="customers.register", key=idempotency_key,
        payload=body.model_dump(),
        action=lambda s: customers.register_customer(
            s, settings.cipher, principal, now, customer_id=body.customer_id,
            full_name=body.full_name, phone=body.phone, email=body.email, tier=body.tier,
            preferences=body.preferences))


class FindCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)


@router.post("/search", summary="Find customers by e-mail or phone (audited; needs a purpose). "
                                "A POST, so the e-mail or phone never sits in a URL or its logs")
async def search(body: FindCustomer, request: Request,
                 principal: Principal = Depends(require_roles(*CRM_ROLES)),
                 purpose: AccessPurpose = Depends(stated_purpose)) -> list[dict]:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: customers.find_customers(
        s, settings.cipher, principal, now, email=body.email, phone=body.phone,
        purpose=purpose))


@router.get("/me", summary="A member's own record (audited as a data-subject access)")
async def my_record(request: Request,
                    principal: Principal = Depends(require_roles(Role.MEMBER))) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: customers.read_profile(
        s, settings.cipher, principal, now, principal.id, AccessPurpose.DATA_SUBJECT_ACCESS))


@router.get("/{customer_id}", summary="A customer's personal record (audited; needs a purpose)")
async def profile(customer_id: UUID, request: Request,
                  principal: Principal = Depends(require_roles(*CRM_ROLES)),
                  purpose: AccessPurpose = Depends(stated_purpose)) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: customers.read_profile(
        s, settings.cipher, principal, now, customer_id, purpose))


@router.get("/{customer_id}/summary",
            summary="Tier, no-shows and open complaints: no personal data, any staff role")
async def summary(customer_id: UUID, request: Request,
                  _principal: Principal = Depends(require_roles(*STAFF_ROLES))) -> dict:
    return await read(request, lambda s: customers.summary(s, customer_id))


@router.patch("/{customer_id}", summary="Change contact details, tier or preferences (audited)")
async def update(customer_id: UUID, body: UpdateCustomer, request: Request,
                 principal: Principal = Depends(require_roles(*CRM_ROLES)),
                 purpose: AccessPurpose = Depends(stated_purpose)) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: customers.update_customer(
        s, settings.cipher, principal, now, customer_id, body.model_dump(exclude_unset=True),
        purpose))


@router.post("/{customer_id}/notes", status_code=201,
             summary="Write a note on a customer (attendants may write, not read)")
async def write_note(customer_id: UUID, body: NewNote, request: Request,
                     principal: Principal = Depends(require_roles(*PII_WRITERS)),
                     idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    return await once(
        request, principal, scope=f"customers.note:{customer_id}", key=idempotency_key,
        payload=body.model_dump(),
        action=lambda s: customers.add_note(s, settings.cipher, principal, now, customer_id,
                                            body.text))


@router.get("/{customer_id}/notes", summary="A customer's notes (audited; needs a purpose)")
async def notes(customer_id: UUID, request: Request,
                principal: Principal = Depends(require_roles(*CRM_ROLES)),
                purpose: AccessPurpose = Depends(stated_purpose)) -> list[dict]:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: customers.read_notes(
        s, settings.cipher, principal, now, customer_id, purpose))


@router.post("/{customer_id}/erase",
             summary="Erase the customer's personal data on request (customer.erased)")
async def erase(customer_id: UUID, request: Request,
                principal: Principal = Depends(require_roles(*CRM_ROLES)),
                idempotency_key: str | None = IDEMPOTENCY_KEY):
    now = now_of(request)
    return await once(
        request, principal, scope=f"customers.erase:{customer_id}", key=idempotency_key,
        payload={}, status_code=200,
        action=lambda s: customers.erase_customer(s, principal, now, customer_id))
