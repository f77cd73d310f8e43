"""What the booking service consumes from the bus: one typed handler per event type, each
running inside the transaction that also records the event in the inbox (docs/reliability.md)."""

from __future__ import annotations

from club_contracts import CustomerErased, VisitCheckedIn
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

from club_booking import services

consumer = EventConsumer("booking")


@consumer.handles(VisitCheckedIn)
async def fulfil_booking(session: AsyncSession, event: VisitCheckedIn,
                         _envelope: Envelope) -> None:
    """A booked customer checked in at reception (R1 §3.2): the booking is fulfilled."""
    if event.booking_id is None:
        return  # a walk-in with no booking: nothing of ours to fulfil
    await services.fulfil_booking(session, booking_id=event.booking_id, visit_id=event.visit_id,
                                  checked_in_at=event.checked_in_at)


@consumer.handles(CustomerErased)
async def forget_customer(session: AsyncSession, event: CustomerErased,
                          _envelope: Envelope) -> None:
    """CRM erased a customer (R1 §6): cancel what they still have booked, unlink the rest."""
    await services.erase_customer(session, customer_id=event.customer_id,
                                  erased_at=event.erased_at)
