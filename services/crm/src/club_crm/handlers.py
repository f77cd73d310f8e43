"""What the crm service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox.

The consumer is built per app (`build_consumer(settings, clock)`), so the handlers get the
service's settings and clock the same way the HTTP routes do. Every handler converges under
duplicates and any arrival order: visits and no-shows are keyed by their ids, the staff
directory takes the latest effective time.
"""

from __future__ import annotations

from club_contracts import (
    BookingNoShow,
    StaffChanged,
    StaffHired,
    StaffOffboarded,
    VisitCompleted,
)
from club_platform.clock import Clock
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.services import staff as directory
from club_crm.services import visits
from club_crm.settings import CrmSettings

CONSUMED = (VisitCompleted, BookingNoShow, StaffHired, StaffChanged, StaffOffboarded)
TOPICS = sorted({t.topic for t in CONSUMED})


def build_consumer(settings: CrmSettings, clock: Clock) -> EventConsumer:
    consumer = EventConsumer("crm")

    @consumer.handles(VisitCompleted)
    async def schedule_after_visit(session: AsyncSession, event: VisitCompleted,
                                   _envelope: Envelope) -> None:
        # R1 §3.5 a follow-up call, R2 §3.5 a satisfaction survey.
        await visits.record_completed_visit(
            session, event, clock.now(), followup_delay=settings.post_visit_followup_delay,
            survey_validity=settings.survey_validity)

    @consumer.handles(BookingNoShow)
    async def count_no_show(session: AsyncSession, event: BookingNoShow,
                            _envelope: Envelope) -> None:
        await visits.record_no_show(session, event)

    @consumer.handles(StaffHired)
    async def staff_hired(session: AsyncSession, event: StaffHired, _envelope: Envelope) -> None:
        await directory.record_staff(
            session, staff_id=event.staff_id, role=event.role, status="active",
            effective_at=event.hired_at, display_name=event.display_name,
            department=event.department, hired_at=event.hired_at, now=clock.now())

    @consumer.handles(StaffChanged)
    async def staff_changed(session: AsyncSession, event: StaffChanged,
                            _envelope: Envelope) -> None:
        await directory.record_staff(
            session, staff_id=event.staff_id, role=event.role, status=event.status,
            effective_at=event.effective_at, now=clock.now())

    @consumer.handles(StaffOffboarded)
    async def staff_offboarded(session: AsyncSession, event: StaffOffboarded,
                               _envelope: Envelope) -> None:
        await directory.record_staff(
            session, staff_id=event.staff_id, role=None, status="offboarded",
            effective_at=event.effective_at, now=clock.now())

    return consumer
