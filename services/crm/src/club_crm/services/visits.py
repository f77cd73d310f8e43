"""What the crm service does with reception's and booking's events.

- visit.completed: keep the visit (who served it, which services), schedule the follow-up
  call (R1 §3.5) and send a survey invitation (R2 §3.5). Once per visit, however often the
  event comes; nothing for an erased customer.
- booking.no_show: count it against the customer. No call is scheduled: a follow-up's
  reasons are post-visit and post-complaint (the followup.completed contract), and a missed
  booking is booking's and reception's business; the count shows on the customer's record
  and summary so whoever calls them next knows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import BookingNoShow, VisitCompleted
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.followups import post_visit_due
from club_crm.domain.surveys import staff_of_visit
from club_crm.schema import customers, no_shows, survey_invitations, visits
from club_crm.services.followups import schedule_followup


async def record_completed_visit(session: AsyncSession, event: VisitCompleted, now: datetime, *,
                                 followup_delay: timedelta, survey_validity: timedelta) -> bool:
    """Returns False when the visit was already known (the same visit published again)."""
    staff_ids = staff_of_visit(event.staff_ids, event.host_staff_id,
                               [s.staff_id for s in event.services])
    inserted = await session.execute(pg_insert(visits).values(
        visit_id=event.visit_id, customer_id=event.customer_id, booking_id=event.booking_id,
        host_staff_id=event.host_staff_id, staff_ids=staff_ids,
        service_codes=sorted({s.service_code for s in event.services}),
        checked_in_at=event.checked_in_at, completed_at=event.completed_at,
    ).on_conflict_do_nothing().returning(visits.c.visit_id))
    if inserted.first() is None:
        return False
    erased_at = await session.scalar(sa.select(customers.c.erased_at).where(
        customers.c.customer_id == event.customer_id))
    if erased_at is not None:
        return True  # an erased customer is not called or surveyed again
    await schedule_followup(session, now, customer_id=event.customer_id, reason="post_visit",
                            visit_id=event.visit_id,
                            due_at=post_visit_due(event.completed_at, followup_delay))
    await session.execute(pg_insert(survey_invitations).values(
        invitation_id=uuid4(), visit_id=event.visit_id, customer_id=event.customer_id,
        created_at=now, expires_at=event.completed_at + survey_validity,
    ).on_conflict_do_nothing())
    return True


async def record_no_show(session: AsyncSession, event: BookingNoShow) -> None:
    await session.execute(pg_insert(no_shows).values(
        booking_id=event.booking_id, customer_id=event.customer_id,
        resource_id=event.resource_id, starts_at=event.starts_at, marked_at=event.marked_at,
    ).on_conflict_do_nothing())


async def visit_exists(session: AsyncSession, visit_id: UUID) -> bool:
    return bool(await session.scalar(sa.select(sa.literal(True)).where(
        visits.c.visit_id == visit_id)))
