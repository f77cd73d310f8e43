"""Messages to customers and staff: written when the event that calls for them is handled,
in that same transaction (the inbox records the event there too), so none is lost and a
repeated event writes none twice — each row's `dedupe_key` is (event, recipient, kind).
The sender (`notification_sender`) delivers them later; this module only decides.

No personal data is written here: rows hold ids, times and what the event said; the address
is read from the customer's record (or the staff contact) when the message is sent.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import (
    BookingCancelled,
    BookingCreated,
    BookingNoShow,
    BookingRescheduled,
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    DisciplineOpened,
    DisciplineRecorded,
    PolicyRevised,
    ShiftChanged,
    TrainingAssigned,
    VisitCompleted,
)
from club_platform.envelope import Envelope
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.notifications import (
    STAFF_KINDS,
    WITH_CALENDAR,
    Kind,
    is_essential,
    reminder_times,
)
from club_crm.fieldcrypt import FieldCipher
from club_crm.schema import (
    complaints,
    followups,
    notification_preferences,
    notifications,
    place,
    staff,
    staff_contacts,
    survey_invitations,
)
from club_crm.settings import CrmSettings

PENDING, SENT, FAILED, BOUNCED = "pending", "sent", "failed", "bounced"
SUPPRESSED, WITHDRAWN = "suppressed", "withdrawn"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def enqueue(session: AsyncSession, *, kind: Kind, recipient_id: UUID, envelope: Envelope,
                  payload: dict, due_at: datetime, now: datetime,
                  booking_id: UUID | None = None, dedupe: str | None = None) -> bool:
    """Write one message; False when this (event, recipient, kind) was already written."""
    audience = "staff" if kind in STAFF_KINDS else "customer"
    result = await session.execute(pg_insert(notifications).values(
        notification_id=uuid4(),
        dedupe_key=dedupe or f"{envelope.id}:{recipient_id}:{kind.value}",
        kind=kind.value, audience=audience, recipient_id=recipient_id,
        essential=is_essential(kind), booking_id=booking_id, source_event_id=envelope.id,
        payload=payload, due_at=due_at, state=PENDING, created_at=now, updated_at=now,
    ).on_conflict_do_nothing().returning(notifications.c.notification_id))
    return result.first() is not None


async def enqueue_to_staff(session: AsyncSession, *, kind: Kind, staff_ids: sa.Select,
                           envelope: Envelope, payload: dict, now: datetime) -> int:
    """One message to each staff member `staff_ids` selects, written by one statement: a
    policy revision goes to everyone on the roll, and a row per person sent one by one made a
    burst of revisions cost a statement per person per event. How many were written."""
    chosen = staff_ids.subquery()
    column = notifications.c
    rows = sa.select(
        sa.func.gen_random_uuid(),
        sa.literal(f"{envelope.id}:") + sa.cast(chosen.c.staff_id, sa.Text)
        + sa.literal(f":{kind.value}"),
        sa.literal(kind.value), sa.literal("staff"), chosen.c.staff_id,
        sa.literal(is_essential(kind)), sa.literal(envelope.id, column.source_event_id.type),
        sa.literal(payload, column.payload.type), sa.literal(now, column.due_at.type),
        sa.literal(PENDING), sa.literal(now, column.created_at.type),
        sa.literal(now, column.updated_at.type))
    result = await session.execute(pg_insert(notifications).from_select(
        [column.notification_id, column.dedupe_key, column.kind, column.audience,
         column.recipient_id, column.essential, column.source_event_id, column.payload,
         column.due_at, column.state, column.created_at, column.updated_at],
        rows).on_conflict_do_nothing())
    return result.rowcount


# ------------------------------------------------------------------ bookings


async def _booking_history(session: AsyncSession, booking_id: UUID) -> list[sa.Row]:
    return list((await session.execute(
        sa.select(notifications.c.kind, notifications.c.payload, notifications.c.created_at)
        .where(notifications.c.booking_id == booking_id,
               notifications.c.kind.in_([k.value for k in WITH_CALENDAR]))
        .order_by(notifications.c.created_at))).all())


async def _withdraw_reminders(session: AsyncSession, booking_id: UUID, now: datetime,
                              why: str) -> None:
    await session.execute(sa.update(notifications).where(
        notifications.c.booking_id == booking_id,
        notifications.c.kind == Kind.BOOKING_REMINDER.value,
        notifications.c.state == PENDING,
    ).values(state=WITHDRAWN, last_error=why, updated_at=now))


async def _schedule_reminders(session: AsyncSession, settings: CrmSettings, envelope: Envelope,
                              *, booking_id: UUID, customer_id: UUID, starts_at: datetime,
                              payload: dict, now: datetime) -> None:
    for hours, at in reminder_times(starts_at, settings.reminders, now, settings.quiet,
                                    settings.zone):
        await enqueue(session, kind=Kind.BOOKING_REMINDER, recipient_id=customer_id,
                      envelope=envelope, booking_id=booking_id, due_at=at, now=now,
                      payload={**payload, "hours_before": hours},
                      dedupe=f"{booking_id}:{starts_at.isoformat()}:{hours}:reminder")


async def booking_created(session: AsyncSession, settings: CrmSettings, event: BookingCreated,
                          envelope: Envelope, now: datetime) -> None:
    history = await _booking_history(session, event.booking_id)
    payload = {"ref": str(event.booking_id), "booking_id": str(event.booking_id),
               "service": event.service_code, "starts": _iso(event.starts_at),
               "ends": _iso(event.ends_at), "sequence": 0}
    await enqueue(session, kind=Kind.BOOKING_CONFIRMED, recipient_id=event.customer_id,
                  envelope=envelope, booking_id=event.booking_id, payload=payload,
                  due_at=now, now=now)
    # A move or cancellation that arrived first (another topic) already decided the times.
    if not history:
        await _schedule_reminders(session, settings, envelope, booking_id=event.booking_id,
                                  customer_id=event.customer_id, starts_at=event.starts_at,
                                  payload=payload, now=now)


async def booking_rescheduled(session: AsyncSession, settings: CrmSettings,
                              event: BookingRescheduled, envelope: Envelope,
                              now: datetime) -> None:
    history = await _booking_history(session, event.booking_id)
    service = next((h.payload.get("service") for h in history if h.payload.get("service")), "")
    payload = {"ref": str(event.booking_id), "booking_id": str(event.booking_id),
               "service": service, "starts": _iso(event.starts_at), "ends": _iso(event.ends_at),
               "previous": _iso(event.previous_starts_at), "sequence": len(history) or 1}
    await enqueue(session, kind=Kind.BOOKING_MOVED, recipient_id=event.customer_id,
                  envelope=envelope, booking_id=event.booking_id, payload=payload,
                  due_at=now, now=now)
    if any(h.kind == Kind.BOOKING_CANCELLED.value for h in history):
        return
    await _withdraw_reminders(session, event.booking_id, now, "the booking moved")
    await _schedule_reminders(session, settings, envelope, booking_id=event.booking_id,
                              customer_id=event.customer_id, starts_at=event.starts_at,
                              payload=payload, now=now)


async def booking_cancelled(session: AsyncSession, event: BookingCancelled, envelope: Envelope,
                            now: datetime) -> None:
    history = await _booking_history(session, event.booking_id)
    last = history[-1].payload if history else {}
    payload = {"ref": str(event.booking_id), "booking_id": str(event.booking_id),
               "service": last.get("service", ""), "starts": last.get("starts"),
               "ends": last.get("ends"), "late": event.late, "sequence": len(history) or 1}
    await enqueue(session, kind=Kind.BOOKING_CANCELLED, recipient_id=event.customer_id,
                  envelope=envelope, booking_id=event.booking_id, payload=payload,
                  due_at=now, now=now)
    await _withdraw_reminders(session, event.booking_id, now, "the booking was cancelled")


async def booking_no_show(session: AsyncSession, event: BookingNoShow, envelope: Envelope,
                          now: datetime) -> None:
    await _withdraw_reminders(session, event.booking_id, now, "the booking was missed")
    await enqueue(session, kind=Kind.NO_SHOW, recipient_id=event.customer_id, envelope=envelope,
                  booking_id=event.booking_id, due_at=now, now=now,
                  payload={"ref": str(event.booking_id), "starts": _iso(event.starts_at)})


# ------------------------------------------------------------------ after a visit


async def visit_completed(session: AsyncSession, event: VisitCompleted, envelope: Envelope,
                          now: datetime) -> None:
    """The survey invitation (R2 §3.5) and the follow-up call notice (R1 §3.5), for what
    `visits.record_completed_visit` scheduled in this same transaction (nothing for an erased
    customer: it scheduled nothing)."""
    invitation = (await session.execute(sa.select(survey_invitations).where(
        survey_invitations.c.visit_id == event.visit_id))).first()
    if invitation is not None and invitation.responded_at is None:
        await enqueue(session, kind=Kind.SURVEY_INVITATION, recipient_id=event.customer_id,
                      envelope=envelope, due_at=now, now=now,
                      payload={"invitation_id": str(invitation.invitation_id),
                               "completed": _iso(event.completed_at),
                               "expires": _iso(invitation.expires_at)},
                      dedupe=f"{event.visit_id}:{event.customer_id}:survey_invitation")
    followup = (await session.execute(sa.select(followups).where(
        followups.c.visit_id == event.visit_id, followups.c.reason == "post_visit",
        followups.c.state == "open"))).first()
    if followup is not None:
        await enqueue(session, kind=Kind.FOLLOWUP_SCHEDULED, recipient_id=event.customer_id,
                      envelope=envelope, due_at=now, now=now,
                      payload={"due": _iso(followup.due_at),
                               "followup_id": str(followup.followup_id)},
                      dedupe=f"{followup.followup_id}:{event.customer_id}:followup_scheduled")


# ------------------------------------------------------------------ complaints (R2 §3.3–3.4)


async def complaint_opened(session: AsyncSession, event: ComplaintOpened, envelope: Envelope,
                           now: datetime) -> None:
    await enqueue(session, kind=Kind.COMPLAINT_ACKNOWLEDGED, recipient_id=event.customer_id,
                  envelope=envelope, due_at=now, now=now,
                  payload={"ref": str(event.complaint_id), "opened": _iso(event.opened_at),
                           "due": _iso(event.sla_due_at)})
    assigned_to = await session.scalar(sa.select(complaints.c.assigned_to).where(
        complaints.c.complaint_id == event.complaint_id))
    if assigned_to is not None:
        await enqueue(session, kind=Kind.COMPLAINT_ASSIGNED, recipient_id=assigned_to,
                      envelope=envelope, due_at=now, now=now,
                      payload={"ref": str(event.complaint_id), "category": event.category,
                               "severity": event.severity, "due": _iso(event.sla_due_at)})


async def complaint_escalated(session: AsyncSession, event: ComplaintEscalated,
                              envelope: Envelope, now: datetime) -> int:
    """Every active staff member holding the role it is escalated to (the deputy, or the
    head) is told; the directory comes from HR's staff events."""
    return await enqueue_to_staff(
        session, kind=Kind.COMPLAINT_ESCALATED, envelope=envelope, now=now,
        staff_ids=sa.select(staff.c.staff_id).where(
            staff.c.role == event.escalated_to_role, staff.c.status == "active"),
        payload={"ref": str(event.complaint_id), "level": event.level,
                 "reason": event.reason, "role": event.escalated_to_role,
                 "escalated": _iso(event.escalated_at)})


async def complaint_resolved(session: AsyncSession, event: ComplaintResolved,
                             envelope: Envelope, now: datetime) -> None:
    compensation = event.compensation.model_dump(mode="json") if event.compensation else None
    # The customer is owed the explanation the specialist wrote (R2 §3.4). The event carries
    # only the code's standard wording (no free text on the bus); the text is ours, here.
    written = await session.scalar(sa.select(complaints.c.resolution).where(
        complaints.c.complaint_id == event.complaint_id))
    await enqueue(session, kind=Kind.COMPLAINT_RESOLVED, recipient_id=event.customer_id,
                  envelope=envelope, due_at=now, now=now,
                  payload={"ref": str(event.complaint_id), "upheld": event.upheld,
                           "resolution": written or event.resolution,
                           "compensation": compensation})


# ------------------------------------------------------------------ staff (R1 §7.2, §9.2)


async def discipline_opened(session: AsyncSession, event: DisciplineOpened,
                            envelope: Envelope, now: datetime) -> None:
    """The staff member hears a case concerns them before anything is decided (R1 §7.2)."""
    await enqueue(session, kind=Kind.DISCIPLINE_OPENED, recipient_id=event.staff_id,
                  envelope=envelope, due_at=now, now=now,
                  payload={"ref": str(event.case_id), "rule": event.rule_ref,
                           "violation": event.violation, "origin": event.origin,
                           "occurred": _iso(event.occurred_at),
                           "opened": _iso(event.opened_at)})


async def training_assigned(session: AsyncSession, event: TrainingAssigned,
                            envelope: Envelope, now: datetime) -> None:
    """A training the staff member must attend (R2 §4.2); its title stays in HR."""
    await enqueue(session, kind=Kind.TRAINING_ASSIGNED, recipient_id=event.staff_id,
                  envelope=envelope, due_at=now, now=now,
                  payload={"ref": str(event.session_id), "clause": event.clause,
                           "starts": _iso(event.starts_at), "ends": _iso(event.ends_at),
                           "policy_id": str(event.policy_id) if event.policy_id else None,
                           "policy_version": event.policy_version})


async def shift_changed(session: AsyncSession, event: ShiftChanged, envelope: Envelope,
                        now: datetime) -> None:
    await enqueue(session, kind=Kind.SHIFT_CHANGED, recipient_id=event.staff_id,
                  envelope=envelope, due_at=now, now=now,
                  payload={"ref": str(event.shift_id), "change": event.change,
                           "starts": _iso(event.starts_at), "ends": _iso(event.ends_at)})


async def discipline_recorded(session: AsyncSession, event: DisciplineRecorded,
                              envelope: Envelope, now: datetime) -> None:
    await enqueue(session, kind=Kind.DISCIPLINE_DECIDED, recipient_id=event.staff_id,
                  envelope=envelope, due_at=now, now=now,
                  payload={"ref": str(event.case_id), "action": event.action,
                           "rule": event.rule_ref, "violation": event.violation,
                           "decided": _iso(event.decided_at)})


async def policy_revised(session: AsyncSession, event: PolicyRevised, envelope: Envelope,
                         now: datetime) -> None:
    await enqueue_to_staff(
        session, kind=Kind.POLICY_REVISED, envelope=envelope, now=now,
        staff_ids=sa.select(staff.c.staff_id).where(staff.c.status == "active"),
        payload={"ref": str(event.policy_id), "title": event.title,
                 "version": event.version, "effective": _iso(event.effective_at),
                 "requires_training": event.requires_training})


async def customer_erased(session: AsyncSession, customer_id: UUID, now: datetime) -> None:
    """Nothing more goes to an erased customer; the log keeps ids, kinds and states only."""
    await session.execute(sa.update(notifications).where(
        notifications.c.audience == "customer", notifications.c.recipient_id == customer_id,
        notifications.c.state == PENDING,
    ).values(state=SUPPRESSED, last_error="the customer was erased", updated_at=now))


# ------------------------------------------------------------------ the log and the choices


LOG_COLUMNS = (notifications.c.notification_id, notifications.c.kind, notifications.c.audience,
               notifications.c.recipient_id, notifications.c.essential, notifications.c.state,
               notifications.c.channel, notifications.c.language, notifications.c.attempts,
               notifications.c.last_error, notifications.c.due_at, notifications.c.created_at,
               notifications.c.sent_at, notifications.c.updated_at)


async def delivery_log(session: AsyncSession, *, recipient_id: UUID | None, kind: str | None,
                       state: str | None, limit: int) -> list[dict]:
    """What was sent, to whom (ids only: the log keeps no address), failed with why, bounced."""
    query = sa.select(*LOG_COLUMNS).order_by(notifications.c.created_at.desc()).limit(limit)
    if recipient_id is not None:
        query = query.where(notifications.c.recipient_id == recipient_id)
    if kind is not None:
        query = query.where(notifications.c.kind == kind)
    if state is not None:
        query = query.where(notifications.c.state == state)
    return [dict(row._mapping) for row in (await session.execute(query)).all()]


async def set_preferences(session: AsyncSession, customer_id: UUID, *, channel: str,
                          non_essential: bool, now: datetime) -> dict:
    new = pg_insert(notification_preferences).values(
        customer_id=customer_id, channel=channel,
        unsubscribed_at=None if non_essential else now, updated_at=now)
    await session.execute(new.on_conflict_do_update(
        index_elements=[notification_preferences.c.customer_id],
        set_={"channel": channel, "updated_at": now,
              "unsubscribed_at": None if non_essential else sa.func.coalesce(
                  notification_preferences.c.unsubscribed_at, now)}))
    return await preferences_of(session, customer_id)


async def preferences_of(session: AsyncSession, customer_id: UUID) -> dict:
    row = (await session.execute(sa.select(notification_preferences).where(
        notification_preferences.c.customer_id == customer_id))).first()
    if row is None:
        return {"customer_id": customer_id, "channel": "email", "non_essential": True,
                "unsubscribed_at": None, "email_undeliverable": False}
    return {"customer_id": customer_id, "channel": row.channel,
            "non_essential": row.unsubscribed_at is None, "unsubscribed_at": row.unsubscribed_at,
            "email_undeliverable": row.undeliverable_lookup is not None}


async def unsubscribe(session: AsyncSession, customer_id: UUID, now: datetime) -> dict:
    """The link in every non-essential message: no more of those; essential ones still go."""
    current = await preferences_of(session, customer_id)
    return await set_preferences(session, customer_id, channel=current["channel"],
                                 non_essential=False, now=now)


async def set_staff_contact(session: AsyncSession, cipher: FieldCipher, staff_id: UUID, *,
                            email: str | None, language: str, now: datetime) -> dict:
    sealed = cipher.seal_optional(email, place=place("staff_contacts", "email_enc", staff_id))
    new = pg_insert(staff_contacts).values(staff_id=staff_id, email_enc=sealed,
                                           language=language, updated_at=now)
    # A new address is a fresh start: whatever bounced before was the old one.
    await session.execute(new.on_conflict_do_update(
        index_elements=[staff_contacts.c.staff_id],
        set_={"email_enc": sealed, "language": language, "undeliverable_reason": None,
              "updated_at": now}))
    return {"staff_id": staff_id, "has_email": email is not None, "language": language}
