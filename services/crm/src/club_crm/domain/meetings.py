"""Service meetings and improvement actions (R2 §9.1: the department meets regularly to
discuss service; R1 §5.3: service keeps improving from what customers say).

- A meeting reviews a period [from, until): at most 366 days, ending no later than the
  meeting starts is not required (a meeting may review the week still running), but the
  period must be a real one (from before until).
- Its agenda is the period's figures, computed when read, so it always shows what is true.
- An action has an owner and a due date; it is open, overdue (open and past due) or done.
  Done on time means completed no later than its due date. The owner or a supervisor
  completes it, with a note.
- Safety findings from reception converge whatever order their events come in: closed beats
  overdue beats open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from club_platform.auth import Principal, Role
from club_platform.errors import Forbidden, Invalid

MAX_PERIOD = timedelta(days=366)
ActionState = Literal["open", "overdue", "done"]
FINDING_RANK = {"open": 0, "overdue": 1, "closed": 2}


def check_period(period_from: datetime, period_until: datetime) -> None:
    if period_from >= period_until:
        raise Invalid("the period's start (from) must be before its end (until)")
    if period_until - period_from > MAX_PERIOD:
        raise Invalid("a meeting reviews at most 366 days")


def unknown(cited: Iterable[UUID], known: Iterable[UUID]) -> list[UUID]:
    """The cited ids not among the known ones, in a stable order for the error sentence."""
    found = set(known)
    return sorted({c for c in cited if c not in found}, key=str)


def action_state(due_at: datetime, completed_at: datetime | None, now: datetime) -> ActionState:
    if completed_at is not None:
        return "done"
    return "overdue" if now > due_at else "open"


def on_time(due_at: datetime, completed_at: datetime) -> bool:
    return completed_at <= due_at


def check_may_complete(principal: Principal, owner_id: UUID) -> None:
    """The owner does the work; the head or deputy may record it for them."""
    if principal.role in (Role.HEAD, Role.DEPUTY) or principal.id == owner_id:
        return
    raise Forbidden("only the action's owner, the head or the deputy may complete it")


def finding_state(current: str | None, incoming: str) -> str:
    """The later state of a safety finding, whichever event came first."""
    if current is None or FINDING_RANK[incoming] > FINDING_RANK[current]:
        return incoming
    return current


def csat_mean(total: int, count: int) -> float | None:
    return None if count == 0 else round(total / count, 2)
