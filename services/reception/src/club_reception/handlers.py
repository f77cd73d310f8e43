"""What the reception service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox.

- `booking.created` / `rescheduled` / `cancelled` keep the expected arrivals;
- `staff.hired` / `changed` / `offboarded` keep the staff directory;
- `customer.erased` erases the notes kept about that customer (R1 §6).

Every handler converges: the same events in any order, any number of times, leave the same
rows (see domain/arrivals.py and domain/staff.py), so duplicates beyond the inbox and events
that overtake each other across topics change nothing, and a replay rebuilds the same tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from club_contracts import (
    BookingCancelled,
    BookingCreated,
    BookingRescheduled,
    CustomerErased,
    StaffChanged,
    StaffHired,
    StaffOffboarded,
)
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_reception import services
from club_reception.domain import arrivals
from club_reception.domain.arrivals import ExpectedArrival

consumer = EventConsumer("reception")
log = logging.getLogger("club.reception")


async def _merge(session: AsyncSession, booking_id: UUID,
                 merge: Callable[[ExpectedArrival | None], ExpectedArrival]) -> None:
    before, after = await services.merge_arrival(session, booking_id, merge)
    if after.customer_disputed and not (before and before.customer_disputed):
        # Kept and flagged rather than dead-lettered, so that the table stays a function of
        # the events (see domain/arrivals.py); the desk refuses to check it in.
        log.warning("booking %s: events name different customers; check-in is refused until "
                    "the booking office sorts it out", booking_id)


@consumer.handles(BookingCreated)
async def expect_arrival(session: AsyncSession, event: BookingCreated, _: Envelope) -> None:
    await _merge(session, event.booking_id, lambda current: arrivals.booking_created(
        current, booking_id=event.booking_id, customer_id=event.customer_id,
        service_code=event.service_code, channel=event.channel, party_size=event.party_size,
        staff_id=event.staff_id, resource_id=event.resource_id, starts_at=event.starts_at,
        ends_at=event.ends_at, created_at=event.created_at))


@consumer.handles(BookingRescheduled)
async def move_arrival(session: AsyncSession, event: BookingRescheduled, _: Envelope) -> None:
    await _merge(session, event.booking_id, lambda current: arrivals.booking_rescheduled(
        current, booking_id=event.booking_id, customer_id=event.customer_id,
        resource_id=event.resource_id, starts_at=event.starts_at, ends_at=event.ends_at,
        rescheduled_at=event.rescheduled_at))


@consumer.handles(BookingCancelled)
async def cancel_arrival(session: AsyncSession, event: BookingCancelled, _: Envelope) -> None:
    await _merge(session, event.booking_id, lambda current: arrivals.booking_cancelled(
        current, booking_id=event.booking_id, customer_id=event.customer_id,
        late=event.late, cancelled_at=event.cancelled_at))


@consumer.handles(StaffHired)
async def add_staff_member(session: AsyncSession, event: StaffHired, _: Envelope) -> None:
    await services.note_staff_hired(
        session, staff_id=event.staff_id, display_name=event.display_name, role=event.role,
        department=event.department, hired_at=event.hired_at)


@consumer.handles(StaffChanged)
async def change_staff_member(session: AsyncSession, event: StaffChanged, _: Envelope) -> None:
    await services.note_staff_changed(session, staff_id=event.staff_id, role=event.role,
                                      status=event.status, effective_at=event.effective_at)


@consumer.handles(StaffOffboarded)
async def offboard_staff_member(session: AsyncSession, event: StaffOffboarded,
                                _: Envelope) -> None:
    await services.note_staff_offboarded(session, staff_id=event.staff_id,
                                         effective_at=event.effective_at)


@consumer.handles(CustomerErased)
async def erase_customer(session: AsyncSession, event: CustomerErased, _: Envelope) -> None:
    await services.erase_customer_notes(session, event.customer_id, event.erased_at)


# Tables kept only from other services' events, rebuildable from offset 0
# (`club-reception rebuild NAME`, club_platform.projections): their merges are order-free.
consumer.projection(
    "expected_arrivals", topics=services.BOOKING_TOPICS, tables=("expected_arrivals",),
    description="upcoming bookings, from booking.created/rescheduled/cancelled")
consumer.projection(
    "staff_directory", topics=("staff.hired", "staff.changed", "staff.offboarded"),
    tables=("staff_standings", "staff"),
    description="who may host and serve, from the staff events (standings by effective time)")
