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

    @property
    def kept(self) -> bool:
        return self.arrival is not None and not self.late and not self.early

    def violations(self) -> dict[str, tuple[int, Clocking]]:
        """The violations of this shift: kind → (minutes, the clocking that shows it)."""
        found: dict[str, tuple[int, Clocking]] = {}
        if self.late and self.arrival is not None:
            found[LATE_ARRIVAL] = (self.late_minutes, self.arrival)
        if self.early and self.departure is not None:
            found[EARLY_LEAVE] = (self.early_minutes, self.departure)
        return found


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
                  grace: timedelta) -> dict[UUID, ShiftAttendance]:
    """Every shift's verdict from the clockings (R2 §6.1)."""
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
        late = arrival is not None and arrival.at - shift.starts_at > grace
        early = departure is not None and shift.ends_at - departure.at > grace
        verdicts[shift.shift_id] = ShiftAttendance(
            shift=shift,
            arrival=arrival,
            departure=departure,
            late=late,
            late_minutes=_whole_minutes(arrival.at - shift.starts_at) if late else 0,
            early=early,
            early_minutes=_whole_minutes(shift.ends_at - departure.at) if early else 0,
        )
    return verdicts
