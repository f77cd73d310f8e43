"""Safety rounds (R2 §7.1: strong safety awareness, keep the club safe and orderly; R2 §7.2:
what is wrong is reported and handled).

A supervisor schedules a round of an area's checklist; the person who walks it answers every
item pass or fail. Each failed item becomes a *finding* with an owner and a due date; a
finding not closed by its due date is escalated once (to the deputy, or to the head when the
deputy or head owns it); it is closed with evidence, and `on_time` says whether by the due
date. Pure rules: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from club_platform.errors import Conflict, Forbidden, Invalid

Result = Literal["pass", "fail"]
FindingState = Literal["open", "overdue", "closed"]


class UnknownChecklist(Invalid):
    code = "unknown_checklist"


class RoundCompleted(Conflict):
    code = "round_completed"


@dataclass(frozen=True)
class Answer:
    item: str
    result: Result
    note: str | None = None


def ensure_items_unique(items: Iterable[str]) -> None:
    seen: set[str] = set()
    twice = sorted({i for i in items if i in seen or seen.add(i)})
    if twice:
        raise Invalid(f"each checklist item is listed once; repeated: {', '.join(twice)}",
                      items=twice)


def check_answers(expected: Sequence[str], answers: Sequence[Answer]) -> None:
    """Every item of the round is answered once, and only those (R2 §7.1: a round leaves
    nothing unchecked); a failed item needs a note saying what is wrong."""
    ensure_items_unique(a.item for a in answers)
    given = {a.item for a in answers}
    missing = [i for i in expected if i not in given]
    if missing:
        raise Invalid(f"every item must be answered; missing: {', '.join(missing)}",
                      missing=missing)
    unknown = sorted(given - set(expected))
    if unknown:
        raise Invalid(f"not items of this round: {', '.join(unknown)}", unknown=unknown)
    silent = [a.item for a in answers if a.result == "fail" and not a.note]
    if silent:
        raise Invalid(f"a failed item needs a note saying what is wrong: {', '.join(silent)}",
                      items=silent)


def due_at(area: str, opened_at: datetime, hours_by_area: Mapping[str, float],
           default_hours: float) -> datetime:
    """When a finding must be fixed by default: per area (fire exits fast), else the default."""
    return opened_at + timedelta(hours=hours_by_area.get(area, default_hours))


def escalated_to(owner_role: str | None) -> Literal["deputy", "head"]:
    """The deputy follows up (R2 §2.2); when the deputy or the head owns it, the head does."""
    return "head" if owner_role in ("deputy", "head") else "deputy"


def state_of(closed_at: datetime | None, overdue_at: datetime | None) -> FindingState:
    if closed_at is not None:
        return "closed"
    return "overdue" if overdue_at is not None else "open"


def is_overdue(due: datetime, closed_at: datetime | None, overdue_at: datetime | None,
               now: datetime) -> bool:
    """Past due, not closed, and not yet escalated (escalation happens once)."""
    return closed_at is None and overdue_at is None and now > due


def ensure_may_close(owner_id: UUID, by: UUID, supervisor: bool) -> None:
    if by != owner_id and not supervisor:
        raise Forbidden("only the finding's owner or a supervisor closes it")


def ensure_may_walk(walker_id: UUID, by: UUID, supervisor: bool) -> None:
    if by != walker_id and not supervisor:
        raise Forbidden("only the staff member scheduled to walk the round, or a supervisor, "
                        "records its answers")
