"""What the hr service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox (so a redelivered
event never reaches it twice).

- `visit.completed`, `survey.submitted`, `complaint.opened`, `complaint.escalated`,
  `followup.completed`, `incident.reported` keep KPI facts (R2 §5.1; see domain/facts.py;
  an escalation for a missed first response credits it to whoever held the complaint);
- `complaint.resolved` keeps its facts and, when upheld, opens a discipline case for each
  staff member it names (R1 §8.2, R2 §8);
- `attendance.clocked` (door and badge systems) records clockings and judges the shifts
  around them (R2 §6.1);
- `task.completed`, `task.overdue`, `safety.finding_closed`, `improvement.action_completed`
  keep KPI facts about the department's own work (R2 §2.2, §3.5, §7.1);
- `customer.erased` removes the customer's id from the gift register (R1 §6).

A handler needs the app's settings (the attendance grace period) and clock: `build_app` puts
them in every session's `info` (see `HandlerContext.install`), so each app — a live service
and a rebuild side by side in one process — has its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from club_contracts import (
    AttendanceClocked,
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    CustomerErased,
    Event,
    FollowupCompleted,
    ImprovementActionCompleted,
    IncidentReported,
    SafetyFindingClosed,
    SurveySubmitted,
    TaskCompleted,
    TaskOverdue,
    VisitCompleted,
)
from club_platform.clock import Clock
from club_platform.consumer import EventConsumer, Unprocessable
from club_platform.db import Database
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.services import attendance, discipline, gifts, kpis
from club_hr.settings import HrSettings

consumer = EventConsumer("hr")

# How far ahead of HR's clock a door reader's clock may run.
CLOCK_SKEW = timedelta(minutes=15)


@dataclass(frozen=True)
class HandlerContext:
    grace: timedelta
    clock: Clock

    KEY = "club_hr.handlers"

    def install(self, database: Database) -> None:
        database.sessions.configure(info={self.KEY: self})

    @classmethod
    def of(cls, session: AsyncSession) -> HandlerContext:
        return session.info[cls.KEY]

    @classmethod
    def from_settings(cls, settings: HrSettings, clock: Clock) -> HandlerContext:
        return cls(timedelta(minutes=settings.attendance_grace_minutes), clock)

    def now(self) -> datetime:
        return self.clock.now()


@consumer.handles_batch(VisitCompleted, SurveySubmitted, ComplaintOpened, ComplaintEscalated,
                        FollowupCompleted, IncidentReported, TaskCompleted, TaskOverdue,
                        SafetyFindingClosed, ImprovementActionCompleted)
async def record_kpi_facts(session: AsyncSession, items: list[tuple[Event, Envelope]]) -> None:
    # Facts name staff ids only; facts about someone HR does not know (yet) are kept. A
    # whole polled batch is written in one statement (the inbox still guards each event).
    await kpis.record_facts_many(session, items)


@consumer.handles(ComplaintResolved)
async def follow_resolved_complaint(session: AsyncSession, event: ComplaintResolved,
                                    envelope: Envelope) -> None:
    await kpis.record_facts(session, event, envelope)
    if event.upheld and event.subject_staff_ids:
        # R1 §8.2, R2 §8: an upheld complaint against staff opens a case for each.
        await discipline.open_for_upheld_complaint(
            session, now=HandlerContext.of(session).now(), complaint_id=event.complaint_id,
            staff_ids=event.subject_staff_ids, opened_at=event.opened_at,
            resolved_at=event.resolved_at, source_event_id=envelope.id)


@consumer.handles(AttendanceClocked)
async def record_door_clocking(session: AsyncSession, event: AttendanceClocked,
                               envelope: Envelope) -> None:
    # R2 §6.1: door and badge readers report arrivals and departures. Someone HR does not
    # know yet is still recorded; their shifts will judge the clocking once scheduled.
    context = HandlerContext.of(session)
    if event.at > context.now() + CLOCK_SKEW:
        # A reader whose clock is wrong: no retry fixes it, so it goes to dead letters for
        # the door system's owners to look at.
        raise Unprocessable(f"clocking time {event.at.isoformat()} is more than {CLOCK_SKEW} "
                            f"ahead of HR's clock (device {event.device_id})")
    await attendance.record_clocking(
        session, now=context.now(), staff_id=event.staff_id, direction=event.direction,
        at=event.at, source="door", device_id=event.device_id, source_event_id=envelope.id,
        grace=context.grace)


@consumer.handles(CustomerErased)
async def forget_customer(session: AsyncSession, event: CustomerErased, _: Envelope) -> None:
    # R1 §6: the gift register keeps no customer id once CRM has erased the customer (KPI
    # facts never keep one).
    await gifts.forget_customer(session, customer_id=event.customer_id,
                                erased_at=event.erased_at)


# KPI facts are a pure function of each event (domain/facts.py), kept only from the other
# services' events: rebuildable from offset 0 (`club-hr rebuild kpi_facts`). Replaying
# complaint.resolved opens no second case: cases are unique per complaint and staff member.
consumer.projection(
    "kpi_facts",
    topics=("visit.completed", "survey.submitted", "complaint.opened", "complaint.escalated",
            "complaint.resolved", "followup.completed", "incident.reported",
            "task.completed", "task.overdue", "safety.finding_closed",
            "improvement.action_completed"),
    tables=("kpi_facts",),
    description="the facts assessments count (R2 §5.1); assessments already published keep "
                "their own copy of what they counted")
