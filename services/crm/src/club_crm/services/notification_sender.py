"""The sender: a periodic job that takes the messages that are due, finds each recipient's
address where it is kept (the customer's record, the staff contact), renders the text in the
recipient's language and hands it to the channel.

- The provider down (connection refused, a 4xx answer, a timeout): the message waits with
  exponential back-off and the run stops there — the rest of the batch is not tried against
  a provider known to be down, and keeps its attempt count. After CRM_NOTIFY_MAX_ATTEMPTS it
  is failed with the last error.
- The provider refusing the message for good (5xx): failed with the reason, and the address
  is marked undeliverable, as a bounce reported later does (`mark_bounced`).
- Nothing is sent to an erased customer; non-essential messages not to one who unsubscribed;
  reminders not in quiet hours (moved to their end, or dropped when the booking has begun).

A message is marked sent in the transaction of the run that sent it. If that commit fails
after the provider accepted the message, the next run sends it again; the Message-ID is the
same both times, so a receiving system can tell. That window is a database failure between
two statements; a provider outage never causes a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime
from uuid import UUID

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.calendar_invites import booking_invite
from club_crm.domain.notifications import (
    MIN_LEAD,
    WITH_CALENDAR,
    Kind,
    language_of,
    render,
    retry_delay,
)
from club_crm.fieldcrypt import FieldCipher, parse_keys
from club_crm.schema import (
    customers,
    notification_preferences,
    notifications,
    place,
    staff_contacts,
)
from club_crm.services.channels import Channel, Outgoing, Refused, Retry
from club_crm.services.notifications import (
    BOUNCED,
    FAILED,
    PENDING,
    SENT,
    SUPPRESSED,
    WITHDRAWN,
)
from club_crm.settings import CrmSettings

log = logging.getLogger("club.crm.notifications")


# ------------------------------------------------------------------ unsubscribe links


def _unsubscribe_keys(settings: CrmSettings) -> list[bytes]:
    """One signing key per field key, newest first, so the link needs no secret of its own.
    A link is signed with the newest and accepted under any key still listed: during a
    rotation (services/crm/README.md) the links already in people's inboxes keep working, and
    only destroying the old key retires them — they then lead to a clear 404, and every later
    message carries a new one."""
    return [hmac.new(key, b"club-crm:unsubscribe", hashlib.sha256).digest()
            for key in parse_keys(settings.field_encryption_keys.get_secret_value())]


def _mac(key: bytes, customer: bytes) -> bytes:
    return hmac.new(key, customer, hashlib.sha256).digest()[:16]


def unsubscribe_token(settings: CrmSettings, customer_id: UUID) -> str:
    mac = _mac(_unsubscribe_keys(settings)[0], customer_id.bytes)
    return urlsafe_b64encode(customer_id.bytes + mac).decode().rstrip("=")


def customer_of_token(settings: CrmSettings, token: str) -> UUID | None:
    try:
        raw = urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 32:
        return None
    signed = any(hmac.compare_digest(_mac(key, raw[:16]), raw[16:])
                 for key in _unsubscribe_keys(settings))
    return UUID(bytes=raw[:16]) if signed else None


# ------------------------------------------------------------------ recipients


class _Later(Exception):
    """This message's recipient cannot be reached yet; try it again later."""


class _Skip(Exception):
    """This message is not to be sent (state, reason)."""

    def __init__(self, state: str, reason: str) -> None:
        super().__init__(reason)
        self.state, self.reason = state, reason


async def _customer(session: AsyncSession, cipher: FieldCipher, settings: CrmSettings,
                    row: sa.Row) -> tuple[str, str, str]:
    """(channel, address, language) of a customer, or _Skip/_Retry."""
    customer = (await session.execute(sa.select(customers).where(
        customers.c.customer_id == row.recipient_id))).first()
    if customer is None:
        # Booking's events can come before the customer's record does; wait for it (this
        # message only: the provider is fine, the rest of the batch goes on).
        raise _Later("the customer is not known here yet")
    if customer.erased_at is not None:
        raise _Skip(SUPPRESSED, "the customer was erased")
    prefs = (await session.execute(sa.select(notification_preferences).where(
        notification_preferences.c.customer_id == row.recipient_id))).first()
    if not row.essential and prefs is not None and prefs.unsubscribed_at is not None:
        raise _Skip(SUPPRESSED, "the customer unsubscribed from these messages")
    stored = cipher.open_optional(customer.preferences_enc,
                                  place=place("customers", "preferences_enc",
                                              customer.customer_id))
    preferences = orjson.loads(stored) if stored else {}
    language = language_of(preferences.get("language"), settings.notify_default_language)
    channel = prefs.channel if prefs is not None else "email"
    if channel == "sms" and settings.sms_webhook_url and customer.phone_enc:
        return "sms", cipher.open(customer.phone_enc, place=place(
            "customers", "phone_enc", customer.customer_id)), language
    if customer.email_enc is None:
        raise _Skip(SUPPRESSED, "the customer has no e-mail address")
    if prefs is not None and prefs.undeliverable_lookup is not None \
            and prefs.undeliverable_lookup == customer.email_lookup:
        raise _Skip(SUPPRESSED, "the customer's e-mail address is marked undeliverable")
    return "email", cipher.open(customer.email_enc, place=place(
        "customers", "email_enc", customer.customer_id)), language


async def _staff(session: AsyncSession, cipher: FieldCipher, settings: CrmSettings,
                 row: sa.Row) -> tuple[str, str, str]:
    contact = (await session.execute(sa.select(staff_contacts).where(
        staff_contacts.c.staff_id == row.recipient_id))).first()
    if contact is None or contact.email_enc is None:
        raise _Skip(SUPPRESSED, "no work e-mail is on file for this staff member")
    if contact.undeliverable_reason is not None:
        raise _Skip(SUPPRESSED, "the staff member's e-mail address is marked undeliverable")
    return "email", cipher.open(contact.email_enc, place=place(
        "staff_contacts", "email_enc", contact.staff_id)), language_of(
        contact.language, settings.notify_default_language)


# ------------------------------------------------------------------ composing


def _compose(settings: CrmSettings, row: sa.Row, language: str, address: str,
             now: datetime) -> Outgoing:
    kind = Kind(row.kind)
    payload = row.payload
    link = unsubscribe = None
    if kind is Kind.SURVEY_INVITATION:
        token = settings.cipher.survey_token(UUID(payload["invitation_id"]))
        link = f"{settings.survey_link_base_url.rstrip('/')}/surveys/respond/{token}"
    headers = {"X-Club-Kind": kind.value}
    if row.audience == "customer" and not row.essential:
        unsubscribe = (f"{settings.public_url}/notifications/unsubscribe/"
                       f"{unsubscribe_token(settings, row.recipient_id)}")
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = render(kind, language, payload, club=settings.club_name, zone=settings.zone,
                  link=link, unsubscribe=unsubscribe)
    attachments = ()
    if kind in WITH_CALENDAR and payload.get("starts"):
        ics = booking_invite(
            booking_id=UUID(payload["booking_id"]),
            starts_at=datetime.fromisoformat(payload["starts"]),
            ends_at=datetime.fromisoformat(payload["ends"]) if payload.get("ends") else None,
            summary=f"{settings.club_name}: {payload.get('service') or 'booking'}",
            description=text.subject, stamp=now, sequence=int(payload.get("sequence", 0)),
            cancelled=kind is Kind.BOOKING_CANCELLED)
        method = "CANCEL" if kind is Kind.BOOKING_CANCELLED else "REQUEST"
        attachments = (("booking.ics", f"text/calendar; method={method}; charset=utf-8", ics),)
    return Outgoing(notification_id=str(row.notification_id), address=address,
                    subject=text.subject, text=text.body, sent_at=now,
                    attachments=attachments, headers=headers)


# ------------------------------------------------------------------ the job


async def send_due(session: AsyncSession, now: datetime, settings: CrmSettings,
                   channels: dict[str, Channel]) -> int:
    """Send what is due; returns how many messages changed state."""
    rows = (await session.execute(
        sa.select(notifications)
        # Reminders wait for their time; every other message goes as soon as it is written
        # (its due_at is the event's time, which another service's clock wrote).
        .where(notifications.c.state == PENDING,
               sa.or_(notifications.c.due_at <= now,
                      notifications.c.kind != Kind.BOOKING_REMINDER.value),
               sa.or_(notifications.c.next_attempt_at.is_(None),
                      notifications.c.next_attempt_at <= now))
        .order_by(notifications.c.due_at, notifications.c.created_at)
        .limit(settings.notify_batch)
        .with_for_update(skip_locked=True))).all()
    changed = 0
    for row in rows:
        outcome = await _send_one(session, now, settings, channels, row)
        changed += outcome not in ("retry", "later")
        if outcome == "retry":
            break  # the provider is down: the rest waits for the next run
    return changed


async def _settle(session: AsyncSession, row: sa.Row, now: datetime, **values) -> None:
    await session.execute(sa.update(notifications)
                          .where(notifications.c.notification_id == row.notification_id)
                          .values(updated_at=now, **values))


async def _send_one(session: AsyncSession, now: datetime, settings: CrmSettings,
                    channels: dict[str, Channel], row: sa.Row) -> str:
    cipher = settings.cipher
    address = ""
    try:
        # Who may hear from us first: an erased or unsubscribed customer's message is
        # suppressed, whatever its timing would have said.
        find = _staff if row.audience == "staff" else _customer
        channel_name, address, language = await find(session, cipher, settings, row)
        if row.kind == Kind.BOOKING_REMINDER.value:
            _check_quiet(settings, row, now)
        message = _compose(settings, row, language, address, now)
        await channels[channel_name].send(message)
    except _Skip as skip:
        if skip.state == PENDING:   # deferred past quiet hours
            await _settle(session, row, now, due_at=datetime.fromisoformat(skip.reason))
            return "deferred"
        await _settle(session, row, now, state=skip.state, last_error=skip.reason)
        return skip.state
    except Refused as refused:
        # A provider's refusal often quotes the address: the log must not keep it.
        reason = str(refused).replace(address, "<the address>")
        await _settle(session, row, now, state=FAILED, attempts=row.attempts + 1,
                      channel=channel_name, language=language, last_error=reason)
        await _mark_undeliverable(session, row, reason, now)
        return FAILED
    except (Retry, _Later) as retry:
        attempts = row.attempts + 1
        error = str(retry).replace(address, "<the address>") if address else str(retry)
        if attempts >= settings.notify_max_attempts:
            await _settle(session, row, now, state=FAILED, attempts=attempts,
                          last_error=f"gave up after {attempts} attempts: {error}")
            return FAILED
        delay = retry_delay(attempts, settings.notify_retry_seconds,
                            settings.notify_retry_max_seconds)
        await _settle(session, row, now, attempts=attempts, next_attempt_at=now + delay,
                      last_error=error)
        log.warning("notification %s not sent (%s); retry in %s", row.notification_id,
                    error, delay)
        return "retry" if isinstance(retry, Retry) else "later"
    await _settle(session, row, now, state=SENT, attempts=row.attempts + 1, sent_at=now,
                  channel=channel_name, language=language, last_error=None)
    return SENT


def _check_quiet(settings: CrmSettings, row: sa.Row, now: datetime) -> None:
    """A reminder the sender reaches late (the service was down, the provider was) is not
    sent once the booking has begun; inside quiet hours it waits for them to end, unless the
    booking starts before that."""
    starts_at = datetime.fromisoformat(row.payload["starts"])
    if now >= starts_at:
        raise _Skip(WITHDRAWN, "the booking had begun before the reminder could go")
    quiet, zone = settings.quiet, settings.zone
    if quiet is None or not quiet.contains(now, zone):
        return
    after = quiet.ends_after(now, zone)
    if after > starts_at - MIN_LEAD:
        raise _Skip(WITHDRAWN, "quiet hours last until the booking")
    raise _Skip(PENDING, after.isoformat())


# ------------------------------------------------------------------ bounces


async def _mark_undeliverable(session: AsyncSession, row: sa.Row, reason: str,
                              now: datetime) -> None:
    if row.audience == "staff":
        await session.execute(sa.update(staff_contacts)
                              .where(staff_contacts.c.staff_id == row.recipient_id)
                              .values(undeliverable_reason=reason[:500], updated_at=now))
        return
    lookup = await session.scalar(sa.select(customers.c.email_lookup).where(
        customers.c.customer_id == row.recipient_id))
    if lookup is None:
        return
    new = pg_insert(notification_preferences).values(
        customer_id=row.recipient_id, undeliverable_lookup=lookup,
        undeliverable_reason=reason[:500], updated_at=now)
    await session.execute(new.on_conflict_do_update(
        index_elements=[notification_preferences.c.customer_id],
        set_={"undeliverable_lookup": lookup, "undeliverable_reason": reason[:500],
              "updated_at": now}))


async def mark_bounced(session: AsyncSession, notification_id: UUID, reason: str,
                       now: datetime) -> dict | None:
    """The provider reported that a sent message bounced: the log says so, and the address is
    not used again until it changes."""
    row = (await session.execute(sa.select(notifications).where(
        notifications.c.notification_id == notification_id).with_for_update())).first()
    if row is None:
        return None
    await _settle(session, row, now, state=BOUNCED, last_error=f"bounced: {reason}")
    if row.channel in (None, "email"):
        await _mark_undeliverable(session, row, f"bounced: {reason}", now)
    return {"notification_id": notification_id, "state": BOUNCED}

