"""The club's day: the day sheet covers one calendar day in the club's time zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo


def today(now: datetime, zone: tzinfo) -> date:
    return now.astimezone(zone).date()


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start, end) of `day` in `zone`, as aware datetimes (23 or 25 hours across DST)."""
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end
