"""Time on the club's calendar: half-open spans of UTC time, weekly opening hours kept in the
club's local time, and how the two meet on a given date.

Opening hours are wall-clock times per weekday (a room opens at 09:00 whatever the season),
so they are turned into UTC spans date by date, in the club's time zone. An interval may end
at 24:00; intervals that touch (Monday 18:00–24:00 and Tuesday 00:00–02:00) join into one
span, so a booking may run across midnight when the resource is open across it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from club_platform.errors import Invalid

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, order=True)
class Span:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def length(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, order=True)
class OpeningInterval:
    """Open on `weekday` (0 = Monday) from minute `opens` to minute `closes` after local
    midnight; `closes` may be 1440 (24:00)."""

    weekday: int
    opens: int
    closes: int

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise Invalid(f"weekday must be 0–6 (Monday–Sunday), not {self.weekday}")
        if not (0 <= self.opens < MINUTES_PER_DAY and 0 < self.closes <= MINUTES_PER_DAY):
            raise Invalid("opening times lie between 00:00 and 24:00")
        if self.closes <= self.opens:
            raise Invalid(
                f"on {WEEKDAYS[self.weekday]} the resource must close after it opens "
                f"({format_clock(self.opens)}–{format_clock(self.closes)}); to stay open past "
                "midnight, end at 24:00 and open again at 00:00 the next day"
            )

    def describe(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {format_clock(self.opens)}–{format_clock(self.closes)}"


def parse_clock(text: str) -> int:
    """'HH:MM' (00:00–24:00) → minutes after midnight."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise Invalid(f"{text!r} is not a time of day as HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise Invalid(f"{text!r} is not a time of day between 00:00 and 24:00")
    return value


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_week(intervals: Sequence[OpeningInterval]) -> list[OpeningInterval]:
    """The week's intervals in order; two that overlap on the same weekday are refused."""
    ordered = sorted(intervals)
    for earlier, later in pairwise(ordered):
        if earlier.weekday == later.weekday and later.opens < earlier.closes:
            raise Invalid(f"opening hours overlap: {earlier.describe()} and {later.describe()}")
    return ordered


def local_moment(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of `minutes` after local midnight of `day` (24:00 = next midnight)."""
    extra_days, minutes = divmod(minutes, MINUTES_PER_DAY)
    local = datetime.combine(day + timedelta(days=extra_days),
                             time(minutes // 60, minutes % 60), tzinfo=zone)
    return local.astimezone(UTC)


def day_span(day: date, zone: ZoneInfo) -> Span:
    """The local calendar day `day` as UTC (23 or 25 hours long on a DST change)."""
    return Span(local_moment(day, 0, zone), local_moment(day + timedelta(days=1), 0, zone))


def intervals_on(intervals: Iterable[OpeningInterval], day: date, zone: ZoneInfo) -> list[Span]:
    """The opening intervals of `day` alone, as UTC spans, in order."""
    return sorted(
        Span(local_moment(day, i.opens, zone), local_moment(day, i.closes, zone))
        for i in intervals if i.weekday == day.weekday()
    )


def open_spans(intervals: Sequence[OpeningInterval], day: date, zone: ZoneInfo) -> list[Span]:
    """Open time around `day` (the day before to the day after), touching intervals joined."""
    spans: list[Span] = []
    for offset in (-1, 0, 1):
        spans += intervals_on(intervals, day + timedelta(days=offset), zone)
    merged: list[Span] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end:
            merged[-1] = Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


def is_open_for(intervals: Sequence[OpeningInterval], span: Span, zone: ZoneInfo) -> bool:
    """Whether the resource is open for the whole of `span` (at most a day long)."""
    day = span.start.astimezone(zone).date()
    return any(open_span.contains(span) for open_span in open_spans(intervals, day, zone))


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def local_span_text(span: Span, zone: ZoneInfo) -> str:
    """'2030-01-08 10:00–11:00' (or with both dates when the span crosses midnight)."""
    start, end = span.start.astimezone(zone), span.end.astimezone(zone)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M}–{end:%Y-%m-%d %H:%M}"
