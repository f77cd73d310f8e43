"""What the crm service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox.

- `visit.completed` schedules the follow-up call (R1 §3.5) and the survey (R2 §3.5);
- `booking.no_show` counts against the customer;
- `staff.hired` / `changed` / `offboarded` keep the staff directory that assignment uses.

Every handler converges under repeats and any arrival order: visits and no-shows are keyed by
their ids, the staff directory keeps the latest effective time. Times come from the events
(`ce_time` for "when it was assigned"), so the tables are a function of the events.

The two delays a handler needs come from the settings: the app builds its consumer with
`build_consumer(Policy.from_settings(settings))`. The module's `consumer` is the same one with
the default policy, for whatever only asks what the service consumes (docs, topic lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from club_contracts import (
    BookingNoShow,
    StaffChanged,
    StaffHired,
    StaffOffboarded,
    VisitCompleted,
)
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.services import staff as directory
from club_crm.services import visits
from club_crm.settings import CrmSettings


@dataclass(frozen=True)
class Policy:
    post_visit_followup_delay: timedelta = timedelta(hours=24)
    survey_validity: timedelta = timedelta(days=14)

    @classmethod
    def from_settings(cls, settings: CrmSettings) -> Policy:
        return cls(settings.post_visit_followup_delay, settings.survey_validity)


def build_consumer(policy: Policy = Policy()) -> EventConsumer:
    consumer = EventConsumer("crm")

    @consumer.handles(VisitCompleted)
    async def schedule_after_visit(session: AsyncSession, event: VisitCompleted,
                                   envelope: Envelope) -> None:
        await visits.record_completed_visit(
            session, event, envelope.time, followup_delay=policy.post_visit_followup_delay,
            survey_validity=policy.survey_validity)

    @consumer.handles(BookingNoShow)
    async def count_no_show(session: AsyncSession, event: BookingNoShow, _: Envelope) -> None:
        await visits.record_no_show(session, event)

    @consumer.handles(StaffHired)
    async def staff_hired(session: AsyncSession, event: StaffHired, envelope: Envelope) -> None:
        await directory.record_staff(
            session, staff_id=event.staff_id, role=event.role, status="active",
            effective_at=event.hired_at, display_name=event.display_name,
            department=event.department, hired_at=event.hired_at, now=envelope.time)

    @consumer.handles(StaffChanged)
    async def staff_changed(session: AsyncSession, event: StaffChanged,
                            envelope: Envelope) -> None:
        await directory.record_staff(
            session, staff_id=event.staff_id, role=event.role, status=event.status,
            effective_at=event.effective_at, now=envelope.time)

    @consumer.handles(StaffOffboarded)
    async def staff_offboarded(session: AsyncSession, event: StaffOffboarded,
                               envelope: Envelope) -> None:
        await directory.record_staff(
            session, staff_id=event.staff_id, role=None, status="offboarded",
            effective_at=event.effective_at, now=envelope.time)

    return consumer


consumer = build_consumer()
