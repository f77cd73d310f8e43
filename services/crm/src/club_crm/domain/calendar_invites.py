"""The `.ics` attached to a booking's confirmation, move and cancellation (RFC 5545, with the
iTIP methods of RFC 5546): one event per booking, its UID the booking's, so a calendar
updates or removes the same entry. Times are written in UTC (calendars show them in the
reader's zone); the club's zone is named in the description."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from icalendar import Calendar, Event

DOMAIN = "club.example"


def booking_invite(*, booking_id: UUID, starts_at: datetime, ends_at: datetime | None,
                   summary: str, description: str, stamp: datetime, sequence: int,
                   cancelled: bool = False) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Club service platform//crm notifications//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", f"booking-{booking_id}@{DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", starts_at)
    if ends_at is not None:
        event.add("dtend", ends_at)
    event.add("summary", summary)
    event.add("description", description)
    # A later message about the same booking must carry a higher sequence to replace it.
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
