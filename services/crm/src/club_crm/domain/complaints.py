"""Complaints (R2 §3.3–3.4, R1 §2.4, §5.4): the SLA clock, the states, the escalation ladder
and what a resolution must contain.

States: open → acknowledged → in_progress → resolved → closed; a resolved or closed complaint
can be reopened (back to in_progress, with a fresh resolution deadline).

SLA: each complaint gets a first-response deadline (acknowledged) and a resolution deadline
from its severity, tightened by its category. `complaint.opened.sla_due_at` is the resolution
deadline; `complaint.resolved.within_sla` says whether it was met.

Escalation ladder (R2 §2.2: the deputy assists and follows up, the head leads):
level 1 → deputy, level 2 → head.
- a missed deadline (no first response in time, or not resolved in time) → level 1, deputy;
- still in breach `escalate_to_head_after` (default 24 h) after level 1 → level 2, head;
- a high-severity safety or staff-conduct complaint goes to the head at once (reason
  `severity`): safety is reported at once (R2 §7.2), conduct is the head's to judge (R1 §7.2);
- a specialist or the deputy can escalate by hand to the next rung (reason `manual`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from club_platform.errors import Conflict, Invalid

Severity = Literal["low", "medium", "high"]
Category = Literal["service", "staff_conduct", "facility", "billing", "safety", "other"]
CompensationKind = Literal["none", "voucher", "refund", "service_credit", "gift"]


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE = (State.OPEN, State.ACKNOWLEDGED, State.IN_PROGRESS)


@dataclass(frozen=True)
class Sla:
    first_response: timedelta
    resolution: timedelta


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


# The base policy by severity: how fast the department must answer and resolve (R1 §5.4,
# "handle complaints quickly"; R2 §3.3, "resolve it promptly").
SLA_BY_SEVERITY: dict[str, Sla] = {
    "high": Sla(first_response=_hours(1), resolution=_hours(24)),
    "medium": Sla(first_response=_hours(4), resolution=_hours(72)),
    "low": Sla(first_response=_hours(24), resolution=_hours(168)),
}
# Categories that may never wait longer than this, whatever the stated severity.
CATEGORY_CAPS: dict[str, Sla] = {
    "safety": Sla(first_response=_hours(1), resolution=_hours(24)),      # R2 §7.2
    "staff_conduct": Sla(first_response=_hours(4), resolution=_hours(48)),  # R1 §4, §7.2
}


def sla_for(category: str, severity: str) -> Sla:
    base = SLA_BY_SEVERITY[severity]
    cap = CATEGORY_CAPS.get(category)
    if cap is None:
        return base
    return Sla(min(base.first_response, cap.first_response), min(base.resolution, cap.resolution))


@dataclass(frozen=True)
class Deadlines:
    first_response_due_at: datetime
    resolution_due_at: datetime


def deadlines(category: str, severity: str, opened_at: datetime) -> Deadlines:
    sla = sla_for(category, severity)
    return Deadlines(opened_at + sla.first_response, opened_at + sla.resolution)


def reopened_resolution_due(category: str, severity: str, reopened_at: datetime) -> datetime:
    """A reopened complaint gets a whole new resolution window from the moment it reopens."""
    return reopened_at + sla_for(category, severity).resolution


# ------------------------------------------------------------------ states

TRANSITIONS: dict[str, tuple[tuple[State, ...], State]] = {
    "acknowledge": ((State.OPEN,), State.ACKNOWLEDGED),
    "start": ((State.ACKNOWLEDGED,), State.IN_PROGRESS),
    "resolve": ((State.ACKNOWLEDGED, State.IN_PROGRESS), State.RESOLVED),
    "close": ((State.RESOLVED,), State.CLOSED),
    "reopen": ((State.RESOLVED, State.CLOSED), State.IN_PROGRESS),
}


def transition(state: str, action: str) -> State:
    allowed, target = TRANSITIONS[action]
    if State(state) not in allowed:
        hint = " (acknowledge it first)" if action == "resolve" and state == State.OPEN else ""
        raise Conflict(f"a complaint that is {state.replace('_', ' ')} cannot be "
                       f"{_past(action)}{hint}; allowed from: "
                       f"{', '.join(s.value for s in allowed)}", state=state)
    return target


def _past(action: str) -> str:
    return {"acknowledge": "acknowledged", "start": "started", "resolve": "resolved",
            "close": "closed", "reopen": "reopened"}[action]


# ------------------------------------------------------------------ resolution (R2 §3.4)

NEEDS_AMOUNT = ("voucher", "refund", "service_credit")


@dataclass(frozen=True)
class CompensationPlan:
    kind: CompensationKind
    amount: Decimal | None = None
    currency: str = "CNY"


@dataclass(frozen=True)
class Resolution:
    explanation: str
    compensation: CompensationPlan
    upheld: bool


def check_resolution(explanation: str | None, compensation: CompensationPlan | None,
                     upheld: bool | None) -> Resolution:
    """R2 §3.4: the customer gets a reasonable explanation and a compensation plan; the
    department records whether the complaint was upheld (HR opens a case on it, R1 §7.2)."""
    missing = []
    if explanation is None or not explanation.strip():
        missing.append("an explanation for the customer (explanation)")
    if compensation is None:
        missing.append("a compensation plan (compensation.kind: none, voucher, refund, "
                       "service_credit or gift)")
    if upheld is None:
        missing.append("whether the complaint was upheld (upheld: true or false)")
    if missing:
        raise Invalid("resolving a complaint needs " + "; ".join(missing) + " (R2 §3.4)")
    assert compensation is not None and upheld is not None and explanation is not None
    check_compensation(compensation)
    return Resolution(explanation.strip(), compensation, upheld)


def resolution_code(chosen: str | None, compensation: CompensationPlan, upheld: bool) -> str:
    """The code that travels in complaint.resolved v2 in place of the explanation: the one the
    specialist chose, else what the rest of the resolution says (compensated; upheld, so an
    apology; otherwise an explanation)."""
    if chosen is not None:
        return chosen
    if compensation.kind != "none":
        return "compensated"
    return "apologised" if upheld else "explained"


def check_compensation(plan: CompensationPlan) -> None:
    if plan.kind == "none":
        if plan.amount is not None:
            raise Invalid("a compensation plan of kind 'none' has no amount")
        return
    if plan.kind in NEEDS_AMOUNT and plan.amount is None:
        raise Invalid(f"a {plan.kind.replace('_', ' ')} needs an amount (compensation.amount)")
    if plan.amount is not None and plan.amount <= 0:
        raise Invalid("a compensation amount must be more than zero")


def within_sla(resolved_at: datetime, resolution_due_at: datetime) -> bool:
    return resolved_at <= resolution_due_at


# ------------------------------------------------------------------ escalation

LADDER = {1: "deputy", 2: "head"}
TOP = max(LADDER)


@dataclass(frozen=True)
class Escalation:
    level: int
    role: Literal["deputy", "head"]
    reason: Literal["sla_breach", "severity", "manual"]


@dataclass(frozen=True)
class SlaClock:
    state: str
    level: int
    acknowledged_at: datetime | None
    first_response_due_at: datetime
    resolution_due_at: datetime
    last_escalated_at: datetime | None


def in_breach(c: SlaClock, now: datetime) -> bool:
    if State(c.state) not in ACTIVE:
        return False
    late_answer = c.acknowledged_at is None and now > c.first_response_due_at
    return late_answer or now > c.resolution_due_at


def escalation_due(c: SlaClock, now: datetime, head_after: timedelta) -> Escalation | None:
    """What the SLA job should do with this complaint now, if anything."""
    if not in_breach(c, now) or c.level >= TOP:
        return None
    if c.level == 0:
        return Escalation(1, "deputy", "sla_breach")
    if c.last_escalated_at is not None and now >= c.last_escalated_at + head_after:
        return Escalation(2, "head", "sla_breach")
    return None


def escalation_at_opening(category: str, severity: str) -> Escalation | None:
    if severity == "high" and category in ("safety", "staff_conduct"):
        return Escalation(2, "head", "severity")
    return None


def manual_escalation(state: str, level: int) -> Escalation:
    if State(state) not in ACTIVE:
        raise Conflict(f"a complaint that is {state.replace('_', ' ')} cannot be escalated")
    if level >= TOP:
        raise Conflict("the complaint is already with the head, the top of the ladder")
    nxt = level + 1
    return Escalation(nxt, LADDER[nxt], "manual")  # type: ignore[arg-type]
