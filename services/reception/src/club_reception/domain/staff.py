"""Reception's copy of the staff directory (from `staff.hired`, `staff.changed` and
`staff.offboarded`), and who may be assigned to a guest.

Each event is kept as a *standing fact*: from `effective_at` on, the member is active,
suspended or offboarded. The standing at a moment is read from the facts in effect then, so
the events may arrive in any order, twice, or ahead of their effective time:

- offboarding is final (R1 §6.3): once an offboarded fact is in effect nothing reinstates;
- otherwise the latest fact in effect wins; at equal times the stricter status wins;
- `staff.hired` counts as "active from hired_at".

Only active staff can host a visit (R1 §3.2) or deliver a service (R1 §3.3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from club_reception.domain.errors import StaffNotAssignable

Status = Literal["active", "suspended", "offboarded"]
_STRICTNESS = {"active": 0, "suspended": 1, "offboarded": 2}


@dataclass(frozen=True)
class StandingFact:
    effective_at: datetime
    status: Status
    role: str | None = None


@dataclass(frozen=True)
class Standing:
    # `unknown`: never heard of; `not_started`: known, but nothing is in effect yet.
    status: Literal["active", "suspended", "offboarded", "unknown", "not_started"]
    role: str | None = None
    since: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"


def standing_at(facts: Iterable[StandingFact], at: datetime) -> Standing:
    facts = list(facts)
    if not facts:
        return Standing("unknown")
    in_effect = [f for f in facts if f.effective_at <= at]
    if not in_effect:
        return Standing("not_started")
    role = next((f.role for f in sorted(in_effect, key=_order, reverse=True) if f.role), None)
    offboarded = [f for f in in_effect if f.status == "offboarded"]
    if offboarded:
        return Standing("offboarded", role, min(f.effective_at for f in offboarded))
    latest = max(in_effect, key=_order)
    return Standing(latest.status, role, latest.effective_at)


def _order(fact: StandingFact) -> tuple:
    return (fact.effective_at, _STRICTNESS[fact.status], fact.role or "")


def ensure_assignable(staff_id: UUID, standing: Standing, duty: str) -> None:
    """Raise a 4xx naming why `staff_id` cannot take `duty` ("host the visit", …)."""
    if standing.active:
        return
    why = {
        "unknown": "is not in the staff directory",
        "not_started": "has not started yet",
        "suspended": "is suspended",
        "offboarded": "has been offboarded",
    }[standing.status]
    since = f" since {standing.since.isoformat()}" if standing.since else ""
    raise StaffNotAssignable(
        f"staff member {staff_id} cannot {duty}: they {why}{since}; only active staff can",
        staff_id=str(staff_id), reason=standing.status,
    )
