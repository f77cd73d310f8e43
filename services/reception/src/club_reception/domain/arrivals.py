"""Expected arrivals: reception's copy of the bookings it should see at the desk, kept from
`booking.created`, `booking.rescheduled` and `booking.cancelled` (R1 §3.1–3.2).

The events come out of order across topics and may come twice (docs/events.md,
docs/reliability.md), so each merge below is order-free: applying the same events in any
order, any number of times,
yields the same row. That is also what makes the table rebuildable from the topics
(docs/reliability.md, "Replay").

- The booking's facts (service, channel, party size, staff) come only from `created` and
  never change.
- The schedule (resource, start, end) is a "latest wins" register: each version is stamped
  with its own time (`created_at` or `rescheduled_at`), and a version replaces the stored one
  only if its stamp is later. Equal stamps are broken by the schedule itself, so even a tie
  converges.
- A cancellation is a tombstone: once cancelled, always cancelled; a `created` that arrives
  after its `cancelled` fills the row in but cannot make it expected again.
- The customer comes from `created` (the others repeat it). Should events about one booking
  name different customers (a fault upstream), the booking is marked `customer_disputed`
  — true exactly when two customers were seen, in whatever order — and is not checked in.
  Dead-lettering the odd event out instead would depend on which one came first, and a
  replay would then disagree with the live table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from club_reception.domain.errors import BookingNotExpected


@dataclass(frozen=True)
class Schedule:
    resource_id: UUID
    starts_at: datetime
    ends_at: datetime
    stamped_at: datetime  # created_at or rescheduled_at: when this version was decided

    def supersedes(self, other: Schedule | None) -> bool:
        if other is None:
            return True
        return self._order() > other._order()

    def _order(self) -> tuple:
        return (self.stamped_at, self.starts_at, self.ends_at, self.resource_id)


@dataclass(frozen=True)
class ExpectedArrival:
    booking_id: UUID
    customer_id: UUID
    service_code: str | None = None
    channel: str | None = None
    party_size: int | None = None
    staff_id: UUID | None = None
    booked_at: datetime | None = None
    schedule: Schedule | None = None
    cancelled_at: datetime | None = None
    cancelled_late: bool | None = None
    customer_disputed: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def expected(self) -> bool:
        """Reception expects this customer: a live booking with a known time."""
        return not self.cancelled and self.schedule is not None


def _with_customer(arrival: ExpectedArrival | None, booking_id: UUID, customer_id: UUID, *,
                   from_created: bool) -> ExpectedArrival:
    """The booking's customer: `created`'s, else (until it comes) the least id seen, so the
    choice does not depend on the order; disputed once two different customers were seen."""
    if arrival is None:
        return ExpectedArrival(booking_id=booking_id, customer_id=customer_id)
    disputed = arrival.customer_disputed or arrival.customer_id != customer_id
    if from_created and arrival.booked_at is None:
        chosen = customer_id
    elif from_created or arrival.booked_at is None:
        chosen = min(arrival.customer_id, customer_id)
    else:
        chosen = arrival.customer_id
    return replace(arrival, customer_id=chosen, customer_disputed=disputed)


def _with_schedule(arrival: ExpectedArrival, schedule: Schedule) -> ExpectedArrival:
    if schedule.supersedes(arrival.schedule):
        return replace(arrival, schedule=schedule)
    return arrival


def booking_created(arrival: ExpectedArrival | None, *, booking_id: UUID, customer_id: UUID,
                    service_code: str, channel: str, party_size: int, staff_id: UUID | None,
                    resource_id: UUID, starts_at: datetime, ends_at: datetime,
                    created_at: datetime) -> ExpectedArrival:
    arrival = _with_customer(arrival, booking_id, customer_id, from_created=True)
    if arrival.booked_at is None:
        arrival = replace(arrival, service_code=service_code, channel=channel,
                          party_size=party_size, staff_id=staff_id, booked_at=created_at)
    return _with_schedule(arrival, Schedule(resource_id, starts_at, ends_at, created_at))


def booking_rescheduled(arrival: ExpectedArrival | None, *, booking_id: UUID,
                        customer_id: UUID, resource_id: UUID, starts_at: datetime,
                        ends_at: datetime, rescheduled_at: datetime) -> ExpectedArrival:
    arrival = _with_customer(arrival, booking_id, customer_id, from_created=False)
    return _with_schedule(arrival, Schedule(resource_id, starts_at, ends_at, rescheduled_at))


def booking_cancelled(arrival: ExpectedArrival | None, *, booking_id: UUID, customer_id: UUID,
                      late: bool, cancelled_at: datetime) -> ExpectedArrival:
    arrival = _with_customer(arrival, booking_id, customer_id, from_created=False)
    if arrival.cancelled_at is None or cancelled_at < arrival.cancelled_at:
        return replace(arrival, cancelled_at=cancelled_at, cancelled_late=late)
    if cancelled_at == arrival.cancelled_at and late and not arrival.cancelled_late:
        return replace(arrival, cancelled_late=True)  # a tie converges to "late"
    return arrival


def ensure_can_check_in(arrival: ExpectedArrival | None, booking_id: UUID, now: datetime,
                        opens_before: timedelta) -> ExpectedArrival:
    """A booked customer is received at the desk (R1 §3.2) only for a live booking, from
    `opens_before` its start until its end; after that they come as a walk-in."""
    if arrival is None:
        raise BookingNotExpected(
            f"booking {booking_id} is not expected: reception has not heard of it",
            booking_id=str(booking_id), reason="unknown")
    if arrival.cancelled:
        raise BookingNotExpected(
            f"booking {booking_id} was cancelled at {arrival.cancelled_at.isoformat()}",
            booking_id=str(booking_id), reason="cancelled")
    if arrival.customer_disputed:
        raise BookingNotExpected(
            f"booking {booking_id}: the booking office's events name more than one customer; "
            "check the booking with them, or receive the customer as a walk-in",
            booking_id=str(booking_id), reason="disputed")
    if arrival.schedule is None:
        raise BookingNotExpected(
            f"booking {booking_id} is not expected: its time is not known yet",
            booking_id=str(booking_id), reason="unknown")
    if now < arrival.schedule.starts_at - opens_before:
        opens = arrival.schedule.starts_at - opens_before
        raise BookingNotExpected(
            f"booking {booking_id} starts at {arrival.schedule.starts_at.isoformat()}; "
            f"check-in opens at {opens.isoformat()}",
            booking_id=str(booking_id), reason="too_early")
    if now >= arrival.schedule.ends_at:
        raise BookingNotExpected(
            f"booking {booking_id} ended at {arrival.schedule.ends_at.isoformat()}; "
            "receive the customer as a walk-in instead",
            booking_id=str(booking_id), reason="over")
    return arrival
