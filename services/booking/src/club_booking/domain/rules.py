"""The booking rules (R1 §3.1: customers book online or offline).

Everything here is a plain function of its arguments; the use cases in `services.py` load
what a rule needs, call it, and save the result. The one rule not checked here is "no double
booking": PostgreSQL enforces it with an exclusion constraint over each booking's held span
(see `migrations/versions/0002_bookings.py`), because only the database sees every
concurrent request of every replica.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from club_platform.errors import Conflict, Invalid

from club_booking.domain.calendar import (
    OpeningInterval,
    Span,
    day_span,
    intervals_on,
    is_open_for,
    local_span_text,
    local_text,
    open_spans,
)

MAX_BOOKING_LENGTH = timedelta(hours=24)

# Who acts when the service itself changes a booking (the no-show sweep, an erasure): the
# contract needs a UUID for `cancelled_by`, and no person did it.
SYSTEM_ACTOR = UUID(int=0)


class Status(StrEnum):
    BOOKED = "booked"          # holds its slot, waiting for the customer
    FULFILLED = "fulfilled"    # the customer checked in (visit.checked_in, R1 §3.2)
    CANCELLED = "cancelled"    # frees the slot
    NO_SHOW = "no_show"        # nobody came; the slot stays held (it is in the past anyway)


class Channel(StrEnum):
    ONLINE = "online"    # a member booking for themselves
    OFFLINE = "offline"  # staff booking on a customer's behalf


class OfflineChannel(StrEnum):
    PHONE = "phone"
    DESK = "desk"
    WALK_IN = "walk_in"


class CancelReason(StrEnum):
    """Why a booking was cancelled. A code, not free text: the reason travels on the bus in
    `booking.cancelled`, where no personal data may go (R1 §4.4, §6.1)."""

    CUSTOMER_REQUEST = "customer_request"
    ILLNESS = "illness"
    SCHEDULE_CHANGE = "schedule_change"
    CLUB_CLOSURE = "club_closure"
    RESOURCE_UNAVAILABLE = "resource_unavailable"
    DUPLICATE = "duplicate"
    OTHER = "other"
    # Only the service uses this one, when CRM erases the customer (customer.erased).
    CUSTOMER_ERASED = "customer_erased"


@dataclass(frozen=True)
class BookingPolicy:
    zone: ZoneInfo
    minimum_notice: timedelta        # online bookings only: the desk can seat a walk-in at once
    horizon: timedelta               # how far ahead anyone may book
    cancellation_cutoff: timedelta   # a cancellation inside it is late
    no_show_grace: timedelta         # after the start, how long to wait for a check-in
    slot_step: timedelta             # the grid of offered slots


@dataclass(frozen=True)
class Resource:
    id: UUID
    name: str
    kind: str
    capacity: int
    active: bool = True


@dataclass(frozen=True)
class Service:
    """A catalogue entry: how long it takes and how long the resource is needed around it
    (setting up before, clearing up after)."""

    code: str
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    resource_kinds: tuple[str, ...]
    active: bool = True

    def held(self, span: Span) -> Span:
        """The time the resource is taken by a booking of `span`: with the buffers."""
        return Span(span.start - self.buffer_before, span.end + self.buffer_after)


@dataclass(frozen=True)
class Closure:
    span: Span
    reason: str


# ---------------------------------------------------------------- a new or moved booking


def check_fit(resource: Resource, service: Service, party_size: int) -> None:
    """The resource can host this service for this party."""
    if not resource.active:
        raise Invalid(f"resource '{resource.name}' is not taking bookings")
    if not service.active:
        raise Invalid(f"service '{service.code}' is no longer offered")
    if resource.kind not in service.resource_kinds:
        kinds = ", ".join(service.resource_kinds)
        raise Invalid(f"service '{service.code}' needs a resource of kind {kinds}; "
                      f"'{resource.name}' is a {resource.kind}")
    if party_size > resource.capacity:
        raise Invalid(f"a party of {party_size} is over the capacity of '{resource.name}' "
                      f"({resource.capacity})")


def check_timing(span: Span, *, now: datetime, policy: BookingPolicy, online: bool) -> None:
    """When a booking may start: not in the past, with notice online, within the horizon."""
    zone = policy.zone
    if span.end <= span.start:
        raise Invalid(f"ends_at ({local_text(span.end, zone)}) must be after starts_at "
                      f"({local_text(span.start, zone)})")
    if span.length > MAX_BOOKING_LENGTH:
        raise Invalid("a booking lasts at most 24 hours")
    if span.start < now:
        raise Invalid(f"starts_at {local_text(span.start, zone)} is in the past "
                      f"(it is now {local_text(now, zone)})")
    if online and span.start < now + policy.minimum_notice:
        minutes = int(policy.minimum_notice.total_seconds() // 60)
        raise Invalid(f"online bookings need {minutes} minutes' notice: the earliest start now "
                      f"is {local_text(now + policy.minimum_notice, zone)}")
    if span.start > now + policy.horizon:
        raise Invalid(f"bookings open {policy.horizon.days} days ahead: "
                      f"{local_text(span.start, zone)} is after "
                      f"{local_text(now + policy.horizon, zone)}")


def check_open(resource: Resource, service: Service, span: Span, *,
               hours: Sequence[OpeningInterval], closures: Sequence[Closure],
               zone: ZoneInfo) -> Span:
    """The resource is open for the service itself and no closure touches the held span
    (buffers included: set-up and clearing need the resource too). Returns the held span."""
    if not is_open_for(hours, span, zone):
        day = span.start.astimezone(zone).date()
        today = intervals_on(hours, day, zone)
        open_text = ", ".join(
            f"{s.start.astimezone(zone):%H:%M}–{s.end.astimezone(zone):%H:%M}" for s in today
        ) or "closed all day"
        raise Invalid(f"'{resource.name}' is not open for the whole of "
                      f"{local_span_text(span, zone)} ({zone.key}); its hours on "
                      f"{day:%A}: {open_text}")
    held = service.held(span)
    for closure in closures:
        if closure.span.overlaps(held):
            raise Invalid(f"'{resource.name}' is closed {local_span_text(closure.span, zone)} "
                          f"({closure.reason})")
    return held


def check_slot(resource: Resource, service: Service, span: Span, party_size: int, *,
               now: datetime, policy: BookingPolicy, online: bool,
               hours: Sequence[OpeningInterval], closures: Sequence[Closure]) -> Span:
    """Every rule of a new (or moved) booking but the double booking; returns the held span."""
    check_timing(span, now=now, policy=policy, online=online)
    check_fit(resource, service, party_size)
    return check_open(resource, service, span, hours=hours, closures=closures, zone=policy.zone)


# ---------------------------------------------------------------- availability


def free_slots(resource: Resource, service: Service, day: date, *,
               hours: Sequence[OpeningInterval], busy: Sequence[Span], now: datetime,
               policy: BookingPolicy, online: bool) -> list[Span]:
    """The slots of `service` on `resource` starting on local date `day`: on the slot grid from
    each opening, wholly inside opening hours, their held span clear of `busy` (other
    bookings' held spans and closures), with the notice and inside the horizon."""
    if not (resource.active and service.active and resource.kind in service.resource_kinds):
        return []
    the_day = day_span(day, policy.zone)
    earliest = now + (policy.minimum_notice if online else timedelta(0))
    latest = now + policy.horizon
    step = policy.slot_step
    slots = []
    for opening in open_spans(hours, day, policy.zone):
        start = opening.start
        if start < the_day.start:  # a span carried over from the day before: skip ahead
            start += step * math.ceil((the_day.start - start) / step)
        while start < the_day.end and start + service.duration <= opening.end:
            span = Span(start, start + service.duration)
            held = service.held(span)
            if earliest <= start <= latest and not any(b.overlaps(held) for b in busy):
                slots.append(span)
            start += step
    return slots


# ---------------------------------------------------------------- lifecycle


def check_still_booked(status: Status, booking_id: UUID, doing: str) -> None:
    if status is not Status.BOOKED:
        raise Conflict(f"booking {booking_id} is {status.value.replace('_', ' ')}; "
                       f"it can no longer be {doing}")


def is_late_cancellation(starts_at: datetime, now: datetime, policy: BookingPolicy) -> bool:
    """Inside the cut-off before the start (R1 §3.1; the club's cancellation terms)."""
    return now > starts_at - policy.cancellation_cutoff


def check_member_may_cancel(starts_at: datetime, now: datetime, policy: BookingPolicy) -> None:
    if now >= starts_at:
        raise Conflict(f"the booking started at {local_text(starts_at, policy.zone)}; "
                       "please ask the front desk")


def check_member_may_reschedule(starts_at: datetime, now: datetime,
                                policy: BookingPolicy) -> None:
    """Inside the cut-off a member cannot move a booking themselves (moving it would dodge a
    late cancellation); the front desk can."""
    if is_late_cancellation(starts_at, now, policy):
        hours = policy.cancellation_cutoff.total_seconds() / 3600
        raise Conflict(f"the booking starts at {local_text(starts_at, policy.zone)}, inside the "
                       f"{hours:g}-hour cut-off: it can no longer be moved online; please "
                       "ask the front desk")


def check_no_show(status: Status, booking_id: UUID, starts_at: datetime, now: datetime,
                  policy: BookingPolicy) -> None:
    check_still_booked(status, booking_id, "marked a no-show")
    if now < starts_at:
        raise Conflict(f"booking {booking_id} starts at {local_text(starts_at, policy.zone)}; "
                       "it cannot be a no-show before it starts")


def no_show_deadline(now: datetime, policy: BookingPolicy) -> datetime:
    """Bookings still waiting that started at or before this moment are no-shows."""
    return now - policy.no_show_grace


def status_after_check_in(status: Status) -> Status:
    """A check-in fulfils a booking, and overrules an earlier no-show (the customer came,
    late); a cancelled booking stays cancelled, its slot may have been given away."""
    if status in (Status.BOOKED, Status.NO_SHOW, Status.FULFILLED):
        return Status.FULFILLED
    return status

