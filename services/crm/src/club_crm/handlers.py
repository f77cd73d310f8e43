"""What the crm service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox.

- `visit.completed` schedules the follow-up call (R1 §3.5) and the survey (R2 §3.5);
- `booking.no_show` counts against the customer;
- `staff.hired` / `changed` / `offboarded` keep the staff directory that assignment uses;
- notifications (services/notifications.py): booking created / moved / cancelled / missed,
  the visit's survey and follow-up call, complaints opened / escalated / resolved (this
  service's own events, consumed like anyone else's, so each message is written with the
  event's inbox record); for staff, discipline cases opened and decided, policy revisions,
  trainings they must attend and changes to their rota; erasure;
- `incident.reported` and `safety.finding_opened` / `overdue` / `closed` keep the ids, codes
  and times the service meetings' agendas count (R2 §9.1), and that actions may cite.

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
    BookingCancelled,
    BookingCreated,
    BookingNoShow,
    BookingRescheduled,
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    CustomerErased,
    DisciplineOpened,
    DisciplineRecorded,
    IncidentReported,
    PolicyRevised,
    SafetyFindingClosed,
    SafetyFindingOpened,
    SafetyFindingOverdue,
    ShiftChanged,
    StaffChanged,
    StaffHired,
    StaffOffboarded,
    TrainingAssigned,
    VisitCompleted,
)
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.services import meetings, visits
from club_crm.services import notifications as notify
from club_crm.services import staff as directory
from club_crm.settings import CrmSettings


@dataclass(frozen=True)
class Policy:
    post_visit_followup_delay: timedelta = timedelta(hours=24)
    survey_validity: timedelta = timedelta(days=14)
    # What notifications need (time zone, reminders, quiet hours); None: no messages.
    settings: CrmSettings | None = None

    @classmethod
    def from_settings(cls, settings: CrmSettings) -> Policy:
        return cls(settings.post_visit_followup_delay, settings.survey_validity, settings)


def build_consumer(policy: Policy = Policy()) -> EventConsumer:
    consumer = EventConsumer("crm")
    settings = policy.settings
    # The consumer stamps messages with the event's own time: the tables stay a function of
    # the events, and a test's clock drives them through the events it publishes.

    @consumer.handles(VisitCompleted)
    async def schedule_after_visit(session: AsyncSession, event: VisitCompleted,
                                   envelope: Envelope) -> None:
        await visits.record_completed_visit(
            session, event, envelope.time, followup_delay=policy.post_visit_followup_delay,
            survey_validity=policy.survey_validity)
        if settings is not None:
            await notify.visit_completed(session, event, envelope, envelope.time)

    @consumer.handles(BookingNoShow)
    async def count_no_show(session: AsyncSession, event: BookingNoShow,
                            envelope: Envelope) -> None:
        await visits.record_no_show(session, event)
        if settings is not None:
            await notify.booking_no_show(session, event, envelope, envelope.time)

    @consumer.handles(BookingCreated)
    async def booking_created(session: AsyncSession, event: BookingCreated,
                              envelope: Envelope) -> None:
        if settings is not None:
            await notify.booking_created(session, settings, event, envelope, envelope.time)

    @consumer.handles(BookingRescheduled)
    async def booking_moved(session: AsyncSession, event: BookingRescheduled,
                            envelope: Envelope) -> None:
        if settings is not None:
            await notify.booking_rescheduled(session, settings, event, envelope, envelope.time)

    # Events whose only effect here is the messages they call for: one table, one handler
    # shape (without notification settings, as in tools that only ask what is consumed,
    # nothing is written).
    messages = {
        BookingCancelled: notify.booking_cancelled,
        ComplaintOpened: notify.complaint_opened,
        ComplaintEscalated: notify.complaint_escalated,
        ComplaintResolved: notify.complaint_resolved,
        DisciplineOpened: notify.discipline_opened,
        TrainingAssigned: notify.training_assigned,
        ShiftChanged: notify.shift_changed,
        DisciplineRecorded: notify.discipline_recorded,
        PolicyRevised: notify.policy_revised,
    }
    for event_type, write in messages.items():
        consumer.handles(event_type)(_messages_of(write, settings))

    @consumer.handles(CustomerErased)
    async def customer_erased(session: AsyncSession, event: CustomerErased,
                              envelope: Envelope) -> None:
        await notify.customer_erased(session, event.customer_id, envelope.time)

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

    # Running the department (R2 §9.1): what the meetings' agendas count.
    @consumer.handles(IncidentReported)
    async def incident_reported(session: AsyncSession, event: IncidentReported,
                                envelope: Envelope) -> None:
        await meetings.record_incident(session, event)

    @consumer.handles(SafetyFindingOpened)
    async def finding_opened(session: AsyncSession, event: SafetyFindingOpened,
                             envelope: Envelope) -> None:
        await meetings.record_finding(
            session, finding_id=event.finding_id, owner_id=event.owner_id, due_at=event.due_at,
            state="open", area=event.area, item=event.item, opened_at=event.opened_at)

    @consumer.handles(SafetyFindingOverdue)
    async def finding_overdue(session: AsyncSession, event: SafetyFindingOverdue,
                              envelope: Envelope) -> None:
        await meetings.record_finding(
            session, finding_id=event.finding_id, owner_id=event.owner_id, due_at=event.due_at,
            state="overdue", overdue_at=event.overdue_at,
            escalated_to_role=event.escalated_to_role)

    @consumer.handles(SafetyFindingClosed)
    async def finding_closed(session: AsyncSession, event: SafetyFindingClosed,
                             envelope: Envelope) -> None:
        await meetings.record_finding(
            session, finding_id=event.finding_id, owner_id=event.owner_id, due_at=event.due_at,
            state="closed", closed_at=event.closed_at, on_time=event.on_time)

    return consumer


def _messages_of(write, settings: CrmSettings | None):
    async def handle(session: AsyncSession, event, envelope: Envelope) -> None:
        if settings is not None:
            await write(session, event, envelope, envelope.time)

    handle.__name__ = write.__name__
    return handle


consumer = build_consumer()
