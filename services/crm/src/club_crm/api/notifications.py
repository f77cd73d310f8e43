"""Notifications: the delivery log CRM staff read, bounces, customers' message choices and the
unsubscribe link, and the staff's work contacts for their own messages."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from club_platform.auth import Principal, Role, require_roles
from club_platform.errors import Forbidden, Invalid, NotFound
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from club_crm.api.common import CRM_ROLES, SUPERVISORS, now_of, read, runtime_of, settings_of
from club_crm.domain.customers import normalise_email
from club_crm.domain.notifications import Kind
from club_crm.services import notifications
from club_crm.services.customers import load_customer
from club_crm.services.notification_sender import customer_of_token, mark_bounced

router = APIRouter(prefix="/notifications", tags=["notifications"])

State = Literal["pending", "sent", "failed", "bounced", "suppressed", "withdrawn"]


class Bounce(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500,
                        description="What the provider reported, e.g. 550 mailbox unavailable.")


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "sms"] = "email"
    non_essential: bool = Field(description="Reminders, survey invitations, no-show and "
                                            "follow-up notices; false is unsubscribed.")


class StaffContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254, description="null clears it")
    language: Literal["zh-CN", "en"] = "zh-CN"


async def _write(request: Request, action):
    async with runtime_of(request).database.transaction() as session:
        return await action(session)


@router.get("", summary="The delivery log: what was sent, failed (with why) or bounced; ids "
                        "only, never an address")
async def log(request: Request, recipient_id: UUID | None = None, kind: Kind | None = None,
              state: State | None = None, limit: int = Query(default=100, ge=1, le=1000),
              _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> list[dict]:
    return await read(request, lambda s: notifications.delivery_log(
        s, recipient_id=recipient_id, kind=kind.value if kind else None, state=state,
        limit=limit))


@router.post("/{notification_id}/bounce",
             summary="Record a bounce the provider reported; the address is not used again "
                     "until it changes")
async def bounce(notification_id: UUID, body: Bounce, request: Request,
                 _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
    now = now_of(request)
    found = await _write(request, lambda s: mark_bounced(s, notification_id, body.reason, now))
    if found is None:
        raise NotFound(f"no notification {notification_id}")
    return found


@router.get("/customers/{customer_id}/preferences",
            summary="A customer's message choices (members: their own)")
async def get_preferences(customer_id: UUID, request: Request,
                          principal: Principal = Depends(require_roles(*CRM_ROLES, Role.MEMBER))
                          ) -> dict:
    if principal.role is Role.MEMBER and principal.id != customer_id:
        raise Forbidden("members see their own message choices only")
    return await read(request, lambda s: notifications.preferences_of(s, customer_id))


@router.put("/customers/{customer_id}/preferences",
            summary="Choose the channel and whether non-essential messages come (members: "
                    "their own)")
async def put_preferences(customer_id: UUID, body: Preferences, request: Request,
                          principal: Principal = Depends(require_roles(*CRM_ROLES, Role.MEMBER))
                          ) -> dict:
    if principal.role is Role.MEMBER and principal.id != customer_id:
        raise Forbidden("members change their own message choices only")
    now = now_of(request)

    async def change(session):
        await load_customer(session, customer_id)   # 404 for a customer nobody registered
        return await notifications.set_preferences(
            session, customer_id, channel=body.channel, non_essential=body.non_essential,
            now=now)
    return await _write(request, change)


def _customer_of(request: Request, token: str) -> UUID:
    customer_id = customer_of_token(settings_of(request), token)
    if customer_id is None:
        raise NotFound("this unsubscribe link is not valid; check it was copied whole")
    return customer_id


@router.get("/unsubscribe/{token}",
            summary="What the unsubscribe link does (no sign-in: the link is the credential)")
async def unsubscribe_page(token: str, request: Request) -> dict:
    customer_id = _customer_of(request, token)
    current = await read(request, lambda s: notifications.preferences_of(s, customer_id))
    return {"unsubscribed": not current["non_essential"],
            "explains": "POST to this address to stop reminders, survey invitations and other "
                        "non-essential messages; confirmations of bookings and answers to "
                        "complaints still come."}


@router.post("/unsubscribe/{token}",
             summary="Unsubscribe from non-essential messages (one click, RFC 8058)")
async def unsubscribe(token: str, request: Request) -> dict:
    customer_id = _customer_of(request, token)
    now = now_of(request)
    result = await _write(request, lambda s: notifications.unsubscribe(s, customer_id, now))
    return {"unsubscribed": not result["non_essential"]}


@router.put("/staff/{staff_id}/contact",
            summary="A staff member's work e-mail and language for their messages (their own, "
                    "or the head, deputy or HR)")
async def put_staff_contact(staff_id: UUID, body: StaffContact, request: Request,
                            principal: Principal = Depends(require_roles(
                                Role.HEAD, Role.DEPUTY, Role.HR_ADMIN, Role.ATTENDANT,
                                Role.CRM_SPECIALIST))) -> dict:
    if principal.id != staff_id and principal.role not in (*SUPERVISORS, Role.HR_ADMIN):
        raise Forbidden("staff set their own contact; the head, deputy and HR anyone's")
    email = normalise_email(body.email) if body.email is not None else None
    if body.email is not None and not email:
        raise Invalid("the e-mail address is empty")
    settings, now = settings_of(request), now_of(request)
    return await _write(request, lambda s: notifications.set_staff_contact(
        s, settings.cipher, staff_id, email=email, language=body.language, now=now))
