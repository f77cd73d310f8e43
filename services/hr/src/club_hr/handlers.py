"""What the hr service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox (so a redelivered
event never reaches it twice).

The handlers need the service's settings (the attendance grace period) and its clock, so the
consumer is built per app by `build_consumer`; `CONSUMED` lists the event types for tools and
tests that only need the topics.
"""

from __future__ import annotations

from datetime import timedelta

from club_contracts import (
    AttendanceClocked,
    ComplaintOpened,
    ComplaintResolved,
    Event,
    FollowupCompleted,
    IncidentReported,
    SurveySubmitted,
    VisitCompleted,
)
from club_platform.clock import Clock
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.services import attendance, discipline, kpis
from club_hr.settings import HrSettings

# The other services' events that say something about someone's work (R2 §5.1).
KPI_SOURCES = (VisitCompleted, SurveySubmitted, ComplaintOpened, ComplaintResolved,
               FollowupCompleted, IncidentReported)
CONSUMED = (*KPI_SOURCES, AttendanceClocked)
TOPICS = sorted({event_type.topic for event_type in CONSUMED})


def build_consumer(settings: HrSettings, clock: Clock) -> EventConsumer:
    consumer = EventConsumer("hr")
    grace = timedelta(minutes=settings.attendance_grace_minutes)

    @consumer.handles(ComplaintResolved)
    async def follow_resolved_complaint(session: AsyncSession, event: ComplaintResolved,
                                        envelope: Envelope) -> None:
        await kpis.record_facts(session, event, envelope)
        if event.upheld and event.subject_staff_ids:
            # R1 §8.2, R2 §8: an upheld complaint against staff opens a case for each.
            await discipline.open_for_upheld_complaint(
                session, now=clock.now(), complaint_id=event.complaint_id,
                staff_ids=event.subject_staff_ids, opened_at=event.opened_at,
                resolved_at=event.resolved_at, source_event_id=envelope.id)

    @consumer.handles(*(t for t in KPI_SOURCES if t is not ComplaintResolved))
    async def record_kpi_facts(session: AsyncSession, event: Event,
                               envelope: Envelope) -> None:
        # Facts name staff ids only; facts about someone HR does not know (yet) are kept.
        await kpis.record_facts(session, event, envelope)

    @consumer.handles(AttendanceClocked)
    async def record_door_clocking(session: AsyncSession, event: AttendanceClocked,
                                   envelope: Envelope) -> None:
        # R2 §6.1: door and badge readers report arrivals and departures. Someone HR does not
        # know yet is still recorded; their shifts will judge the clocking once scheduled.
        await attendance.record_clocking(
            session, now=clock.now(), staff_id=event.staff_id, direction=event.direction,
            at=event.at, source="door", device_id=event.device_id,
            source_event_id=envelope.id, grace=grace)

    assert {t.ce_type() for t in consumer.event_types} == {t.ce_type() for t in CONSUMED}
    return consumer
