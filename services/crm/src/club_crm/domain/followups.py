"""Follow-up calls (R1 §2.4, §3.5, §5.4): after every completed visit and after every resolved
complaint a CRM specialist calls the customer back, and records how it went.

Fair assignment: a new follow-up (or complaint) goes to the active CRM specialist — from the
staff events HR publishes — with the fewest open items of that kind; ties go to whoever was
given work longest ago (never first), then to the smaller staff id, so work rotates evenly.
A post-complaint call goes to the specialist who resolved the complaint when they are an
active specialist (they know the case), otherwise by the same fair rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from uuid import UUID

Reason = Literal["post_visit", "post_complaint"]
Outcome = Literal["satisfied", "neutral", "dissatisfied", "unreachable"]


class FollowupState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"   # the complaint reopened, or the customer was erased


@dataclass(frozen=True)
class Candidate:
    staff_id: UUID
    open_items: int
    last_assigned_at: datetime | None


_NEVER = datetime.min.replace(tzinfo=UTC)


def choose_assignee(candidates: list[Candidate]) -> UUID | None:
    if not candidates:
        return None
    best = min(candidates,
               key=lambda c: (c.open_items, c.last_assigned_at or _NEVER, str(c.staff_id)))
    return best.staff_id


def post_visit_due(completed_at: datetime, delay: timedelta) -> datetime:
    """R1 §3.5: call back the day after the visit (the delay is configurable)."""
    return completed_at + delay


def post_complaint_due(resolved_at: datetime, delay: timedelta) -> datetime:
    """R1 §5.4: check the customer is satisfied after the complaint was resolved."""
    return resolved_at + delay


def is_overdue(state: str, due_at: datetime, now: datetime) -> bool:
    return state == FollowupState.OPEN and due_at < now
