"""Catalogue v2: the majors that replace free text on the bus with codes.

In v1, `complaint.resolved.resolution` and `reward.granted.reason` carried what a person
typed, which can name a customer or a colleague (R1 §4.4, §6.1), and `booking.cancelled.reason`
was declared as any string although the booking service only ever sends a code. A v2 carries
a code declared as an enum; the text itself stays in the owning service, readable over its
API (CRM: `GET /complaints/{id}`; HR: `GET /rewards`).

Both majors travel side by side on the same topic during the deprecation window (`DEPRECATED`
below): each change is published once as v1 and once as v2, with different `ce_id`s, so a
subscriber reads exactly one of them. From v2's release the v1 text fields no longer carry
what a person typed: `complaint.resolved.resolution` and `reward.granted.reason` carry the
code's standard wording (`RESOLUTION_WORDING`, `REWARD_REASON_WORDING`).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args
from uuid import UUID

from club_contracts.base import Event, UtcDatetime
from club_contracts.catalogue import (
    BookingCancelled,
    Compensation,
    ComplaintResolved,
    RewardGranted,
    _BookingEvent,
    _ComplaintEvent,
)
from pydantic import Field

# The last day the v1 of each topic below is published (six months after v2 was released,
# 2026-12-03); after it only v2 is. `docs/events.md` states the same.
DEPRECATION_ENDS = "2027-06-30"

CancelReasonCode = Literal[
    "customer_request", "illness", "schedule_change", "club_closure", "resource_unavailable",
    "duplicate", "other", "customer_erased",
]

ResolutionCode = Literal[
    "explained", "apologised", "service_redone", "compensated", "policy_clarified",
    "staff_coached", "other",
]

# What a v1 subscriber finds in `resolution` from v2's release on: the code's standard
# wording, never the text a person typed.
RESOLUTION_WORDING: dict[str, str] = {
    "explained": "The club explained what happened.",
    "apologised": "The club apologised.",
    "service_redone": "The service was provided again.",
    "compensated": "The customer was compensated.",
    "policy_clarified": "The club clarified the policy that applies.",
    "staff_coached": "The staff involved were coached.",
    "other": "Resolved; the details are kept by customer relations.",
}

RewardReasonCode = Literal[
    "outstanding_assessment", "customer_praise", "exemplary_conduct", "safety_action",
    "training_excellence", "long_service", "other",
]

REWARD_REASON_WORDING: dict[str, str] = {
    "outstanding_assessment": "An outstanding assessment.",
    "customer_praise": "Praise from customers.",
    "exemplary_conduct": "Exemplary conduct.",
    "safety_action": "Action that kept people safe.",
    "training_excellence": "Excellence in training.",
    "long_service": "Long service.",
    "other": "Recognised by the club; the details are kept by HR.",
}

assert set(RESOLUTION_WORDING) == set(get_args(ResolutionCode))
assert set(REWARD_REASON_WORDING) == set(get_args(RewardReasonCode))


class BookingCancelledV2(_BookingEvent):
    """A booking was cancelled; `reason` is a code (v1 declared it as any string)."""

    topic = "booking.cancelled"
    major = 2

    booking_id: UUID
    customer_id: UUID
    reason: CancelReasonCode
    late: bool
    cancelled_by: UUID
    cancelled_at: UtcDatetime


class ComplaintResolvedV2(_ComplaintEvent):
    """A complaint was resolved; `resolution_code` replaces v1's free-text `resolution` (the
    explanation given to the customer stays in CRM, readable over its API)."""

    topic = "complaint.resolved"
    major = 2

    complaint_id: UUID
    customer_id: UUID
    handled_by: UUID
    subject_staff_ids: list[UUID]
    upheld: bool
    resolution_code: ResolutionCode
    compensation: Compensation | None = None
    opened_at: UtcDatetime
    resolved_at: UtcDatetime
    within_sla: bool
    # The first-response clock, as on v1 (see ComplaintResolved there).
    first_response_due_at: UtcDatetime | None = None
    first_responded_at: UtcDatetime | None = None
    first_response_by: UUID | None = None


class RewardGrantedV2(Event):
    """A reward was granted; `reason_code` replaces v1's free-text `reason` (the text stays
    in HR, readable over its API)."""

    topic = "reward.granted"
    major = 2
    key_field = "reward_id"
    producer = "hr"

    reward_id: UUID
    staff_id: UUID
    kind: Literal["commendation", "bonus", "promotion"]
    reason_code: RewardReasonCode
    rule_ref: Annotated[str, Field(min_length=1, max_length=64)]
    granted_at: UtcDatetime


# ce_type of each deprecated major → the major that replaces it.
DEPRECATED: dict[str, str] = {
    BookingCancelled.ce_type(): BookingCancelledV2.ce_type(),
    ComplaintResolved.ce_type(): ComplaintResolvedV2.ce_type(),
    RewardGranted.ce_type(): RewardGrantedV2.ce_type(),
}
