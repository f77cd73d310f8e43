"""Work plans and tasks (R1 §2.2, §8.1: the supervisor makes and executes work plans and keeps
the workflow smooth; R2 §2.2: the deputy assists and follows up on tasks).

The rules, without I/O:
- a routine recurs at a time of day in the club's zone on some days of the week; planning a
  period gives one occurrence per applicable day, due at that local time;
- a task is done only with every checklist item ticked; it is on time when completed by its
  due time;
- a task past due and not done is overdue and escalates to the deputy, who follows tasks up
  (R2 §2.2); the deputy's and the head's own tasks escalate to the head.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from club_platform.errors import Invalid

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# A plan covers a day, a week or a month at most: longer is a mistake, not a plan.
LONGEST_PLAN = timedelta(days=31)

EscalatedTo = Literal["deputy", "head"]


@dataclass(frozen=True)
class Occurrence:
    day: date
    due_at: datetime  # UTC


def iso_weekdays(names: Iterable[str]) -> list[int]:
    """`["monday", "friday"]` → `[1, 5]` (ISO: Monday is 1), sorted, once each."""
    return sorted({WEEKDAYS.index(name) + 1 for name in names})


def weekday_names(numbers: Iterable[int]) -> list[str]:
    return [WEEKDAYS[n - 1] for n in sorted(numbers)]


def ensure_period(start: date, end: date) -> None:
    if end < start:
        raise Invalid(f"the plan ends ({end}) before it starts ({start})")
    if end - start >= LONGEST_PLAN:
        raise Invalid(f"a plan covers at most {LONGEST_PLAN.days} days; "
                      f"{start} to {end} is {(end - start).days + 1}")


def occurrences(at: time, weekdays: Sequence[int], start: date, end: date,
                zone: tzinfo) -> list[Occurrence]:
    """One occurrence per day of [start, end] whose ISO weekday is listed, due at `at` on the
    club's clock that day. The local time is converted day by day, so across a clock change
    the UTC instant moves and the local time stays (a time the change skips is read with
    the offset before it, as zoneinfo does)."""
    found = []
    day = start
    while day <= end:
        if day.isoweekday() in weekdays:
            found.append(Occurrence(day, datetime.combine(day, at, tzinfo=zone)
                                    .astimezone(UTC)))
        day += timedelta(days=1)
    return found


def within_period(due_at: datetime, start: date, end: date, zone: tzinfo) -> bool:
    return start <= due_at.astimezone(zone).date() <= end


def missing_items(checklist: Sequence[str], ticked: Iterable[str]) -> list[str]:
    """The checklist items not ticked, in the checklist's order."""
    done = set(ticked)
    return [item for item in checklist if item not in done]


def unknown_items(checklist: Sequence[str], ticked: Iterable[str]) -> list[str]:
    listed = set(checklist)
    return [item for item in ticked if item not in listed]


def on_time(completed_at: datetime, due_at: datetime) -> bool:
    return completed_at <= due_at


def is_overdue(due_at: datetime, completed_at: datetime | None, now: datetime) -> bool:
    return completed_at is None and due_at < now


def escalates_to(owner_role: str | None) -> EscalatedTo:
    """Who follows up an overdue task: the deputy (R2 §2.2), unless the deputy or the head owns
    it; then the head, who answers for the plan (R1 §2.2)."""
    return "head" if owner_role in ("deputy", "head") else "deputy"


def state(completed_at: datetime | None, overdue_at: datetime | None) -> str:
    if completed_at is not None:
        return "done"
    return "overdue" if overdue_at is not None else "open"


@dataclass(frozen=True)
class Progress:
    total: int
    done_on_time: int
    done_late: int
    overdue: int
    open: int

    @property
    def completion_share(self) -> float:
        """Done (on time or late) over all tasks; an empty plan has nothing left to do."""
        if not self.total:
            return 1.0
        return round((self.done_on_time + self.done_late) / self.total, 4)


def progress(tasks: Iterable[tuple[datetime, datetime | None, datetime | None]]) -> Progress:
    """Counts over (due_at, completed_at, overdue_at) of each task."""
    total = on = late = overdue = waiting = 0
    for due_at, completed_at, overdue_at in tasks:
        total += 1
        if completed_at is not None:
            if on_time(completed_at, due_at):
                on += 1
            else:
                late += 1
        elif overdue_at is not None:
            overdue += 1
        else:
            waiting += 1
    return Progress(total, on, late, overdue, waiting)
