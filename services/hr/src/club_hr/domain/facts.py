"""KPI facts (R2 §5.1): what the other services' events say about someone's work, one fact per
event and staff member, kept so that every assessment can name the events it counted.

A fact is a pure function of one event, so the facts do not depend on the order events arrive
in: replaying the topics from the start into an empty database gives exactly the same facts
(docs/reliability.md). Facts name staff ids only; HR need not know the staff member yet. No customer
id is kept: HR assesses its staff, not the club's customers (R1 §4.4, §6).

| kind               | staff       | from               | value             | attrs         |
|--------------------|-------------|--------------------|-------------------|---------------|
| visit              | (dept.)     | visit.completed    |                   |               |
| visit_served       | each served | visit.completed    |                   | host          |
| survey             | (dept.)     | survey.submitted   | csat              |               |
| survey_rating      | each named  | survey.submitted   | csat              |               |
| complaint          | (dept.)     | complaint.opened   |                   | category, …   |
| upheld_complaint   | each named  | complaint.resolved |                   |               |
| complaint_resolved | handled_by  | complaint.resolved | hours to resolve  | within_sla, … |
| first_response     | the holder  | complaint.escalated, complaint.resolved | | met, due_at  |
| escalation         | (dept.)     | complaint.escalated |                  | to, level     |
| followup           | staff_id    | followup.completed |                   | on_time, …    |
| incident_reported  | reported_by | incident.reported  | minutes to report | category, …   |
| task               | owner_id    | task.completed, task.overdue |         | on_time       |
| finding_closed     | owner_id    | safety.finding_closed |                | on_time       |
| improvement_action | owner_id    | improvement.action_completed |         | on_time       |

`visit_served` keeps the minutes of service the staff member gave and the visit's total, so
a survey about the visit can be credited by share (services/assessments.py). `first_response`
is credited to whoever held the complaint when its first response fell due (or who answered
in time); the escalation for a missed first response and the resolution both say so, and the
fact is kept once per complaint and holder, timed at the deadline.

Each fact's `subject_id` is the business aggregate (visit, survey response, complaint,
follow-up, incident, task, finding, action); a second event about the same aggregate (a
re-sent completion) does not make a second fact.

A task is judged on the day it fell due (the fact is timed at `due_at`), once: `task.overdue`
and `task.completed` make the same fact, not on time, whichever comes first, so a task that
went overdue and was then done late counts once, as late; one overdue and never done counts
as not on time; only a completion by the due time counts as on time. (Reception emits the
two on the task's key, so they arrive in that order; an on-time completion has no overdue.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from club_contracts import (
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
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

HOURS_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Fact:
    kind: str
    staff_id: UUID | None  # None: a department-wide fact
    subject_id: UUID
    occurred_at: datetime
    value: Decimal | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


def _unique(ids: list[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))


def _hours(start: datetime, end: datetime) -> Decimal:
    return (Decimal(str((end - start).total_seconds())) / 3600).quantize(HOURS_PLACES)


def _minutes(start: datetime, end: datetime) -> Decimal:
    return (Decimal(str(max(0.0, (end - start).total_seconds()))) / 60).quantize(HOURS_PLACES)


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _first_response(holder: UUID, complaint_id: UUID, due_at: datetime, met: bool) -> Fact:
    return Fact("first_response", holder, complaint_id, due_at,
                attrs={"met": met, "due_at": due_at.isoformat()})


def facts_from(event: Event) -> list[Fact]:
    match event:
        case VisitCompleted():
            served = _unique([event.host_staff_id, *event.staff_ids,
                              *(s.staff_id for s in event.services)])
            minutes: dict[UUID, Decimal] = {}
            for service in event.services:
                spent = _minutes(service.started_at, service.ended_at)
                minutes[service.staff_id] = minutes.get(service.staff_id, Decimal(0)) + spent
            total = sum(minutes.values(), Decimal(0))
            return [Fact("visit", None, event.visit_id, event.completed_at)] + [
                Fact("visit_served", staff_id, event.visit_id, event.completed_at,
                     attrs={"host": staff_id == event.host_staff_id,
                            "service_minutes": _text(minutes.get(staff_id, Decimal(0))),
                            "visit_service_minutes": _text(total)})
                for staff_id in served
            ]
        case SurveySubmitted():
            csat = Decimal(event.csat)
            attrs = {"visit_id": str(event.visit_id) if event.visit_id else None}
            return [Fact("survey", None, event.response_id, event.submitted_at, csat, attrs)] + [
                Fact("survey_rating", staff_id, event.response_id, event.submitted_at, csat,
                     attrs)
                for staff_id in _unique(event.staff_ids)
            ]
        case ComplaintOpened():
            return [Fact("complaint", None, event.complaint_id, event.opened_at,
                         attrs={"category": event.category, "severity": event.severity})]
        case ComplaintResolved():
            upheld = [
                Fact("upheld_complaint", staff_id, event.complaint_id, event.resolved_at)
                for staff_id in _unique(event.subject_staff_ids)
            ] if event.upheld else []
            resolved = Fact("complaint_resolved", event.handled_by, event.complaint_id,
                            event.resolved_at, _hours(event.opened_at, event.resolved_at),
                            {"within_sla": event.within_sla, "upheld": event.upheld})
            first = []
            if event.first_response_due_at is not None and event.first_response_by is not None:
                answered = event.first_responded_at
                first = [_first_response(event.first_response_by, event.complaint_id,
                                         event.first_response_due_at,
                                         answered is not None
                                         and answered <= event.first_response_due_at)]
            return [*upheld, resolved, *first]
        case ComplaintEscalated():
            # the department's escalation (kept once per complaint: its first rung)
            found = [Fact("escalation", None, event.complaint_id, event.escalated_at,
                          attrs={"to": event.escalated_to_role, "level": event.level,
                                 "reason": event.reason})]
            if (event.breached == "first_response" and event.held_by is not None
                    and event.due_at is not None):
                found.append(_first_response(event.held_by, event.complaint_id, event.due_at,
                                             False))
            return found
        case FollowupCompleted():
            return [Fact("followup", event.staff_id, event.followup_id, event.completed_at,
                         attrs={"on_time": event.completed_at <= event.due_at,
                                "reason": event.reason, "outcome": event.outcome,
                                "complaint_id": str(event.complaint_id)
                                if event.complaint_id else None})]
        case IncidentReported():
            minutes = (Decimal(str((event.reported_at - event.occurred_at).total_seconds()))
                       / 60).quantize(HOURS_PLACES)
            return [Fact("incident_reported", event.reported_by, event.incident_id,
                         event.reported_at, minutes,
                         {"category": event.category, "severity": event.severity})]
        case TaskCompleted():
            # R2 §2.2: the deputy follows tasks up; the owner answers for them
            return [Fact("task", event.owner_id, event.task_id, event.due_at,
                         attrs={"on_time": event.on_time})]
        case TaskOverdue():
            return [Fact("task", event.owner_id, event.task_id, event.due_at,
                         attrs={"on_time": False})]
        case SafetyFindingClosed():
            # R2 §7.1: a finding of a safety round, fixed by its owner
            return [Fact("finding_closed", event.owner_id, event.finding_id, event.closed_at,
                         attrs={"on_time": event.on_time, "due_at": event.due_at.isoformat()})]
        case ImprovementActionCompleted():
            # R2 §3.5: an action agreed at the service meeting
            return [Fact("improvement_action", event.owner_id, event.action_id,
                         event.completed_at,
                         attrs={"on_time": event.on_time, "due_at": event.due_at.isoformat(),
                                "meeting_id": str(event.meeting_id)})]
    return []
