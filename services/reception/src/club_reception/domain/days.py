"""The club's day: the day sheet covers one calendar day in the club's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo


def today(now: datetime, zone: tzinfo) -> date:
    return now.astimezone(zone).date()


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of `day` in `zone`, as UTC instants (23 or 25 hours apart across a clock
    change; arithmetic on datetimes of one zone would ignore the change)."""
    start = datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return start, end
