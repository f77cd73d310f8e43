"""Working hours (R2 §6.1: "keep working hours; no unauthorised late arrival or early leave").

A staff member works scheduled *shifts*. Clock-ins and clock-outs come from the API and from
outside door or badge systems. Each clocking belongs to at most one shift: an `in` to the
shift whose start is nearest, an `out` to the shift whose end is nearest, among the shifts
whose span widened by `MATCH_WINDOW` on both sides contains it. For each shift:

- the *first* `in` is the arrival; arriving more than the grace period after the start is a
  late arrival, of `floor((arrival - start) / 1 min)` minutes;
- the *last* `out` is the departure; leaving more than the grace period before the end is an
  early leave, of `floor((end - departure) / 1 min)` minutes;
- a shift is *kept* when there is an arrival and neither violation.

The verdict is a function of the whole set of clockings, not of their arrival order, so a
late-delivered earlier clock-in (or a later clock-out after coming back) corrects it.

**Leave** (R2 §6.1 forbids only *unauthorised* late arrival and early leave). Approved leave
changes what a shift expects:

- annual, sick or personal leave covering the whole shift takes it *off*: it is not due, it is
  neither kept nor missed, and it counts in no KPI;
- an authorised late start moves the expected arrival to the end of that leave, and an
  authorised early leave moves the expected departure to its start (the grace period still
  applies around them).

A shift that is over with no arrival and no leave is an **absence**: a violation of its own
(R2 §6.1), which opens a discipline case on the ladder. Lateness is judged once, by the
discipline ladder; the assessment's `shifts_attended` counts only whether someone came.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from club_platform.errors import Invalid

MATCH_WINDOW = timedelta(hours=3)
MAX_SHIFT = timedelta(hours=16)

LATE_ARRIVAL = "late_arrival"
EARLY_LEAVE = "early_leave"
ABSENCE = "absence"

FULL_LEAVE = frozenset({"annual", "sick", "personal"})
LATE_START = "late_start"
LEAVE_KINDS = (*sorted(FULL_LEAVE), LATE_START, EARLY_LEAVE)


@dataclass(frozen=True)
class Leave:
    """An approved leave request."""

    leave_id: UUID
    kind: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Shift:
    shift_id: UUID
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Clocking:
    clocking_id: UUID
    direction: str  # "in" | "out"
    at: datetime
    source_event_id: UUID | None = None


@dataclass(frozen=True)
class ShiftAttendance:
    shift: Shift
    arrival: Clocking | None
    departure: Clocking | None
    late: bool
    late_minutes: int
    early: bool
    early_minutes: int
    on_leave: Leave | None = None  # approved leave covering the whole shift
    authorised: tuple[Leave, ...] = ()  # an approved late start or early leave

    @property
    def kept(self) -> bool:
        return self.arrival is not None and not self.late and not self.early

    def absent(self, now: datetime) -> bool:
        """Over, not on leave, and nobody came."""
        return self.on_leave is None and self.arrival is None and self.shift.ends_at <= now

    def violations(self, now: datetime | None = None
                   ) -> dict[str, tuple[int, Clocking | None]]:
        """The violations of this shift: kind → (minutes, the clocking that shows it). With
        `now`, a shift over without an arrival is an absence (of the shift's minutes)."""
        found: dict[str, tuple[int, Clocking | None]] = {}
        if self.on_leave is not None:
            return found
        if self.late and self.arrival is not None:
            found[LATE_ARRIVAL] = (self.late_minutes, self.arrival)
        if self.early and self.departure is not None:
            found[EARLY_LEAVE] = (self.early_minutes, self.departure)
        if now is not None and self.absent(now):
            found[ABSENCE] = (_whole_minutes(self.shift.ends_at - self.shift.starts_at), None)
        return found


def check_leave(kind: str, starts_at: datetime, ends_at: datetime) -> None:
    if kind not in LEAVE_KINDS:
        raise Invalid(f"unknown kind of leave {kind!r} (one of {', '.join(LEAVE_KINDS)})")
    if ends_at <= starts_at:
        raise Invalid("leave must end after it starts")
    if ends_at - starts_at > timedelta(days=366):
        raise Invalid("one leave request may cover at most a year")


def _expected(shift: Shift, leaves: Iterable[Leave]
              ) -> tuple[Leave | None, datetime, datetime, tuple[Leave, ...]]:
    """Whole-shift leave, and the expected arrival and departure after authorisations."""
    start, end, used = shift.starts_at, shift.ends_at, []
    for leave in leaves:
        if leave.kind in FULL_LEAVE:
            if leave.starts_at <= shift.starts_at and leave.ends_at >= shift.ends_at:
                return leave, start, end, ()
        elif leave.kind == LATE_START:
            if leave.starts_at <= shift.starts_at < leave.ends_at:
                start = max(start, min(leave.ends_at, shift.ends_at))
                used.append(leave)
        elif leave.kind == EARLY_LEAVE and leave.starts_at < shift.ends_at <= leave.ends_at:
            end = min(end, max(leave.starts_at, shift.starts_at))
            used.append(leave)
    return None, start, end, tuple(used)


def check_shift(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("a shift must end after it starts")
    if ends_at - starts_at > MAX_SHIFT:
        raise Invalid(f"a shift may last at most {int(MAX_SHIFT.total_seconds() // 3600)} hours")


def _distance(shift: Shift, clocking: Clocking) -> timedelta | None:
    if not (shift.starts_at - MATCH_WINDOW <= clocking.at <= shift.ends_at + MATCH_WINDOW):
        return None
    edge = shift.starts_at if clocking.direction == "in" else shift.ends_at
    return abs(clocking.at - edge)


def shift_of(clocking: Clocking, shifts: Iterable[Shift]) -> Shift | None:
    """The shift a clocking belongs to, or None (ties go to the earlier shift)."""
    best: tuple[timedelta, datetime, Shift] | None = None
    for shift in shifts:
        distance = _distance(shift, clocking)
        if distance is None:
            continue
        candidate = (distance, shift.starts_at, shift)
        if best is None or candidate[:2] < best[:2]:
            best = candidate
    return best[2] if best else None


def _whole_minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def attendance_of(shifts: Iterable[Shift], clockings: Iterable[Clocking],
                  grace: timedelta, leaves: Iterable[Leave] = ()) -> dict[UUID, ShiftAttendance]:
    """Every shift's verdict from the clockings and the approved leave (R2 §6.1)."""
    leaves = list(leaves)
    shifts = list(shifts)
    arrivals: dict[UUID, Clocking] = {}
    departures: dict[UUID, Clocking] = {}
    for clocking in sorted(clockings, key=lambda c: (c.at, str(c.clocking_id))):
        shift = shift_of(clocking, shifts)
        if shift is None:
            continue
        if clocking.direction == "in":
            arrivals.setdefault(shift.shift_id, clocking)  # the first arrival counts
        else:
            departures[shift.shift_id] = clocking  # the last departure counts
    verdicts = {}
    for shift in shifts:
        arrival = arrivals.get(shift.shift_id)
        departure = departures.get(shift.shift_id)
        on_leave, start, end, authorised = _expected(shift, leaves)
        late = on_leave is None and arrival is not None and arrival.at - start > grace
        early = on_leave is None and departure is not None and end - departure.at > grace
        verdicts[shift.shift_id] = ShiftAttendance(
            shift=shift,
            arrival=arrival,
            departure=departure,
            late=late,
            late_minutes=_whole_minutes(arrival.at - start) if late else 0,
            early=early,
            early_minutes=_whole_minutes(end - departure.at) if early else 0,
            on_leave=on_leave,
            authorised=authorised,
        )
    return verdicts
