"""Customers: registration, the confidential record, notes, no-shows and erasure (R1 §4.4, §6).

Every function that decrypts personal data writes an audit row first; nothing here logs a
personal value, puts one in an exception message, or returns one from a creating endpoint
(creating endpoints' responses are stored in plaintext for Idempotency-Key replays).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import orjson
import sqlalchemy as sa
from club_contracts import CustomerErased, CustomerRegistered
from club_platform.auth import Principal
from club_platform.db import idempotency_keys
from club_platform.errors import Conflict, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain import Gone
from club_crm.domain.complaints import ACTIVE
from club_crm.domain.customers import (
    AccessPurpose,
    check_tier,
    normalise_email,
    normalise_phone,
)
from club_crm.fieldcrypt import FieldCipher
from club_crm.schema import (
    complaint_tasks,
    complaints,
    customer_notes,
    customers,
    followups,
    no_shows,
    place,
    survey_invitations,
    survey_responses,
)
from club_crm.services.audit import record_access
from club_crm.services.followups import cancel_open_followups

MAX_PREFERENCES = 30


def _seal(cipher: FieldCipher, column: str, customer_id: UUID, value: str | None) -> str | None:
    return cipher.seal_optional(value, place=place("customers", column, customer_id))


def _open(cipher: FieldCipher, row: sa.Row, column: str) -> str | None:
    return cipher.open_optional(getattr(row, column),
                                place=place("customers", column, row.customer_id))


def _clean_name(full_name: str | None) -> str:
    name = (full_name or "").strip()
    if not name:
        raise Invalid("a customer needs a name (full_name)")
    if len(name) > 200:
        raise Invalid("full_name is longer than 200 characters")
    return name


def _clean_preferences(preferences: dict[str, str] | None) -> dict[str, str]:
    preferences = preferences or {}
    if len(preferences) > MAX_PREFERENCES:
        raise Invalid(f"at most {MAX_PREFERENCES} preferences")
    for key, value in preferences.items():
        if not key.strip() or len(key) > 60 or len(value) > 500:
            raise Invalid("a preference needs a name of 1–60 characters and a value of at most "
                          "500 characters")
    return preferences


async def _email_taken(session: AsyncSession, cipher: FieldCipher, email: str,
                       other_than: UUID | None = None) -> bool:
    query = sa.select(customers.c.customer_id).where(
        customers.c.email_lookup.in_(cipher.lookups(email)))
    if other_than is not None:
        query = query.where(customers.c.customer_id != other_than)
    return (await session.scalar(query.limit(1))) is not None


async def load_customer(session: AsyncSession, customer_id: UUID, *,
                        for_update: bool = False) -> sa.Row:
    query = sa.select(customers).where(customers.c.customer_id == customer_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no customer {customer_id}")
    return row


async def member_contact(session: AsyncSession, cipher: FieldCipher,
                         customer_id: UUID) -> dict | None:
    """Name and e-mail for the member's sign-in account (club_crm.accounts); None once erased."""
    row = (await session.execute(
        sa.select(customers).where(customers.c.customer_id == customer_id))).first()
    if row is None or row.erased_at is not None:
        return None
    return {"full_name": _open(cipher, row, "full_name_enc"),
            "email": _open(cipher, row, "email_enc")}


def _not_erased(row: sa.Row) -> None:
    if row.erased_at is not None:
        raise Gone(f"customer {row.customer_id} was erased on {row.erased_at.isoformat()}; "
                   "their personal data no longer exists", erased_at=row.erased_at.isoformat())


async def customer_identifiers(session: AsyncSession, cipher: FieldCipher,
                               customer_id: UUID) -> dict[str, str | None]:
    """Name, phone and e-mail, for redaction of text that leaves the service."""
    row = (await session.execute(sa.select(customers).where(
        customers.c.customer_id == customer_id))).first()
    if row is None or row.erased_at is not None:
        return {"name": None, "phone": None, "email": None}
    return {"name": _open(cipher, row, "full_name_enc"), "phone": _open(cipher, row, "phone_enc"),
            "email": _open(cipher, row, "email_enc")}


# ------------------------------------------------------------------ registration


async def register_customer(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                            now: datetime, *, customer_id: UUID | None, full_name: str,
                            phone: str | None, email: str | None, tier: str,
                            preferences: dict[str, str] | None) -> dict:
    name = _clean_name(full_name)
    tier = check_tier(tier)
    email = normalise_email(email) if email else None
    phone = normalise_phone(phone) if phone else None
    prefs = _clean_preferences(preferences)
    if email and await _email_taken(session, cipher, email):
        raise Conflict("a customer with this e-mail address is already registered; find them "
                       "with POST /customers/search and a stated purpose")
    customer_id = customer_id or uuid4()
    inserted = await session.execute(
        pg_insert(customers).values(
            customer_id=customer_id, tier=tier, registered_at=now, registered_by=principal.id,
            full_name_enc=_seal(cipher, "full_name_enc", customer_id, name),
            phone_enc=_seal(cipher, "phone_enc", customer_id, phone),
            email_enc=_seal(cipher, "email_enc", customer_id, email),
            preferences_enc=_seal(cipher, "preferences_enc", customer_id,
                                  orjson.dumps(prefs).decode()),
            email_lookup=cipher.lookup(email) if email else None,
            phone_lookup=cipher.lookup(phone) if phone else None,
            updated_at=now,
        ).on_conflict_do_nothing().returning(customers.c.customer_id))
    if inserted.first() is None:  # the id, or (in a race) the e-mail, is taken
        raise Conflict(f"customer {customer_id} (or one with this e-mail address) is already "
                       "registered")
    await record_access(session, principal, customer_id, action="register", purpose=None,
                        now=now)
    # No personal data on the bus (docs/events.md): the id, the tier and the time only.
    await publish(session, CustomerRegistered(customer_id=customer_id, tier=tier,
                                              registered_at=now), occurred_at=now)
    return {"customer_id": customer_id, "tier": tier, "registered_at": now}


# ------------------------------------------------------------------ reading (audited)


async def _no_show_summary(session: AsyncSession, customer_id: UUID) -> dict:
    row = (await session.execute(
        sa.select(sa.func.count(), sa.func.max(no_shows.c.starts_at))
        .where(no_shows.c.customer_id == customer_id))).one()
    return {"count": row[0], "last_at": row[1]}


async def _open_complaints(session: AsyncSession, customer_id: UUID) -> int:
    return await session.scalar(
        sa.select(sa.func.count()).select_from(complaints).where(
            complaints.c.customer_id == customer_id,
            complaints.c.state.in_([s.value for s in ACTIVE])))


async def read_profile(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                       now: datetime, customer_id: UUID, purpose: AccessPurpose) -> dict:
    row = await load_customer(session, customer_id)
    _not_erased(row)
    await record_access(session, principal, customer_id, action="read_profile",
                        purpose=purpose.value, now=now)
    preferences = _open(cipher, row, "preferences_enc")
    return {
        "customer_id": row.customer_id,
        "tier": row.tier,
        "registered_at": row.registered_at,
        "updated_at": row.updated_at,
        "full_name": _open(cipher, row, "full_name_enc"),
        "phone": _open(cipher, row, "phone_enc"),
        "email": _open(cipher, row, "email_enc"),
        "preferences": orjson.loads(preferences) if preferences else {},
        "no_shows": await _no_show_summary(session, customer_id),
        "open_complaints": await _open_complaints(session, customer_id),
    }


async def summary(session: AsyncSession, customer_id: UUID) -> dict:
    """What any staff member may see: no personal data, so no audit (R1 §2.3 reception)."""
    row = await load_customer(session, customer_id)
    return {
        "customer_id": row.customer_id,
        "tier": row.tier,
        "registered_at": row.registered_at,
        "erased": row.erased_at is not None,
        "no_shows": await _no_show_summary(session, customer_id),
        "open_complaints": await _open_complaints(session, customer_id),
    }


async def find_customers(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                         now: datetime, *, email: str | None, phone: str | None,
                         purpose: AccessPurpose) -> list[dict]:
    if (email is None) == (phone is None):
        raise Invalid("search by exactly one of email or phone")
    if email is not None:
        condition = customers.c.email_lookup.in_(cipher.lookups(normalise_email(email)))
    else:
        condition = customers.c.phone_lookup.in_(cipher.lookups(normalise_phone(phone or "")))
    rows = (await session.execute(
        sa.select(customers).where(condition, customers.c.erased_at.is_(None))
        .order_by(customers.c.registered_at).limit(50))).all()
    found = []
    for row in rows:
        await record_access(session, principal, row.customer_id, action="search",
                            purpose=purpose.value, now=now)
        found.append({"customer_id": row.customer_id, "tier": row.tier,
                      "full_name": _open(cipher, row, "full_name_enc")})
    return found


# ------------------------------------------------------------------ changes


async def update_customer(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                          now: datetime, customer_id: UUID, changes: dict,
                          purpose: AccessPurpose) -> dict:
    row = await load_customer(session, customer_id, for_update=True)
    _not_erased(row)
    if not changes:
        raise Invalid("nothing to change: give full_name, phone, email, tier or preferences")
    values: dict = {"updated_at": now}
    if "full_name" in changes:
        values["full_name_enc"] = _seal(cipher, "full_name_enc", customer_id,
                                        _clean_name(changes["full_name"]))
    if "phone" in changes:
        phone = normalise_phone(changes["phone"]) if changes["phone"] else None
        values["phone_enc"] = _seal(cipher, "phone_enc", customer_id, phone)
        values["phone_lookup"] = cipher.lookup(phone) if phone else None
    if "email" in changes:
        email = normalise_email(changes["email"]) if changes["email"] else None
        if email and await _email_taken(session, cipher, email, other_than=customer_id):
            raise Conflict("another customer is registered with this e-mail address")
        values["email_enc"] = _seal(cipher, "email_enc", customer_id, email)
        values["email_lookup"] = cipher.lookup(email) if email else None
    if "tier" in changes:
        values["tier"] = check_tier(changes["tier"] or "")
    if "preferences" in changes:
        values["preferences_enc"] = _seal(
            cipher, "preferences_enc", customer_id,
            orjson.dumps(_clean_preferences(changes["preferences"])).decode())
    await session.execute(sa.update(customers).where(customers.c.customer_id == customer_id)
                          .values(**values))
    await record_access(session, principal, customer_id, action="update",
                        purpose=purpose.value, now=now)
    return {"customer_id": customer_id, "tier": values.get("tier", row.tier), "updated_at": now}


async def add_note(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                   now: datetime, customer_id: UUID, text: str, *,
                   followup_id: UUID | None = None) -> dict:
    row = await load_customer(session, customer_id)
    _not_erased(row)
    body = text.strip()
    if not body:
        raise Invalid("a note needs some text")
    note_id = uuid4()
    await session.execute(sa.insert(customer_notes).values(
        note_id=note_id, customer_id=customer_id,
        body_enc=cipher.seal(body, place=place("customer_notes", "body_enc", note_id)),
        written_by=principal.id, written_by_role=principal.role.value, written_at=now,
        followup_id=followup_id,
    ))
    await record_access(session, principal, customer_id, action="add_note", purpose=None,
                        now=now, record_id=note_id)
    return {"note_id": note_id, "customer_id": customer_id, "written_at": now}


async def read_notes(session: AsyncSession, cipher: FieldCipher, principal: Principal,
                     now: datetime, customer_id: UUID, purpose: AccessPurpose) -> list[dict]:
    row = await load_customer(session, customer_id)
    _not_erased(row)
    await record_access(session, principal, customer_id, action="read_notes",
                        purpose=purpose.value, now=now)
    notes = (await session.execute(
        sa.select(customer_notes).where(customer_notes.c.customer_id == customer_id)
        .order_by(customer_notes.c.written_at.desc()))).all()
    return [{"note_id": n.note_id, "text": cipher.open(n.body_enc, place=place(
                "customer_notes", "body_enc", n.note_id)),
             "written_by": n.written_by, "written_by_role": n.written_by_role,
             "written_at": n.written_at, "followup_id": n.followup_id} for n in notes]


# ------------------------------------------------------------------ erasure


async def erase_customer(session: AsyncSession, principal: Principal, now: datetime,
                         customer_id: UUID) -> dict:
    """Delete the customer's personal data everywhere in this service and tell the others
    (customer.erased). Ids, times, scores and states stay: they are not personal data and
    other services' reports and KPIs rest on them. The audit log keeps its rows (ids and
    purpose codes only) as the record of who touched the data."""
    row = await load_customer(session, customer_id, for_update=True)
    if row.erased_at is not None:
        raise Conflict(f"customer {customer_id} was already erased on "
                       f"{row.erased_at.isoformat()}")
    await session.execute(sa.update(customers).where(customers.c.customer_id == customer_id)
                          .values(full_name_enc=None, phone_enc=None, email_enc=None,
                                  preferences_enc=None, email_lookup=None, phone_lookup=None,
                                  erased_at=now, erased_by=principal.id, updated_at=now))
    await session.execute(sa.delete(customer_notes)
                          .where(customer_notes.c.customer_id == customer_id))
    his_complaints = sa.select(complaints.c.complaint_id).where(
        complaints.c.customer_id == customer_id).scalar_subquery()
    await session.execute(sa.update(complaints).where(complaints.c.customer_id == customer_id)
                          .values(description_enc=None, updated_at=now))
    await session.execute(sa.update(complaint_tasks)
                          .where(complaint_tasks.c.complaint_id.in_(his_complaints))
                          .values(description_enc=None, outcome_enc=None))
    await session.execute(sa.update(survey_responses)
                          .where(survey_responses.c.customer_id == customer_id)
                          .values(comment_enc=None))
    # Unanswered survey links stop working; answered ones keep their scores.
    await session.execute(sa.delete(survey_invitations).where(
        survey_invitations.c.customer_id == customer_id,
        survey_invitations.c.responded_at.is_(None)))
    await cancel_open_followups(session, now, reason="customer_erased",
                                where=followups.c.customer_id == customer_id)
    # Stored Idempotency-Key replays about this customer (their request hashes were taken
    # over personal data).
    await session.execute(sa.delete(idempotency_keys).where(
        idempotency_keys.c.response["customer_id"].astext == str(customer_id)))
    await record_access(session, principal, customer_id, action="erase",
                        purpose=AccessPurpose.ERASURE_REQUEST.value, now=now)
    await publish(session, CustomerErased(customer_id=customer_id, erased_at=now),
                  occurred_at=now)
    return {"customer_id": customer_id, "erased_at": now}
