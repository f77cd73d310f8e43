"""Catalogue v1 (docs/events.md): one model per topic, with exactly the contract's fields.

No customer's personal data travels on the bus (R1 §4.4, §6): customers appear only as
`customer_id`. Staff appear by display name in `staff.hired`. Free text moved to codes in
catalogue v2 (`catalogue_v2.py`).
Nullable fields default to None so that a producer may leave them out.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from club_contracts.base import Event, Money, StaffRole, UtcDatetime
from pydantic import BaseModel, ConfigDict, Field, model_validator

ServiceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def _ends_after_start(starts_at, ends_at, what: str) -> None:
    if ends_at <= starts_at:
        raise ValueError(f"{what} must end after it starts")


# ---------------------------------------------------------------- booking (R1 §3.1)


class _BookingEvent(Event):
    key_field = "booking_id"
    producer = "booking"


class BookingCreated(_BookingEvent):
    topic = "booking.created"

    booking_id: UUID
    customer_id: UUID
    resource_id: UUID
    service_code: ServiceCode
    channel: Literal["online", "offline"]
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    party_size: int = Field(ge=1, le=1000)
    staff_id: UUID | None = None
    created_by: UUID
    created_at: UtcDatetime

    @model_validator(mode="after")
    def _check_times(self) -> BookingCreated:
        _ends_after_start(self.starts_at, self.ends_at, "a booking")
        return self


class BookingRescheduled(_BookingEvent):
    topic = "booking.rescheduled"

    booking_id: UUID
    customer_id: UUID
    resource_id: UUID
    previous_starts_at: UtcDatetime
    previous_ends_at: UtcDatetime
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    rescheduled_by: UUID
    rescheduled_at: UtcDatetime

    @model_validator(mode="after")
    def _check_times(self) -> BookingRescheduled:
        _ends_after_start(self.starts_at, self.ends_at, "a booking")
        return self


class BookingCancelled(_BookingEvent):
    topic = "booking.cancelled"

    booking_id: UUID
    customer_id: UUID
    reason: ShortText
    late: bool
    cancelled_by: UUID
    cancelled_at: UtcDatetime


class BookingNoShow(_BookingEvent):
    topic = "booking.no_show"

    booking_id: UUID
    customer_id: UUID
    resource_id: UUID
    starts_at: UtcDatetime
    marked_at: UtcDatetime


class BookingFulfilled(_BookingEvent):
    """The booked customer came: reception checked them in (R1 §3.2). Published once per
    booking, when it becomes fulfilled, also after a no-show mark (they came late)."""

    topic = "booking.fulfilled"

    booking_id: UUID
    customer_id: UUID | None = None  # none once CRM erased the customer
    resource_id: UUID
    visit_id: UUID
    starts_at: UtcDatetime
    checked_in_at: UtcDatetime
    after_no_show: bool


# ---------------------------------------------------------------- reception (R1 §3.2–3.4, R2 §7)


class _VisitEvent(Event):
    key_field = "visit_id"
    producer = "reception"


class VisitCheckedIn(_VisitEvent):
    topic = "visit.checked_in"

    visit_id: UUID
    booking_id: UUID | None = None
    customer_id: UUID
    location_id: UUID
    host_staff_id: UUID
    walk_in: bool
    checked_in_at: UtcDatetime


class VisitServiceRecorded(_VisitEvent):
    topic = "visit.service_recorded"

    visit_id: UUID
    record_id: UUID
    service_code: ServiceCode
    staff_id: UUID
    started_at: UtcDatetime
    ended_at: UtcDatetime

    @model_validator(mode="after")
    def _check_times(self) -> VisitServiceRecorded:
        _ends_after_start(self.started_at, self.ended_at, "a service")
        return self


class ServiceDelivered(_Part):
    service_code: ServiceCode
    staff_id: UUID
    started_at: UtcDatetime
    ended_at: UtcDatetime


class VisitCompleted(_VisitEvent):
    topic = "visit.completed"

    visit_id: UUID
    booking_id: UUID | None = None
    customer_id: UUID
    location_id: UUID
    host_staff_id: UUID
    staff_ids: list[UUID]
    services: list[ServiceDelivered]
    checked_in_at: UtcDatetime
    completed_at: UtcDatetime


class IncidentReported(Event):
    topic = "incident.reported"
    key_field = "incident_id"
    producer = "reception"

    incident_id: UUID
    category: Literal["safety", "facility", "security", "other"]
    severity: Literal["low", "medium", "high", "critical"]
    location_id: UUID
    reported_by: UUID
    visit_id: UUID | None = None
    occurred_at: UtcDatetime
    reported_at: UtcDatetime


# ------------------------------------------------ reception: running the day (R1 §2.2, §8.1;
# R2 §2.2, §7.1). Codes, ids and times only: a task's title and checklist, a round's notes
# and a finding's description are written by people and stay in reception.

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]
EscalatedTo = Literal["deputy", "head"]


class _TaskEvent(Event):
    key_field = "task_id"
    producer = "reception"


class TaskAssigned(_TaskEvent):
    """A task given to a staff member by the head or deputy's plan (R1 §2.2, §8.1): a one-off
    or one occurrence of a routine (opening, closing, the daily briefing)."""

    topic = "task.assigned"

    task_id: UUID
    plan_id: UUID | None = None
    owner_id: UUID
    location_id: UUID | None = None
    routine: Code | None = None  # the recurring routine it is an occurrence of
    due_at: UtcDatetime
    assigned_by: UUID
    assigned_at: UtcDatetime


class TaskCompleted(_TaskEvent):
    """Done, with its evidence kept in reception; `on_time` compares with `due_at`."""

    topic = "task.completed"

    task_id: UUID
    owner_id: UUID
    completed_by: UUID
    due_at: UtcDatetime
    completed_at: UtcDatetime
    on_time: bool


class TaskOverdue(_TaskEvent):
    """Past due and not done: escalated to the deputy (R2 §2.2 follows up tasks), or to the
    head when the deputy owns it."""

    topic = "task.overdue"

    task_id: UUID
    owner_id: UUID
    due_at: UtcDatetime
    escalated_to_role: EscalatedTo
    overdue_at: UtcDatetime


class _FindingEvent(Event):
    key_field = "finding_id"
    producer = "reception"


class SafetyRoundCompleted(Event):
    """A safety round walked and its checklist answered (R2 §7.1)."""

    topic = "safety.round_completed"
    key_field = "round_id"
    producer = "reception"

    round_id: UUID
    area: Code
    conducted_by: UUID
    items_checked: int = Field(ge=0, le=1000)
    items_failed: int = Field(ge=0, le=1000)
    completed_at: UtcDatetime


class SafetyFindingOpened(_FindingEvent):
    """A failed checklist item, now a finding with an owner and a due date."""

    topic = "safety.finding_opened"

    finding_id: UUID
    round_id: UUID
    area: Code
    item: Code
    owner_id: UUID
    due_at: UtcDatetime
    incident_id: UUID | None = None  # the incident it opened (R2 §7.2), if any
    opened_at: UtcDatetime


class SafetyFindingOverdue(_FindingEvent):
    topic = "safety.finding_overdue"

    finding_id: UUID
    owner_id: UUID
    due_at: UtcDatetime
    escalated_to_role: EscalatedTo
    overdue_at: UtcDatetime


class SafetyFindingClosed(_FindingEvent):
    """Fixed, with evidence kept in reception; `on_time` compares with `due_at`."""

    topic = "safety.finding_closed"

    finding_id: UUID
    owner_id: UUID
    closed_by: UUID
    due_at: UtcDatetime
    closed_at: UtcDatetime
    on_time: bool


# ------------------------------------------------ crm (R1 §2.4, §3.5, §6; R2 §3.3–3.5)


class _CustomerEvent(Event):
    key_field = "customer_id"
    producer = "crm"


class CustomerRegistered(_CustomerEvent):
    topic = "customer.registered"

    customer_id: UUID
    tier: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
    registered_at: UtcDatetime


class CustomerErased(_CustomerEvent):
    topic = "customer.erased"

    customer_id: UUID
    erased_at: UtcDatetime


class _ComplaintEvent(Event):
    key_field = "complaint_id"
    producer = "crm"


ComplaintCategory = Literal["service", "staff_conduct", "facility", "billing", "safety", "other"]
ComplaintChannel = Literal["in_person", "phone", "email", "online", "app", "survey", "other"]


class ComplaintOpened(_ComplaintEvent):
    topic = "complaint.opened"

    complaint_id: UUID
    customer_id: UUID
    visit_id: UUID | None = None
    subject_staff_ids: list[UUID]
    category: ComplaintCategory
    severity: Literal["low", "medium", "high"]
    channel: ComplaintChannel
    opened_at: UtcDatetime
    sla_due_at: UtcDatetime


class ComplaintEscalated(_ComplaintEvent):
    topic = "complaint.escalated"

    complaint_id: UUID
    level: int = Field(ge=1, le=10)
    reason: Literal["sla_breach", "severity", "manual"]
    escalated_to_role: Literal["deputy", "head"]
    escalated_at: UtcDatetime
    # Optional (added compatibly): for an SLA breach, which clock ran out, when it fell due,
    # and who held the complaint then (the staff member the missed deadline is credited to).
    breached: Literal["first_response", "resolution"] | None = None
    due_at: UtcDatetime | None = None
    held_by: UUID | None = None


class Compensation(_Part):
    """A compensation plan given with a complaint's explanation (R2 §3.4)."""

    kind: Literal["none", "voucher", "refund", "service_credit", "gift"]
    value: Money | None = None


class ComplaintResolved(_ComplaintEvent):
    topic = "complaint.resolved"

    complaint_id: UUID
    customer_id: UUID
    handled_by: UUID
    subject_staff_ids: list[UUID]
    upheld: bool
    resolution: Annotated[str, Field(min_length=1, max_length=2000)]
    compensation: Compensation | None = None
    opened_at: UtcDatetime
    resolved_at: UtcDatetime
    within_sla: bool
    # Optional (added compatibly): the first-response clock. `first_response_by` is who it is
    # credited to: the one who answered in time, or whoever held the complaint when the first
    # response fell due unanswered.
    first_response_due_at: UtcDatetime | None = None
    first_responded_at: UtcDatetime | None = None
    first_response_by: UUID | None = None


class FollowupCompleted(Event):
    topic = "followup.completed"
    key_field = "followup_id"
    producer = "crm"

    followup_id: UUID
    customer_id: UUID
    reason: Literal["post_visit", "post_complaint"]
    visit_id: UUID | None = None
    complaint_id: UUID | None = None
    staff_id: UUID
    due_at: UtcDatetime
    completed_at: UtcDatetime
    outcome: Literal["satisfied", "neutral", "dissatisfied", "unreachable"]


class FollowupCancelled(Event):
    """A follow-up call that will not be made: its complaint was reopened (a new call follows
    the new resolution) or the customer was erased (R1 §4.4)."""

    topic = "followup.cancelled"
    key_field = "followup_id"
    producer = "crm"

    followup_id: UUID
    customer_id: UUID
    reason: Literal["post_visit", "post_complaint"]
    visit_id: UUID | None = None
    complaint_id: UUID | None = None
    staff_id: UUID | None = None  # the specialist it was assigned to, if any
    due_at: UtcDatetime
    cancelled_at: UtcDatetime
    cancel_reason: Literal["complaint_reopened", "customer_erased"]


class SurveySubmitted(Event):
    topic = "survey.submitted"
    key_field = "response_id"
    producer = "crm"

    response_id: UUID
    customer_id: UUID
    visit_id: UUID | None = None
    staff_ids: list[UUID]
    csat: int = Field(ge=1, le=5)
    nps: int | None = Field(default=None, ge=0, le=10)
    submitted_at: UtcDatetime


# ------------------------------------------------ crm: improving the service (R1 §5.3; R2 §9.1)


class ServiceMeetingHeld(Event):
    """A department service meeting held, with who attended; its minutes stay in CRM."""

    topic = "meeting.held"
    key_field = "meeting_id"
    producer = "crm"

    meeting_id: UUID
    chaired_by: UUID
    attendee_ids: list[UUID] = Field(max_length=500)
    held_at: UtcDatetime


class _ActionEvent(Event):
    key_field = "action_id"
    producer = "crm"


class ImprovementActionAssigned(_ActionEvent):
    """An action agreed at a meeting, with an owner and a due date, and the complaints and
    incidents it answers."""

    topic = "improvement.action_assigned"

    action_id: UUID
    meeting_id: UUID
    owner_id: UUID
    due_at: UtcDatetime
    complaint_ids: list[UUID] = Field(default_factory=list, max_length=100)
    incident_ids: list[UUID] = Field(default_factory=list, max_length=100)
    assigned_at: UtcDatetime


class ImprovementActionCompleted(_ActionEvent):
    topic = "improvement.action_completed"

    action_id: UUID
    meeting_id: UUID
    owner_id: UUID
    due_at: UtcDatetime
    completed_at: UtcDatetime
    on_time: bool


# ---------------------------------------------------------------- hr (R1 §7, §9.2; R2 §5, §6, §8)


class _StaffEvent(Event):
    key_field = "staff_id"
    producer = "hr"


class StaffHired(_StaffEvent):
    topic = "staff.hired"

    staff_id: UUID
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    role: StaffRole
    department: Annotated[str, Field(min_length=1, max_length=120)]
    hired_at: UtcDatetime


class StaffChanged(_StaffEvent):
    topic = "staff.changed"

    staff_id: UUID
    role: StaffRole
    status: Literal["active", "suspended", "offboarded"]
    effective_at: UtcDatetime


class StaffOffboarded(_StaffEvent):
    topic = "staff.offboarded"

    staff_id: UUID
    effective_at: UtcDatetime


class Kpi(_Part):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    value: float
    target: float
    weight: int = Field(ge=0, le=100)
    score: float = Field(ge=0, le=5)


class KpiAdjustment(_Part):
    """A KPI score the head adjusted on review: the `score` in `kpis` is the adjusted one;
    this keeps the computed one. The head's written reason is about a colleague, so it stays
    in HR (GET /assessments/{id}) and never travels on the bus."""

    code: Annotated[str, Field(min_length=1, max_length=64)]
    computed_score: float = Field(ge=0, le=5)
    adjusted_score: float = Field(ge=0, le=5)


class AssessmentPublished(Event):
    topic = "assessment.published"
    key_field = "assessment_id"
    producer = "hr"

    assessment_id: UUID
    staff_id: UUID
    role: StaffRole
    period_start: date
    period_end: date
    kpis: list[Kpi]
    total_score: float = Field(ge=0, le=5)
    rating: Literal["outstanding", "good", "meets", "needs_improvement", "unsatisfactory"]
    published_at: UtcDatetime
    # Published after the head's review; `total_score` and `rating` are the adjusted ones
    # when the head adjusted the total, beside the computed total. The written reasons stay
    # in HR (free text about a colleague never travels on the bus).
    reviewed_by: UUID | None = None
    adjustments: list[KpiAdjustment] | None = None
    computed_total_score: float | None = Field(default=None, ge=0, le=5)


DisciplineAction = Literal["verbal_warning", "written_warning", "fine", "suspension", "termination"]


class DisciplineOpened(Event):
    """A case opened about a staff member (R1 §7.2): by hand, by an upheld complaint or by an
    attendance violation, or a withdrawn one opened again. Nothing is decided yet; what was
    written about it stays in HR (GET /discipline/cases/{id})."""

    topic = "discipline.opened"
    key_field = "case_id"
    producer = "hr"

    case_id: UUID
    staff_id: UUID
    rule_ref: Annotated[str, Field(min_length=1, max_length=64)]
    violation: Annotated[str, Field(min_length=1, max_length=120)]
    origin: Literal["manual", "complaint", "attendance"]
    occurred_at: UtcDatetime
    opened_by: UUID | None = None  # the manager, for a case opened by hand
    opened_at: UtcDatetime
    source_event_id: UUID | None = None


class DisciplineRecorded(Event):
    topic = "discipline.recorded"
    key_field = "case_id"
    producer = "hr"

    case_id: UUID
    staff_id: UUID
    rule_ref: Annotated[str, Field(min_length=1, max_length=64)]
    violation: Annotated[str, Field(min_length=1, max_length=120)]
    action: DisciplineAction
    fine: Money | None = None
    suspension_days: int | None = Field(default=None, ge=1, le=365)
    decided_by: UUID
    decided_at: UtcDatetime
    source_event_id: UUID | None = None


class DisciplineDismissed(Event):
    """A case closed with no violation found: nothing stands against the staff member. The
    reason given stays in HR."""

    topic = "discipline.dismissed"
    key_field = "case_id"
    producer = "hr"

    case_id: UUID
    staff_id: UUID
    rule_ref: Annotated[str, Field(min_length=1, max_length=64)]
    violation: Annotated[str, Field(min_length=1, max_length=120)]
    dismissed_by: UUID
    dismissed_at: UtcDatetime
    source_event_id: UUID | None = None


class DisciplineAppealDecided(Event):
    """An appeal decided (R1 §7.2): the action upheld, reduced (a `discipline.recorded` with
    the new action follows) or overturned (nothing stands). The reason stays in HR."""

    topic = "discipline.appeal_decided"
    key_field = "case_id"
    producer = "hr"

    case_id: UUID
    staff_id: UUID
    outcome: Literal["upheld", "reduced", "overturned"]
    action_appealed: DisciplineAction
    action: DisciplineAction | None = None  # what stands now; none when overturned
    decided_by: UUID
    decided_at: UtcDatetime


class RewardGranted(Event):
    topic = "reward.granted"
    key_field = "reward_id"
    producer = "hr"

    reward_id: UUID
    staff_id: UUID
    kind: Literal["commendation", "bonus", "promotion"]
    reason: ShortText
    rule_ref: Annotated[str, Field(min_length=1, max_length=64)]
    granted_at: UtcDatetime


class PolicyRevised(Event):
    topic = "policy.revised"
    key_field = "policy_id"
    producer = "hr"

    policy_id: UUID
    version: int = Field(ge=1)
    title: ShortText
    effective_at: UtcDatetime
    requires_training: bool


class TrainingAssigned(Event):
    """A staff member required to attend a training session (R2 §4.2; R1 §9.2 for a policy
    revision's): one event per person, keyed by the session so that a session's assignments
    stay in order. The session's title is written by a person and stays in HR
    (GET /training/sessions/{id}); the clause it is held under travels instead."""

    topic = "training.assigned"
    key_field = "session_id"
    producer = "hr"

    session_id: UUID
    staff_id: UUID
    clause: Annotated[str, Field(min_length=1, max_length=64)]
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    policy_id: UUID | None = None  # the policy revision the training is for, if any
    policy_version: int | None = Field(default=None, ge=1)
    assigned_at: UtcDatetime

    @model_validator(mode="after")
    def _valid(self) -> TrainingAssigned:
        _ends_after_start(self.starts_at, self.ends_at, "a training session")
        return self


class ShiftChanged(Event):
    """A staff member's rota changed: a shift scheduled, or one cancelled. A move is a
    cancellation and a new shift (HR has no other way to move one). Shifts an offboarding
    calls off are not announced: `staff.offboarded` says it."""

    topic = "shift.changed"
    key_field = "shift_id"
    producer = "hr"

    shift_id: UUID
    staff_id: UUID
    change: Literal["scheduled", "cancelled"]
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    changed_by: UUID | None = None
    changed_at: UtcDatetime

    @model_validator(mode="after")
    def _valid(self) -> ShiftChanged:
        _ends_after_start(self.starts_at, self.ends_at, "a shift")
        return self


class AttendanceClocked(Event):
    """Published by outside door or badge systems and consumed by HR (R2 §6.1)."""

    topic = "attendance.clocked"
    key_field = "staff_id"
    producer = "door"

    staff_id: UUID
    direction: Literal["in", "out"]
    at: UtcDatetime
    device_id: UUID
