"""A visit: the customer checked in (R1 §3.2), the services delivered and recorded
(R1 §3.3–3.4), and its completion.

The rules here decide what may be recorded and what a completed visit reports; the use cases
in `services.py` load and save.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from club_platform.errors import Invalid

from club_reception.domain.errors import LocationClosed, LocationFull, VisitAlreadyCompleted

# Times on a record come from staff devices; allow them to run this far ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Visit:
    visit_id: UUID
    customer_id: UUID
    booking_id: UUID | None
    location_id: UUID
    host_staff_id: UUID
    checked_in_at: datetime
    completed_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.completed_at is None


@dataclass(frozen=True)
class ServiceDone:
    service_code: str
    staff_id: UUID
    started_at: datetime
    ended_at: datetime


def ensure_in_progress(visit: Visit, doing: str) -> None:
    if not visit.in_progress:
        raise VisitAlreadyCompleted(
            f"visit {visit.visit_id} was completed at {visit.completed_at.isoformat()}; "
            f"cannot {doing}", visit_id=str(visit.visit_id))


def ensure_service_times(visit: Visit, started_at: datetime, ended_at: datetime,
                         now: datetime) -> None:
    """A record states when the service was given (R1 §3.4): after the customer arrived,
    ending after it started, and not in the future."""
    if ended_at <= started_at:
        raise Invalid(f"the service ends ({ended_at.isoformat()}) before or when it starts "
                      f"({started_at.isoformat()})")
    if started_at < visit.checked_in_at - CLOCK_SKEW:
        raise Invalid(f"the service starts ({started_at.isoformat()}) before the customer "
                      f"checked in ({visit.checked_in_at.isoformat()})")
    if ended_at > now + CLOCK_SKEW:
        raise Invalid(f"the service ends in the future ({ended_at.isoformat()}); record it "
                      "once it has been given")


def ensure_room(location_name: str, active: bool, capacity: int | None, guests_there: int,
                party_size: int) -> None:
    """Guests are guided only to an open place with room for their party (R1 §3.2)."""
    if not active:
        raise LocationClosed(f"location {location_name!r} is closed")
    if capacity is not None and guests_there + party_size > capacity:
        raise LocationFull(
            f"location {location_name!r} holds {capacity} and has {guests_there} guests; "
            f"a party of {party_size} does not fit",
            capacity=capacity, guests=guests_there)


def completion(visit: Visit, services: Sequence[ServiceDone]) -> tuple[list[UUID],
                                                                      list[ServiceDone]]:
    """What a completed visit reports: its services in the order given, and every staff
    member who served the guest, host first, each once."""
    ordered = sorted(services, key=lambda s: (s.started_at, s.ended_at, s.service_code,
                                              s.staff_id))
    staff_ids: list[UUID] = [visit.host_staff_id]
    for service in ordered:
        if service.staff_id not in staff_ids:
            staff_ids.append(service.staff_id)
    return staff_ids, ordered
