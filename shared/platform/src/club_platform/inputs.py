"""Types for what people send to a service (request bodies), shared so every service refuses
the same nonsense the same way, as a 422 naming the field.

`Moment`: a point in time written as RFC 3339 text with its offset, between 1900 and 2199.
A number is refused rather than read as seconds since 1970 (a client sending 12345 meant
something else), and so are the calendar's ends: PostgreSQL reads 9999-12-31T23:59:59.999999Z
back as `infinity`, year 1 leaves no room for the arithmetic of a window or a grace period,
and neither is a time the club has ever had or will have.

`Day`: a calendar day in the same years. A day near the calendar's end has no next day to
end a period with (date.max + 1 day overflows), and a year-1 day is nobody's period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _written(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("write a time as RFC 3339 text with its offset, "
                         "e.g. 2030-01-31T09:30:00Z, not as a number")
    return value


def _plausible(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return moment


Moment = Annotated[AwareDatetime, BeforeValidator(_written), AfterValidator(_plausible)]


def _plausible_day(day: date) -> date:
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1}")
    return day


Day = Annotated[date, AfterValidator(_plausible_day)]
