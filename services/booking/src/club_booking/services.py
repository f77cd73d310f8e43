"""The booking service's use cases: open a transaction, load, apply a rule from `domain`,
save, and publish the event through the outbox in the same transaction (docs/reliability.md).

HTTP-facing use cases take the `ServiceRuntime` (database, clock, settings) and the caller;
the consumer's and the sweep's take the session they run in.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import (
    BookingCancelled,
    BookingCancelledV2,
    BookingCreated,
    BookingFulfilled,
    BookingNoShow,
    BookingRescheduled,
)
from club_platform.auth import Principal
from club_platform.consumer import Unprocessable
from club_platform.db import idempotency_keys
from club_platform.errors import Conflict, Forbidden, Invalid, NotFound
from club_platform.idempotency import claim, remember
from club_platform.outbox import publish
from club_platform.runtime import ServiceRuntime
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from club_booking.domain.calendar import (
    WEEKDAYS,
    OpeningInterval,
    Span,
    day_span,
    format_clock,
    intervals_on,
    is_open_for,
    local_span_text,
)
from club_booking.domain.rules import (
    SYSTEM_ACTOR,
    BookingPolicy,
    CancelReason,
    Channel,
    Closure,
    OfflineChannel,
    Resource,
    Service,
    Status,
    check_member_may_cancel,
    check_member_may_reschedule,
    check_no_show,
    check_slot,
    check_still_booked,
    free_slots,
    is_late_cancellation,
    no_show_deadline,
    status_after_check_in,
)
from club_booking.schema import (
    NO_DOUBLE_BOOKING,
    bookings,
    closures,
    erased_customers,
    opening_hours,
    resources,
    service_catalogue,
)

log = logging.getLogger("club.booking")

# How many no-shows one sweep marks; the next sweep takes the rest.
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Reply:
    """What a use case answers: the status and the JSON body (fresh or replayed for a
    repeated Idempotency-Key)."""

    status_code: int
    body: Any


def _policy(runtime: ServiceRuntime) -> BookingPolicy:
    return runtime.settings.policy  # type: ignore[attr-defined]  (BookingSettings)


# ---------------------------------------------------------------- views


def hours_view(hours: Iterable[OpeningInterval]) -> list[dict]:
    return [{"weekday": WEEKDAYS[i.weekday], "opens_at": format_clock(i.opens),
             "closes_at": format_clock(i.closes)} for i in hours]


def resource_view(row: Mapping, hours: Iterable[OpeningInterval]) -> dict:
    return {"id": row["id"], "name": row["name"], "kind": row["kind"],
            "capacity": row["capacity"], "location": row["location"], "active": row["active"],
            "opening_hours": hours_view(hours), "created_at": row["created_at"]}


def service_view(row: Mapping) -> dict:
    return {"code": row["code"], "name": row["name"],
            "duration_minutes": row["duration_minutes"],
            "buffer_before_minutes": row["buffer_before_minutes"],
            "buffer_after_minutes": row["buffer_after_minutes"],
            "resource_kinds": list(row["resource_kinds"]), "active": row["active"]}


def closure_view(row: Mapping) -> dict:
    return {"id": row["id"], "resource_id": row["resource_id"], "starts_at": row["starts_at"],
            "ends_at": row["ends_at"], "reason": row["reason"], "created_by": row["created_by"],
            "created_at": row["created_at"]}


def booking_view(row: Mapping) -> dict:
    return {
        "id": row["id"], "resource_id": row["resource_id"], "service_code": row["service_code"],
        "customer_id": row["customer_id"], "customer_erased": row["customer_erased_at"] is not None,
        "channel": row["channel"], "offline_channel": row["offline_channel"],
        "party_size": row["party_size"], "staff_id": row["staff_id"],
        "starts_at": row["starts_at"], "ends_at": row["ends_at"],
        "held_from": row["held_from"], "held_until": row["held_until"],
        "status": row["status"], "created_by": row["created_by"],
        "created_at": row["created_at"], "updated_at": row["updated_at"],
        "cancelled_at": row["cancelled_at"], "cancel_reason": row["cancel_reason"],
        "cancelled_late": row["cancelled_late"], "no_show_at": row["no_show_at"],
        "visit_id": row["visit_id"], "checked_in_at": row["checked_in_at"],
    }


# ---------------------------------------------------------------- loading


def _resource_of(row: Mapping) -> Resource:
    return Resource(id=row["id"], name=row["name"], kind=row["kind"],
                    capacity=row["capacity"], active=row["active"])


def _service_of(row: Mapping) -> Service:
    return Service(code=row["code"], duration=timedelta(minutes=row["duration_minutes"]),
                   buffer_before=timedelta(minutes=row["buffer_before_minutes"]),
                   buffer_after=timedelta(minutes=row["buffer_after_minutes"]),
                   resource_kinds=tuple(row["resource_kinds"]), active=row["active"])


async def _resource_row(session: AsyncSession, resource_id: UUID, *, lock: str | None = None,
                        missing: type[Exception] = NotFound) -> Mapping:
    """The resource, optionally locked: `share` while booking it (many bookings at once),
    `update` while changing its hours or closing it (so no booking slips in meanwhile)."""
    query = sa.select(resources).where(resources.c.id == resource_id)
    if lock == "share":
        query = query.with_for_update(read=True)
    elif lock == "update":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None:
        raise missing(f"there is no resource {resource_id}")
    return row


async def _service_row(session: AsyncSession, code: str, *,
                       missing: type[Exception] = NotFound) -> Mapping:
    row = (await session.execute(
        sa.select(service_catalogue).where(service_catalogue.c.code == code)
    )).mappings().first()
    if row is None:
        raise missing(f"there is no service '{code}' in the catalogue")
    return row


async def _hours(session: AsyncSession, resource_ids: Sequence[UUID]) -> dict[UUID, list]:
    rows = (await session.execute(
        sa.select(opening_hours).where(opening_hours.c.resource_id.in_(resource_ids))
    )).mappings()
    found: dict[UUID, list[OpeningInterval]] = {rid: [] for rid in resource_ids}
    for row in rows:
        found[row["resource_id"]].append(
            OpeningInterval(row["weekday"], row["opens_minute"], row["closes_minute"]))
    return {rid: sorted(hours) for rid, hours in found.items()}


async def _closures(session: AsyncSession, resource_ids: Sequence[UUID],
                    around: Span) -> dict[UUID, list[Closure]]:
    rows = (await session.execute(
        sa.select(closures).where(closures.c.resource_id.in_(resource_ids),
                                  closures.c.starts_at < around.end,
                                  closures.c.ends_at > around.start)
        .order_by(closures.c.starts_at)
    )).mappings()
    found: dict[UUID, list[Closure]] = {rid: [] for rid in resource_ids}
    for row in rows:
        found[row["resource_id"]].append(Closure(Span(row["starts_at"], row["ends_at"]),
                                                 row["reason"]))
    return found


def _held_overlapping(resource_id: UUID, span: Span) -> sa.ColumnElement[bool]:
    """Bookings of the resource that hold it during `span`: the exclusion constraint's own
    expression, so its GiST index answers."""
    return sa.and_(
        bookings.c.resource_id == resource_id,
        bookings.c.status != Status.CANCELLED.value,
        sa.func.tstzrange(bookings.c.held_from, bookings.c.held_until, "[)").op("&&")(
            sa.func.tstzrange(span.start, span.end, "[)")),
    )


async def _booking_for(session: AsyncSession, principal: Principal, booking_id: UUID, *,
                       lock: bool = False) -> Mapping:
    """The booking, if the caller may see it. To a member, another member's booking does not
    exist (docs/authorization.md: members see and change only their own)."""
    query = sa.select(bookings).where(bookings.c.id == booking_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None or (principal.is_member and row["customer_id"] != principal.id):
        raise NotFound(f"there is no booking {booking_id}")
    return row


async def _booking_row(session: AsyncSession, booking_id: UUID) -> Mapping:
    return (await session.execute(
        sa.select(bookings).where(bookings.c.id == booking_id))).mappings().one()


# ---------------------------------------------------------------- resources and hours


async def create_resource(runtime: ServiceRuntime, principal: Principal, *, name: str,
                          kind: str, capacity: int, location: str,
                          hours: list[OpeningInterval], key: str | None,
                          payload: Any) -> Reply:
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope="create_resource",
                             payload=payload)
        if stored:
            return Reply(stored.status_code, stored.body)
        resource_id = uuid4()
        await session.execute(sa.insert(resources).values(
            id=resource_id, name=name, kind=kind, capacity=capacity, location=location,
            active=True, created_at=now))
        await _write_hours(session, resource_id, hours)
        body = resource_view(await _resource_row(session, resource_id), hours)
        await remember(session, key=key, principal=principal, scope="create_resource",
                       status_code=201, body=body)
    return Reply(201, body)


async def _write_hours(session: AsyncSession, resource_id: UUID,
                       hours: Sequence[OpeningInterval]) -> None:
    await session.execute(
        sa.delete(opening_hours).where(opening_hours.c.resource_id == resource_id))
    if hours:
        await session.execute(sa.insert(opening_hours), [
            {"resource_id": resource_id, "weekday": i.weekday, "opens_minute": i.opens,
             "closes_minute": i.closes} for i in hours])


async def list_resources(runtime: ServiceRuntime, *, kind: str | None) -> list[dict]:
    async with runtime.database.transaction() as session:
        query = sa.select(resources).order_by(resources.c.name, resources.c.id)
        if kind is not None:
            query = query.where(resources.c.kind == kind)
        rows = (await session.execute(query)).mappings().all()
        hours = await _hours(session, [r["id"] for r in rows])
    return [resource_view(r, hours[r["id"]]) for r in rows]


async def get_resource(runtime: ServiceRuntime, resource_id: UUID) -> dict:
    async with runtime.database.transaction() as session:
        row = await _resource_row(session, resource_id)
        hours = await _hours(session, [resource_id])
    return resource_view(row, hours[resource_id])


async def update_resource(runtime: ServiceRuntime, resource_id: UUID,
                          changes: dict[str, Any]) -> dict:
    """Rename, move, resize or retire a resource. Retiring stops new bookings only; existing
    ones stay for the desk to honour or move. A smaller capacity may not strand a party."""
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        row = await _resource_row(session, resource_id, lock="update")
        capacity = changes.get("capacity")
        if capacity is not None and capacity < row["capacity"]:
            too_big = (await session.execute(
                sa.select(bookings.c.id, bookings.c.party_size, bookings.c.starts_at)
                .where(bookings.c.resource_id == resource_id,
                       bookings.c.status == Status.BOOKED.value, bookings.c.ends_at > now,
                       bookings.c.party_size > capacity)
                .order_by(bookings.c.starts_at))).all()
            if too_big:
                raise Conflict(
                    f"{len(too_big)} upcoming booking(s) have a party larger than {capacity} "
                    f"(the first, {too_big[0].id}, is for {too_big[0].party_size}); move them "
                    "first", bookings=[str(b.id) for b in too_big[:20]])
        if changes:
            await session.execute(sa.update(resources).where(resources.c.id == resource_id)
                                  .values(**changes))
        row = await _resource_row(session, resource_id)
        hours = await _hours(session, [resource_id])
    return resource_view(row, hours[resource_id])


async def set_opening_hours(runtime: ServiceRuntime, resource_id: UUID,
                            hours: list[OpeningInterval]) -> dict:
    """Replace the resource's week. Upcoming bookings must still fit the new hours: the desk
    moves or cancels them first, so nobody arrives to a closed room."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        row = await _resource_row(session, resource_id, lock="update")
        upcoming = (await session.execute(
            sa.select(bookings.c.id, bookings.c.starts_at, bookings.c.ends_at)
            .where(bookings.c.resource_id == resource_id,
                   bookings.c.status == Status.BOOKED.value, bookings.c.ends_at > now)
            .order_by(bookings.c.starts_at))).all()
        outside = [b for b in upcoming
                   if not is_open_for(hours, Span(b.starts_at, b.ends_at), policy.zone)]
        if outside:
            first = Span(outside[0].starts_at, outside[0].ends_at)
            raise Conflict(
                f"{len(outside)} upcoming booking(s) would fall outside the new hours (the "
                f"first: {local_span_text(first, policy.zone)}); move or cancel them first",
                bookings=[str(b.id) for b in outside[:20]])
        await _write_hours(session, resource_id, hours)
    return resource_view(row, hours)


# ---------------------------------------------------------------- closures


async def add_closure(runtime: ServiceRuntime, principal: Principal, resource_id: UUID, *,
                      starts_at: datetime, ends_at: datetime, reason: str, key: str | None,
                      payload: Any) -> Reply:
    """A blackout (maintenance, a private event). Bookings still holding the resource then
    must be moved or cancelled first; none can be made inside it afterwards."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    if ends_at <= starts_at:
        raise Invalid("a closure's ends_at must be after its starts_at")
    if ends_at <= now:
        raise Invalid("a closure must end in the future")
    scope = f"add_closure:{resource_id}"
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope=scope, payload=payload)
        if stored:
            return Reply(stored.status_code, stored.body)
        resource = await _resource_row(session, resource_id, lock="update")
        span = Span(starts_at, ends_at)
        clashing = (await session.execute(
            sa.select(bookings.c.id, bookings.c.starts_at, bookings.c.ends_at)
            .where(_held_overlapping(resource_id, span),
                   bookings.c.status == Status.BOOKED.value)
            .order_by(bookings.c.starts_at))).all()
        if clashing:
            first = Span(clashing[0].starts_at, clashing[0].ends_at)
            raise Conflict(
                f"'{resource['name']}' has {len(clashing)} booking(s) during the closure (the "
                f"first: {local_span_text(first, policy.zone)}); move or cancel them first",
                bookings=[str(b.id) for b in clashing[:20]])
        closure_id = uuid4()
        await session.execute(sa.insert(closures).values(
            id=closure_id, resource_id=resource_id, starts_at=starts_at, ends_at=ends_at,
            reason=reason, created_by=principal.id, created_at=now))
        row = (await session.execute(
            sa.select(closures).where(closures.c.id == closure_id))).mappings().one()
        body = closure_view(row)
        await remember(session, key=key, principal=principal, scope=scope, status_code=201,
                       body=body)
    return Reply(201, body)


async def list_closures(runtime: ServiceRuntime, resource_id: UUID, *,
                        include_past: bool) -> list[dict]:
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        await _resource_row(session, resource_id)
        query = (sa.select(closures).where(closures.c.resource_id == resource_id)
                 .order_by(closures.c.starts_at))
        if not include_past:
            query = query.where(closures.c.ends_at > now)
        rows = (await session.execute(query)).mappings().all()
    return [closure_view(r) for r in rows]


async def remove_closure(runtime: ServiceRuntime, resource_id: UUID, closure_id: UUID) -> None:
    async with runtime.database.transaction() as session:
        removed = await session.execute(
            sa.delete(closures).where(closures.c.id == closure_id,
                                      closures.c.resource_id == resource_id)
            .returning(closures.c.id))
        if removed.first() is None:
            raise NotFound(f"resource {resource_id} has no closure {closure_id}")


# ---------------------------------------------------------------- the service catalogue


async def create_service(runtime: ServiceRuntime, principal: Principal, *, values: dict,
                         key: str | None, payload: Any) -> Reply:
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope="create_service",
                             payload=payload)
        if stored:
            return Reply(stored.status_code, stored.body)
        created = await session.execute(
            insert(service_catalogue)
            .values(**values, active=True, created_at=now, updated_at=now)
            .on_conflict_do_nothing()
            .returning(*service_catalogue.c))
        row = created.mappings().first()
        if row is None:
            raise Conflict(f"the catalogue already has a service '{values['code']}'")
        body = service_view(row)
        await remember(session, key=key, principal=principal, scope="create_service",
                       status_code=201, body=body)
    return Reply(201, body)


async def list_services(runtime: ServiceRuntime) -> list[dict]:
    async with runtime.database.transaction() as session:
        rows = (await session.execute(
            sa.select(service_catalogue).order_by(service_catalogue.c.code))).mappings().all()
    return [service_view(r) for r in rows]


async def get_service(runtime: ServiceRuntime, code: str) -> dict:
    async with runtime.database.transaction() as session:
        return service_view(await _service_row(session, code))


async def update_service(runtime: ServiceRuntime, code: str, changes: dict) -> dict:
    """A change applies to bookings made from now on; existing bookings keep the span they
    were given (their held_from/held_until)."""
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        await _service_row(session, code)
        row = (await session.execute(
            sa.update(service_catalogue).where(service_catalogue.c.code == code)
            .values(**changes, updated_at=now).returning(*service_catalogue.c))).mappings().one()
    return service_view(row)


# ---------------------------------------------------------------- availability


async def availability(runtime: ServiceRuntime, principal: Principal, *, service_code: str,
                       day: date, party_size: int, resource_id: UUID | None) -> dict:
    """Free slots of a service on a local date, over every resource that can host it (or
    one). Members see them with the online notice; staff see what the desk can still fit."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        service = _service_of(await _service_row(session, service_code))
        if resource_id is not None:
            candidates = [await _resource_row(session, resource_id)]
            if candidates[0]["kind"] not in service.resource_kinds:
                raise Invalid(f"'{candidates[0]['name']}' is a {candidates[0]['kind']}; service "
                              f"'{service.code}' needs {', '.join(service.resource_kinds)}")
        else:
            candidates = (await session.execute(
                sa.select(resources).where(resources.c.kind.in_(service.resource_kinds),
                                           resources.c.active)
                .order_by(resources.c.name, resources.c.id))).mappings().all()
        candidates = [r for r in candidates if r["capacity"] >= party_size]
        ids = [r["id"] for r in candidates]
        # Wide enough for the day's slots with their buffers and spans carried over midnight.
        the_day = day_span(day, policy.zone)
        window = Span(the_day.start - timedelta(days=1), the_day.end + timedelta(days=1))
        hours = await _hours(session, ids)
        blackouts = await _closures(session, ids, window)
        busy_rows = (await session.execute(
            sa.select(bookings.c.resource_id, bookings.c.held_from, bookings.c.held_until)
            .where(bookings.c.resource_id.in_(ids),
                   bookings.c.status != Status.CANCELLED.value,
                   bookings.c.held_from < window.end, bookings.c.held_until > window.start)
        )).all()
    busy: dict[UUID, list[Span]] = {rid: [c.span for c in blackouts[rid]] for rid in ids}
    for row in busy_rows:
        busy[row.resource_id].append(Span(row.held_from, row.held_until))
    slots = []
    for row in candidates:
        resource = _resource_of(row)
        for span in free_slots(resource, service, day, hours=hours[resource.id],
                               busy=busy[resource.id], now=now, policy=policy,
                               online=principal.is_member):
            slots.append({"resource_id": resource.id, "resource_name": resource.name,
                          "starts_at": span.start, "ends_at": span.end})
    slots.sort(key=lambda s: (s["starts_at"], s["resource_name"], str(s["resource_id"])))
    return {"service_code": service.code, "date": day, "timezone": policy.zone.key,
            "party_size": party_size, "slots": slots}


# ---------------------------------------------------------------- bookings


async def _refuse_erased(session: AsyncSession, customer_id: UUID) -> None:
    """No new booking for a customer CRM erased. The shared advisory lock meets the
    erasure's exclusive one, so a booking and an erasure of one customer never interleave."""
    await session.execute(sa.text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:c, 7))"),
                          {"c": str(customer_id)})
    erased = await session.scalar(sa.select(erased_customers.c.erased_at)
                                  .where(erased_customers.c.customer_id == customer_id))
    if erased is not None:
        raise Conflict(f"customer {customer_id} was erased; no booking can be made for them")


async def _take_slot(session: AsyncSession, statement: sa.Executable, resource: Resource,
                     held: Span, policy: BookingPolicy, *, moving: UUID | None = None) -> None:
    """Insert or move a booking. The exclusion constraint decides (under any concurrency,
    across replicas); when it refuses, say which booking holds the slot."""
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except IntegrityError as e:
        if _violated_constraint(e) != NO_DOUBLE_BOOKING:
            raise
        raise await _double_booking(session, resource, held, policy, moving) from None


def _violated_constraint(error: IntegrityError) -> str | None:
    cause = getattr(error.orig, "__cause__", None)
    if getattr(error.orig, "sqlstate", None) != "23P01":
        return None
    return getattr(cause, "constraint_name", None)


async def _double_booking(session: AsyncSession, resource: Resource, held: Span,
                          policy: BookingPolicy, moving: UUID | None) -> Conflict:
    # The savepoint rolled back and the winner has committed: this statement sees it.
    query = sa.select(bookings.c.starts_at, bookings.c.ends_at, bookings.c.held_from,
                      bookings.c.held_until).where(_held_overlapping(resource.id, held))
    if moving is not None:
        query = query.where(bookings.c.id != moving)
    taken = (await session.execute(query.order_by(bookings.c.held_from).limit(1))).first()
    zone = policy.zone
    if taken is None:
        return Conflict(f"'{resource.name}' was just booked for an overlapping time; "
                        "please choose another slot")
    slot = Span(taken.starts_at, taken.ends_at)
    held_by = Span(taken.held_from, taken.held_until)
    buffers = "" if held_by == slot else (
        f", held {held_by.start.astimezone(zone):%H:%M}–{held_by.end.astimezone(zone):%H:%M} "
        "with set-up and clearing time")
    return Conflict(
        f"'{resource.name}' is already booked {local_span_text(slot, zone)} ({zone.key}"
        f"{buffers}); your booking would hold it "
        f"{local_span_text(held, zone)}",
        conflicting_slot={"resource_id": str(resource.id),
                          "starts_at": _utc_text(slot.start), "ends_at": _utc_text(slot.end),
                          "held_from": _utc_text(held_by.start),
                          "held_until": _utc_text(held_by.end)},
    )


def _utc_text(moment: datetime) -> str:
    """RFC 3339 in UTC, as every other time in the API reads."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def create_booking(runtime: ServiceRuntime, principal: Principal, *, resource_id: UUID,
                         service_code: str, starts_at: datetime, ends_at: datetime | None,
                         party_size: int, staff_id: UUID | None, customer_id: UUID | None,
                         offline_channel: OfflineChannel | None, key: str | None,
                         payload: Any) -> Reply:
    """Book online (a member, for themselves) or offline (staff, for a customer, by phone,
    at the desk or for a walk-in), R1 §3.1."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    if principal.is_member:
        if customer_id is not None and customer_id != principal.id:
            raise Forbidden("members book for themselves only")
        if offline_channel is not None:
            raise Invalid("offline_channel is for staff booking on a customer's behalf; "
                          "members book online")
        customer_id, channel = principal.id, Channel.ONLINE
    else:
        if customer_id is None:
            raise Invalid("customer_id is required when staff book on a customer's behalf")
        if offline_channel is None:
            raise Invalid("offline_channel is required when staff book: phone, desk or walk_in")
        channel = Channel.OFFLINE
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope="create_booking",
                             payload=payload)
        if stored:
            return Reply(stored.status_code, stored.body)
        await _refuse_erased(session, customer_id)
        resource = _resource_of(await _resource_row(session, resource_id, lock="share",
                                                    missing=Invalid))
        service = _service_of(await _service_row(session, service_code, missing=Invalid))
        span = Span(starts_at, ends_at or starts_at + service.duration)
        held = await _check_slot(session, resource, service, span, party_size, now=now,
                                 policy=policy, online=principal.is_member)
        booking_id = uuid4()
        await _take_slot(session, sa.insert(bookings).values(
            id=booking_id, resource_id=resource.id, service_code=service.code,
            customer_id=customer_id, channel=channel.value,
            offline_channel=offline_channel.value if offline_channel else None,
            party_size=party_size, staff_id=staff_id, starts_at=span.start, ends_at=span.end,
            held_from=held.start, held_until=held.end, status=Status.BOOKED.value,
            created_by=principal.id, created_at=now, updated_at=now,
        ), resource, held, policy)
        await publish(session, BookingCreated(
            booking_id=booking_id, customer_id=customer_id, resource_id=resource.id,
            service_code=service.code, channel=channel.value, starts_at=span.start,
            ends_at=span.end, party_size=party_size, staff_id=staff_id,
            created_by=principal.id, created_at=now,
        ), occurred_at=now)
        body = booking_view(await _booking_row(session, booking_id))
        await remember(session, key=key, principal=principal, scope="create_booking",
                       status_code=201, body=body)
    return Reply(201, body)


async def _check_slot(session: AsyncSession, resource: Resource, service: Service, span: Span,
                      party_size: int, *, now: datetime, policy: BookingPolicy,
                      online: bool) -> Span:
    around = Span(span.start - timedelta(days=1), span.end + timedelta(days=1))
    hours = (await _hours(session, [resource.id]))[resource.id]
    blackouts = (await _closures(session, [resource.id], around))[resource.id]
    return check_slot(resource, service, span, party_size, now=now, policy=policy,
                      online=online, hours=hours, closures=blackouts)


async def get_booking(runtime: ServiceRuntime, principal: Principal, booking_id: UUID) -> dict:
    async with runtime.database.transaction() as session:
        return booking_view(await _booking_for(session, principal, booking_id))


async def list_bookings(runtime: ServiceRuntime, principal: Principal, *,
                        customer_id: UUID | None, resource_id: UUID | None,
                        status: Status | None, starts_from: datetime | None,
                        starts_before: datetime | None, limit: int) -> list[dict]:
    if principal.is_member:
        if customer_id is not None and customer_id != principal.id:
            raise Forbidden("members see their own bookings only")
        customer_id = principal.id
    query = sa.select(bookings).order_by(bookings.c.starts_at, bookings.c.id).limit(limit)
    if customer_id is not None:
        query = query.where(bookings.c.customer_id == customer_id)
    if resource_id is not None:
        query = query.where(bookings.c.resource_id == resource_id)
    if status is not None:
        query = query.where(bookings.c.status == status.value)
    if starts_from is not None:
        query = query.where(bookings.c.starts_at >= starts_from)
    if starts_before is not None:
        query = query.where(bookings.c.starts_at < starts_before)
    async with runtime.database.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
    return [booking_view(r) for r in rows]


async def reschedule_booking(runtime: ServiceRuntime, principal: Principal, booking_id: UUID,
                             *, starts_at: datetime, ends_at: datetime | None,
                             resource_id: UUID | None, key: str | None,
                             payload: Any) -> Reply:
    """Move a booking in time or to another resource; the length is kept unless a new
    ends_at is given. The new slot obeys every rule a new booking does."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    scope = f"reschedule_booking:{booking_id}"
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope=scope, payload=payload)
        if stored:
            return Reply(stored.status_code, stored.body)
        row = await _booking_for(session, principal, booking_id, lock=True)
        check_still_booked(Status(row["status"]), booking_id, "rescheduled")
        if principal.is_member:
            check_member_may_reschedule(row["starts_at"], now, policy)
        resource = _resource_of(await _resource_row(
            session, resource_id or row["resource_id"], lock="share", missing=Invalid))
        # A service taken off the catalogue still honours the bookings it already has.
        service = dataclasses.replace(
            _service_of(await _service_row(session, row["service_code"])), active=True)
        span = Span(starts_at, ends_at or starts_at + (row["ends_at"] - row["starts_at"]))
        previous = Span(row["starts_at"], row["ends_at"])
        if span == previous and resource.id == row["resource_id"]:
            body = booking_view(row)  # already there: nothing changes, nothing to announce
        else:
            held = await _check_slot(session, resource, service, span, row["party_size"],
                                     now=now, policy=policy, online=principal.is_member)
            await _take_slot(session, sa.update(bookings).where(bookings.c.id == booking_id)
                             .values(resource_id=resource.id, starts_at=span.start,
                                     ends_at=span.end, held_from=held.start,
                                     held_until=held.end, updated_at=now),
                             resource, held, policy, moving=booking_id)
            await publish(session, BookingRescheduled(
                booking_id=booking_id, customer_id=row["customer_id"], resource_id=resource.id,
                previous_starts_at=previous.start, previous_ends_at=previous.end,
                starts_at=span.start, ends_at=span.end, rescheduled_by=principal.id,
                rescheduled_at=now,
            ), occurred_at=now)
            body = booking_view(await _booking_row(session, booking_id))
        await remember(session, key=key, principal=principal, scope=scope, status_code=200,
                       body=body)
    return Reply(200, body)


async def cancel_booking(runtime: ServiceRuntime, principal: Principal, booking_id: UUID, *,
                         reason: CancelReason, key: str | None, payload: Any) -> Reply:
    """Cancel and free the slot; inside the cut-off before the start it is a late
    cancellation (BOOKING_CANCELLATION_CUTOFF_HOURS)."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    if reason is CancelReason.CUSTOMER_ERASED:
        raise Invalid("the reason customer_erased is the service's own, used when CRM erases a "
                      "customer")
    scope = f"cancel_booking:{booking_id}"
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope=scope, payload=payload)
        if stored:
            return Reply(stored.status_code, stored.body)
        row = await _booking_for(session, principal, booking_id, lock=True)
        check_still_booked(Status(row["status"]), booking_id, "cancelled")
        if principal.is_member:
            check_member_may_cancel(row["starts_at"], now, policy)
        late = is_late_cancellation(row["starts_at"], now, policy)
        await _cancel(session, row, reason=reason, late=late, by=principal.id, at=now)
        body = booking_view(await _booking_row(session, booking_id))
        await remember(session, key=key, principal=principal, scope=scope, status_code=200,
                       body=body)
    return Reply(200, body)


async def _cancel(session: AsyncSession, row: Mapping, *, reason: CancelReason, late: bool,
                  by: UUID, at: datetime) -> None:
    await session.execute(
        sa.update(bookings).where(bookings.c.id == row["id"])
        .values(status=Status.CANCELLED.value, cancelled_at=at, cancelled_by=by,
                cancel_reason=reason.value, cancelled_late=late, updated_at=at))
    fields = dict(booking_id=row["id"], customer_id=row["customer_id"], reason=reason.value,
                  late=late, cancelled_by=by, cancelled_at=at)
    # v1 and v2 side by side until v1's deprecation window ends (docs/events.md).
    await publish(session, BookingCancelled(**fields), occurred_at=at)
    await publish(session, BookingCancelledV2(**fields), occurred_at=at)


async def mark_no_show(runtime: ServiceRuntime, principal: Principal, booking_id: UUID) -> dict:
    """Staff mark a no-show once the start has passed, without waiting for the sweep."""
    policy = _policy(runtime)
    now = runtime.clock.now()
    async with runtime.database.transaction() as session:
        row = await _booking_for(session, principal, booking_id, lock=True)
        check_no_show(Status(row["status"]), booking_id, row["starts_at"], now, policy)
        await _mark_no_shows(session, [row], by=principal.id, at=now)
        return booking_view(await _booking_row(session, booking_id))


async def _mark_no_shows(session: AsyncSession, rows: Sequence[Mapping], *, by: UUID | None,
                         at: datetime) -> None:
    await session.execute(
        sa.update(bookings).where(bookings.c.id.in_([r["id"] for r in rows]))
        .values(status=Status.NO_SHOW.value, no_show_at=at, no_show_by=by, updated_at=at))
    for row in rows:
        await publish(session, BookingNoShow(
            booking_id=row["id"], customer_id=row["customer_id"], resource_id=row["resource_id"],
            starts_at=row["starts_at"], marked_at=at,
        ), occurred_at=at)


async def sweep_no_shows(session: AsyncSession, now: datetime, policy: BookingPolicy) -> int:
    """The automatic no-show (a PeriodicJob): bookings still waiting a grace period after
    their start (BOOKING_NO_SHOW_GRACE_MINUTES) with no check-in."""
    rows = (await session.execute(
        sa.select(bookings)
        .where(bookings.c.status == Status.BOOKED.value,
               bookings.c.starts_at <= no_show_deadline(now, policy))
        .order_by(bookings.c.starts_at).limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True))).mappings().all()
    if rows:
        await _mark_no_shows(session, rows, by=None, at=now)
    return len(rows)


# ---------------------------------------------------------------- the day sheet


async def day_sheet(runtime: ServiceRuntime, resource_id: UUID, day: date) -> dict:
    """One resource's day for the front desk: its hours, closures and bookings (every
    status, so the desk also sees what was cancelled), with a head count."""
    policy = _policy(runtime)
    the_day = day_span(day, policy.zone)
    async with runtime.database.transaction() as session:
        resource = await _resource_row(session, resource_id)
        hours = (await _hours(session, [resource_id]))[resource_id]
        blackouts = (await session.execute(
            sa.select(closures).where(closures.c.resource_id == resource_id,
                                      closures.c.starts_at < the_day.end,
                                      closures.c.ends_at > the_day.start)
            .order_by(closures.c.starts_at))).mappings().all()
        rows = (await session.execute(
            sa.select(bookings, service_catalogue.c.name.label("service_name"))
            .join(service_catalogue, service_catalogue.c.code == bookings.c.service_code)
            .where(bookings.c.resource_id == resource_id,
                   bookings.c.starts_at < the_day.end, bookings.c.ends_at > the_day.start)
            .order_by(bookings.c.starts_at, bookings.c.created_at))).mappings().all()
    entries = [booking_view(r) | {"service_name": r["service_name"]} for r in rows]
    counts = {s.value: sum(1 for r in rows if r["status"] == s.value) for s in Status}
    guests = sum(r["party_size"] for r in rows if r["status"] != Status.CANCELLED.value)
    return {
        "resource": resource_view(resource, hours), "date": day, "timezone": policy.zone.key,
        "open": [{"starts_at": s.start, "ends_at": s.end}
                 for s in intervals_on(hours, day, policy.zone)],
        "closures": [closure_view(c) for c in blackouts],
        "bookings": entries, "counts": counts | {"guests": guests},
    }


# ---------------------------------------------------------------- from other services


async def fulfil_booking(session: AsyncSession, *, booking_id: UUID, visit_id: UUID,
                         checked_in_at: datetime) -> None:
    """visit.checked_in for a booking (R1 §3.2): the customer came. Converges whatever the
    order and number of deliveries: the earliest check-in is the one kept."""
    row = (await session.execute(
        sa.select(bookings).where(bookings.c.id == booking_id).with_for_update()
    )).mappings().first()
    if row is None:
        # Reception learns of bookings from booking.created, published only after our commit:
        # an id we never made is a wrong reference, which no retry will fix.
        raise Unprocessable(f"visit {visit_id} names booking {booking_id}, which this service "
                            "never made")
    status = Status(row["status"])
    earlier = row["checked_in_at"] is None or checked_in_at < row["checked_in_at"]
    values: dict[str, Any] = {}
    if earlier:
        values |= {"visit_id": visit_id, "checked_in_at": checked_in_at}
    new_status = status_after_check_in(status)
    if new_status is not status:
        values |= {"status": new_status.value}
    if status is Status.CANCELLED:
        log.info("booking %s was cancelled before visit %s checked in; it stays cancelled",
                 booking_id, visit_id)
    if values:
        await session.execute(sa.update(bookings).where(bookings.c.id == booking_id)
                              .values(**values, updated_at=sa.func.now()))
    if new_status is Status.FULFILLED and status is not Status.FULFILLED:
        # Once, when it becomes fulfilled: a later, earlier-timed check-in of the same
        # booking moves checked_in_at here but is not news to anyone else.
        await publish(session, BookingFulfilled(
            booking_id=booking_id, customer_id=row["customer_id"],
            resource_id=row["resource_id"], visit_id=visit_id, starts_at=row["starts_at"],
            checked_in_at=checked_in_at, after_no_show=status is Status.NO_SHOW,
        ), occurred_at=checked_in_at)


async def erase_customer(session: AsyncSession, *, customer_id: UUID,
                         erased_at: datetime) -> int:
    """customer.erased (R1 §6): cancel what they still have booked (the last events to carry
    their id, which customer.erased itself carries), then drop the link to them from every
    booking. The bookings stay, anonymous, so the counts per resource, service and day hold.
    Returns how many bookings were cancelled."""
    await session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:c, 7))"),
                          {"c": str(customer_id)})
    await session.execute(insert(erased_customers)
                          .values(customer_id=customer_id, erased_at=erased_at)
                          .on_conflict_do_nothing())
    waiting = (await session.execute(
        sa.select(bookings).where(bookings.c.customer_id == customer_id,
                                  bookings.c.status == Status.BOOKED.value)
        .order_by(bookings.c.starts_at).with_for_update())).mappings().all()
    for row in waiting:
        await _cancel(session, row, reason=CancelReason.CUSTOMER_ERASED, late=False,
                      by=SYSTEM_ACTOR, at=erased_at)
    await session.execute(
        sa.update(bookings).where(bookings.c.customer_id == customer_id)
        .values(customer_id=None, customer_erased_at=erased_at, updated_at=sa.func.now()))
    # Stored replies of Idempotency-Keys would still name them: the member's own keys, and
    # staff keys whose booking was for them.
    await session.execute(sa.delete(idempotency_keys).where(sa.or_(
        idempotency_keys.c.principal == str(customer_id),
        sa.cast(idempotency_keys.c.response, sa.Text).contains(str(customer_id)),
    )))
    return len(waiting)
