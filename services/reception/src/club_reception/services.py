"""Reception's use cases. Each runs inside the caller's transaction: load (locking what it
changes), apply a rule from `domain/`, save, and `publish()` the events in the same
transaction (docs/reliability.md, outbox).

Sections: locations · staff directory · expected arrivals · visits · incidents · the floor
and the day sheet · customer erasure · plans and tasks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import (
    IncidentReported,
    ServiceDelivered,
    TaskAssigned,
    TaskCompleted,
    TaskOverdue,
    VisitCheckedIn,
    VisitCompleted,
    VisitServiceRecorded,
)
from club_platform.errors import Conflict, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_reception.domain import arrivals as arrival_rules
from club_reception.domain import incidents as incident_rules
from club_reception.domain import tasks as task_rules
from club_reception.domain import visits as visit_rules
from club_reception.domain.arrivals import ExpectedArrival, Schedule
from club_reception.domain.errors import (
    AlreadyCheckedIn,
    ChecklistIncomplete,
    NotYourTask,
    UnknownLocation,
)
from club_reception.domain.staff import Standing, StandingFact, ensure_assignable, standing_at
from club_reception.schema import (
    expected_arrivals,
    incident_actions,
    incidents,
    locations,
    plans,
    routines,
    service_records,
    staff,
    staff_standings,
    tasks,
    visits,
)

BOOKING_TOPICS = ("booking.created", "booking.rescheduled", "booking.cancelled")


def _plain(row: sa.Row | None) -> dict[str, Any] | None:
    return dict(row._mapping) if row is not None else None


async def _write_once(session: AsyncSession, statement: sa.Executable,
                      clash: Callable[[], Exception]) -> None:
    """Write in a savepoint, so that losing a race on a unique index becomes a 4xx."""
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except sa.exc.IntegrityError as e:
        raise clash() from e


# ================================================================ locations (R1 §3.2)


async def create_location(session: AsyncSession, *, name: str, kind: str,
                          capacity: int | None, now: datetime) -> dict:
    row = {"location_id": uuid4(), "name": name.strip(), "kind": kind, "capacity": capacity,
           "active": True, "created_at": now, "updated_at": now}
    await _ensure_name_free(session, row["name"])
    await _write_once(session, sa.insert(locations).values(**row),
                       lambda: Conflict(f"a location named {row['name']!r} already exists"))
    return row


async def _ensure_name_free(session: AsyncSession, name: str,
                            other_than: UUID | None = None) -> None:
    query = sa.select(locations.c.location_id).where(
        sa.func.lower(locations.c.name) == name.lower())
    if other_than is not None:
        query = query.where(locations.c.location_id != other_than)
    if await session.scalar(query) is not None:
        raise Conflict(f"a location named {name!r} already exists")


async def change_location(session: AsyncSession, location_id: UUID, changes: dict[str, Any],
                          now: datetime) -> dict:
    current = await get_location(session, location_id, lock=True)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        await _ensure_name_free(session, changes["name"], other_than=location_id)
    if changes:
        await _write_once(session, sa.update(locations)
                          .where(locations.c.location_id == location_id)
                          .values(**changes, updated_at=now),
                          lambda: Conflict(f"a location named {changes['name']!r} already "
                                           "exists"))
    return {**current, **changes, "updated_at": now if changes else current["updated_at"]}


async def get_location(session: AsyncSession, location_id: UUID, *, lock: bool = False) -> dict:
    query = sa.select(locations).where(locations.c.location_id == location_id)
    if lock:
        query = query.with_for_update()
    row = _plain((await session.execute(query)).first())
    if row is None:
        raise NotFound(f"there is no location {location_id}")
    return row


async def list_locations(session: AsyncSession, *, include_closed: bool) -> list[dict]:
    query = sa.select(locations).order_by(locations.c.name)
    if not include_closed:
        query = query.where(locations.c.active)
    return [_plain(r) for r in await session.execute(query)]


async def _guide_to(session: AsyncSession, location_id: UUID, party_size: int,
                    leaving: UUID | None = None) -> dict:
    """The place a party is guided to (R1 §3.2): known, open, with room. The row lock
    serialises guests guided to one place, so two desks cannot both fill its last seat."""
    location = _plain((await session.execute(
        sa.select(locations).where(locations.c.location_id == location_id).with_for_update()
    )).first())
    if location is None:
        raise UnknownLocation(f"there is no location {location_id}",
                              location_id=str(location_id))
    guests = sa.select(sa.func.coalesce(sa.func.sum(visits.c.party_size), 0)).where(
        visits.c.location_id == location_id, visits.c.completed_at.is_(None))
    if leaving is not None:
        guests = guests.where(visits.c.visit_id != leaving)
    visit_rules.ensure_room(location["name"], location["active"], location["capacity"],
                            int(await session.scalar(guests)), party_size)
    return location


# ================================================================ staff directory


async def _add_standing(session: AsyncSession, staff_id: UUID, effective_at: datetime,
                        status: str, role: str | None) -> None:
    await session.execute(pg_insert(staff).values(staff_id=staff_id)
                          .on_conflict_do_nothing())
    statement = pg_insert(staff_standings).values(
        staff_id=staff_id, effective_at=effective_at, status=status, role=role)
    # Two facts at the same moment with the same status differ at most in role: keep one of
    # them whatever the order (GREATEST ignores NULL).
    await session.execute(statement.on_conflict_do_update(
        index_elements=[staff_standings.c.staff_id, staff_standings.c.effective_at,
                        staff_standings.c.status],
        set_={"role": sa.func.greatest(staff_standings.c.role, statement.excluded.role)},
    ))


async def note_staff_hired(session: AsyncSession, *, staff_id: UUID, display_name: str,
                           role: str, department: str, hired_at: datetime) -> None:
    statement = pg_insert(staff).values(staff_id=staff_id, display_name=display_name,
                                        department=department, hired_at=hired_at)
    await session.execute(statement.on_conflict_do_update(
        index_elements=[staff.c.staff_id],
        set_={"display_name": statement.excluded.display_name,
              "department": statement.excluded.department,
              "hired_at": statement.excluded.hired_at},
    ))
    await _add_standing(session, staff_id, hired_at, "active", role)


async def note_staff_changed(session: AsyncSession, *, staff_id: UUID, role: str, status: str,
                             effective_at: datetime) -> None:
    await _add_standing(session, staff_id, effective_at, status, role)


async def note_staff_offboarded(session: AsyncSession, *, staff_id: UUID,
                                effective_at: datetime) -> None:
    await _add_standing(session, staff_id, effective_at, "offboarded", None)


async def _standing_facts(session: AsyncSession,
                          staff_ids: Iterable[UUID] | None = None
                          ) -> dict[UUID, list[StandingFact]]:
    query = sa.select(staff_standings)
    if staff_ids is not None:
        query = query.where(staff_standings.c.staff_id.in_(list(staff_ids)))
    facts: dict[UUID, list[StandingFact]] = defaultdict(list)
    for row in await session.execute(query):
        facts[row.staff_id].append(StandingFact(row.effective_at, row.status, row.role))
    return facts


async def standing_of(session: AsyncSession, staff_id: UUID, at: datetime) -> Standing:
    facts = await _standing_facts(session, [staff_id])
    return standing_at(facts.get(staff_id, ()), at)


async def _ensure_on_duty(session: AsyncSession, staff_id: UUID, at: datetime,
                          duty: str) -> None:
    ensure_assignable(staff_id, await standing_of(session, staff_id, at), duty)


def _staff_entry(row: sa.Row, standing: Standing) -> dict:
    return {"staff_id": row.staff_id, "display_name": row.display_name,
            "department": row.department, "hired_at": row.hired_at, "role": standing.role,
            "status": standing.status, "since": standing.since}


async def list_staff(session: AsyncSession, at: datetime, *,
                     status: str | None = None) -> list[dict]:
    facts = await _standing_facts(session)
    entries = [
        _staff_entry(row, standing_at(facts.get(row.staff_id, ()), at))
        for row in await session.execute(
            sa.select(staff).order_by(staff.c.display_name.nulls_last(), staff.c.staff_id))
    ]
    return [e for e in entries if status is None or e["status"] == status]


async def get_staff_member(session: AsyncSession, staff_id: UUID, at: datetime) -> dict:
    row = (await session.execute(sa.select(staff).where(staff.c.staff_id == staff_id))).first()
    if row is None:
        raise NotFound(f"staff member {staff_id} is not in reception's staff directory")
    return _staff_entry(row, await standing_of(session, staff_id, at))


async def _staff_names(session: AsyncSession, staff_ids: Iterable[UUID]) -> dict[UUID, str]:
    ids = list(set(staff_ids))
    if not ids:
        return {}
    rows = await session.execute(sa.select(staff.c.staff_id, staff.c.display_name)
                                 .where(staff.c.staff_id.in_(ids)))
    return {r.staff_id: r.display_name for r in rows}


# ================================================================ expected arrivals


def _arrival_from(row: sa.Row) -> ExpectedArrival:
    schedule = None
    if row.scheduled_at is not None:
        schedule = Schedule(row.resource_id, row.starts_at, row.ends_at, row.scheduled_at)
    return ExpectedArrival(
        booking_id=row.booking_id, customer_id=row.customer_id, service_code=row.service_code,
        channel=row.channel, party_size=row.party_size, staff_id=row.staff_id,
        booked_at=row.booked_at, schedule=schedule, cancelled_at=row.cancelled_at,
        cancelled_late=row.cancelled_late, customer_disputed=row.customer_disputed,
    )


def _arrival_values(arrival: ExpectedArrival) -> dict:
    schedule = arrival.schedule
    return {
        "booking_id": arrival.booking_id, "customer_id": arrival.customer_id,
        "service_code": arrival.service_code, "channel": arrival.channel,
        "party_size": arrival.party_size, "staff_id": arrival.staff_id,
        "booked_at": arrival.booked_at,
        "resource_id": schedule.resource_id if schedule else None,
        "starts_at": schedule.starts_at if schedule else None,
        "ends_at": schedule.ends_at if schedule else None,
        "scheduled_at": schedule.stamped_at if schedule else None,
        "cancelled_at": arrival.cancelled_at, "cancelled_late": arrival.cancelled_late,
        "customer_disputed": arrival.customer_disputed,
    }


async def load_arrival(session: AsyncSession, booking_id: UUID, *,
                       lock: bool = False) -> ExpectedArrival | None:
    query = sa.select(expected_arrivals).where(expected_arrivals.c.booking_id == booking_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    return _arrival_from(row) if row is not None else None


async def merge_arrival(session: AsyncSession, booking_id: UUID,
                        merge: Callable[[ExpectedArrival | None], ExpectedArrival]
                        ) -> tuple[ExpectedArrival | None, ExpectedArrival]:
    """Apply one booking event's merge (domain/arrivals.py) to the stored row; returns the
    row before and after. Two replicas inserting the same new booking meet at the primary
    key; the loser is retried by the consumer runner and then merges into the winner's row."""
    current = await load_arrival(session, booking_id, lock=True)
    merged = merge(current)
    if merged == current:
        return current, merged
    values = _arrival_values(merged)
    if current is None:
        await session.execute(sa.insert(expected_arrivals).values(**values))
    else:
        await session.execute(sa.update(expected_arrivals)
                              .where(expected_arrivals.c.booking_id == booking_id)
                              .values(**values))
    return current, merged


def _arrival_view(row: sa.Row) -> dict:
    data = dict(row._mapping)
    visit_id, completed_at = data.pop("visit_id", None), data.pop("completed_at", None)
    data.pop("scheduled_at", None)
    if data["cancelled_at"] is not None:
        data["status"] = "cancelled"
    elif visit_id is None:
        data["status"] = "expected"
    else:
        data["status"] = "completed" if completed_at is not None else "checked_in"
    data["visit_id"] = visit_id
    return data


def _arrivals_query() -> sa.Select:
    return (sa.select(expected_arrivals, visits.c.visit_id, visits.c.completed_at)
            .select_from(expected_arrivals.outerjoin(
                visits, visits.c.booking_id == expected_arrivals.c.booking_id)))


async def list_arrivals(session: AsyncSession, start: datetime, end: datetime, *,
                        include_cancelled: bool = False) -> list[dict]:
    query = _arrivals_query().where(expected_arrivals.c.starts_at >= start,
                                    expected_arrivals.c.starts_at < end)
    if not include_cancelled:
        query = query.where(expected_arrivals.c.cancelled_at.is_(None))
    query = query.order_by(expected_arrivals.c.starts_at, expected_arrivals.c.booking_id)
    return [_arrival_view(r) for r in await session.execute(query)]


async def get_arrival(session: AsyncSession, booking_id: UUID) -> dict:
    row = (await session.execute(
        _arrivals_query().where(expected_arrivals.c.booking_id == booking_id))).first()
    if row is None:
        raise NotFound(f"reception has not heard of booking {booking_id}")
    return _arrival_view(row)


# ================================================================ visits (R1 §3.2–3.4)


def _visit_from(row: dict) -> visit_rules.Visit:
    return visit_rules.Visit(
        visit_id=row["visit_id"], customer_id=row["customer_id"], booking_id=row["booking_id"],
        location_id=row["location_id"], host_staff_id=row["host_staff_id"],
        checked_in_at=row["checked_in_at"], completed_at=row["completed_at"])


async def _load_visit(session: AsyncSession, visit_id: UUID, *, lock: bool = False) -> dict:
    query = sa.select(visits).where(visits.c.visit_id == visit_id)
    if lock:
        query = query.with_for_update()
    row = _plain((await session.execute(query)).first())
    if row is None:
        raise NotFound(f"visit {visit_id} was never checked in", visit_id=str(visit_id))
    return row


async def check_in_booking(session: AsyncSession, *, booking_id: UUID, location_id: UUID,
                           host_staff_id: UUID, by: UUID, now: datetime,
                           opens_before: timedelta) -> dict:
    """Receive a booked customer (R1 §3.2): the booking must be expected — known, not
    cancelled, within its check-in window — and not checked in yet."""
    # The lock on the arrival serialises two desks checking in the same booking.
    arrival = await load_arrival(session, booking_id, lock=True)
    arrival_rules.ensure_can_check_in(arrival, booking_id, now, opens_before)
    earlier = await session.scalar(sa.select(visits.c.visit_id)
                                   .where(visits.c.booking_id == booking_id))
    if earlier is not None:
        raise AlreadyCheckedIn(f"booking {booking_id} was already checked in (visit {earlier})",
                               visit_id=str(earlier))
    return await _check_in(session, customer_id=arrival.customer_id, booking_id=booking_id,
                           party_size=arrival.party_size or 1, location_id=location_id,
                           host_staff_id=host_staff_id, by=by, now=now)


async def check_in_walk_in(session: AsyncSession, *, customer_id: UUID, party_size: int,
                           location_id: UUID, host_staff_id: UUID, by: UUID,
                           now: datetime) -> dict:
    """Receive a customer who comes without a booking (R1 §3.2, R2 §1.2)."""
    return await _check_in(session, customer_id=customer_id, booking_id=None,
                           party_size=party_size, location_id=location_id,
                           host_staff_id=host_staff_id, by=by, now=now)


async def _check_in(session: AsyncSession, *, customer_id: UUID, booking_id: UUID | None,
                    party_size: int, location_id: UUID, host_staff_id: UUID, by: UUID,
                    now: datetime) -> dict:
    await _guide_to(session, location_id, party_size)
    await _ensure_on_duty(session, host_staff_id, now, "host the visit")
    on_floor = await session.scalar(sa.select(visits.c.visit_id).where(
        visits.c.customer_id == customer_id, visits.c.completed_at.is_(None)))
    if on_floor is not None:
        raise AlreadyCheckedIn(f"customer {customer_id} is already checked in (visit "
                               f"{on_floor}); complete that visit first",
                               visit_id=str(on_floor))
    visit = {"visit_id": uuid4(), "booking_id": booking_id, "customer_id": customer_id,
             "walk_in": booking_id is None, "party_size": party_size,
             "location_id": location_id, "host_staff_id": host_staff_id,
             "checked_in_at": now, "checked_in_by": by}
    await _write_once(session, sa.insert(visits).values(**visit), lambda: AlreadyCheckedIn(
        f"customer {customer_id} or booking {booking_id} was checked in at the same moment "
        "by another desk"))
    await publish(session, VisitCheckedIn(
        visit_id=visit["visit_id"], booking_id=booking_id, customer_id=customer_id,
        location_id=location_id, host_staff_id=host_staff_id, walk_in=booking_id is None,
        checked_in_at=now))
    return await visit_view(session, visit["visit_id"], with_notes=True)


async def guide(session: AsyncSession, visit_id: UUID, *, location_id: UUID | None,
                host_staff_id: UUID | None, now: datetime) -> dict:
    """Guide a guest on to another place or hand them to another host (R1 §3.2). The
    catalogue has no event for this: `visit.completed` reports the final place and host."""
    visit = await _load_visit(session, visit_id, lock=True)
    visit_rules.ensure_in_progress(_visit_from(visit), "guide the guest")
    changes: dict[str, Any] = {}
    if location_id is not None and location_id != visit["location_id"]:
        await _guide_to(session, location_id, visit["party_size"], leaving=visit_id)
        changes["location_id"] = location_id
    if host_staff_id is not None and host_staff_id != visit["host_staff_id"]:
        await _ensure_on_duty(session, host_staff_id, now, "host the visit")
        changes["host_staff_id"] = host_staff_id
    if changes:
        await session.execute(sa.update(visits).where(visits.c.visit_id == visit_id)
                              .values(**changes))
    return await visit_view(session, visit_id, with_notes=True)


async def record_service(session: AsyncSession, visit_id: UUID, *, service_code: str,
                         staff_id: UUID, started_at: datetime, ended_at: datetime,
                         notes: str | None, by: UUID, now: datetime) -> dict:
    """Record a service delivered in the visit, with its time, content and staff member
    (R1 §3.3–3.4). The notes stay here; the event carries none."""
    visit = await _load_visit(session, visit_id, lock=True)
    rules_visit = _visit_from(visit)
    visit_rules.ensure_in_progress(rules_visit, "record another service")
    visit_rules.ensure_service_times(rules_visit, started_at, ended_at, now)
    # They must have been on duty when they gave the service.
    await _ensure_on_duty(session, staff_id, started_at, "deliver a service")
    record = {"record_id": uuid4(), "visit_id": visit_id, "service_code": service_code,
              "staff_id": staff_id, "started_at": started_at, "ended_at": ended_at,
              "notes": notes, "notes_erased_at": None, "recorded_by": by, "recorded_at": now}
    await session.execute(sa.insert(service_records).values(**record))
    await publish(session, VisitServiceRecorded(
        visit_id=visit_id, record_id=record["record_id"], service_code=service_code,
        staff_id=staff_id, started_at=started_at, ended_at=ended_at))
    return record


async def complete_visit(session: AsyncSession, visit_id: UUID, *, by: UUID,
                         now: datetime) -> dict:
    """Complete the visit (the check-out) and report every service and every staff member in
    `visit.completed`. Completing again changes nothing and publishes nothing."""
    visit = await _load_visit(session, visit_id, lock=True)
    if visit["completed_at"] is None:
        records = await session.execute(sa.select(service_records)
                                        .where(service_records.c.visit_id == visit_id))
        staff_ids, services = visit_rules.completion(_visit_from(visit), [
            visit_rules.ServiceDone(r.service_code, r.staff_id, r.started_at, r.ended_at)
            for r in records])
        await session.execute(sa.update(visits).where(visits.c.visit_id == visit_id)
                              .values(completed_at=now, completed_by=by))
        await publish(session, VisitCompleted(
            visit_id=visit_id, booking_id=visit["booking_id"],
            customer_id=visit["customer_id"], location_id=visit["location_id"],
            host_staff_id=visit["host_staff_id"], staff_ids=staff_ids,
            services=[ServiceDelivered(service_code=s.service_code, staff_id=s.staff_id,
                                       started_at=s.started_at, ended_at=s.ended_at)
                      for s in services],
            checked_in_at=visit["checked_in_at"], completed_at=now))
    return await visit_view(session, visit_id, with_notes=True)


def _record_view(row: sa.Row, with_notes: bool) -> dict:
    record = dict(row._mapping)
    record.pop("visit_id")
    if not with_notes:
        record.pop("notes")
        record.pop("notes_erased_at")
    return record


async def _visit_views(session: AsyncSession, rows: Sequence[dict], *,
                       with_notes: bool) -> list[dict]:
    ids = [r["visit_id"] for r in rows]
    records: dict[UUID, list[dict]] = defaultdict(list)
    if ids:
        for record in await session.execute(
            sa.select(service_records).where(service_records.c.visit_id.in_(ids))
            .order_by(service_records.c.started_at, service_records.c.recorded_at)
        ):
            records[record.visit_id].append(_record_view(record, with_notes))
    names = await _location_names(session, {r["location_id"] for r in rows})
    views = []
    for row in rows:
        services = records[row["visit_id"]]
        staff_ids, _ = visit_rules.completion(_visit_from(row), [
            visit_rules.ServiceDone(s["service_code"], s["staff_id"], s["started_at"],
                                    s["ended_at"]) for s in services])
        views.append({**row, "location_name": names.get(row["location_id"]),
                      "status": "in_progress" if row["completed_at"] is None else "completed",
                      "services": services, "staff_ids": staff_ids})
    return views


async def _location_names(session: AsyncSession, ids: Iterable[UUID]) -> dict[UUID, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = await session.execute(sa.select(locations.c.location_id, locations.c.name)
                                 .where(locations.c.location_id.in_(ids)))
    return {r.location_id: r.name for r in rows}


async def visit_view(session: AsyncSession, visit_id: UUID, *, with_notes: bool,
                     customer_id: UUID | None = None) -> dict:
    """One visit with its services. Given `customer_id` (a member asking), another
    customer's visit is not found (docs/authorization.md: members see only their own things)."""
    visit = await _load_visit(session, visit_id)
    if customer_id is not None and visit["customer_id"] != customer_id:
        raise NotFound(f"visit {visit_id} was never checked in", visit_id=str(visit_id))
    return (await _visit_views(session, [visit], with_notes=with_notes))[0]


async def list_visits(session: AsyncSession, *, start: datetime, end: datetime,
                      status: str | None = None, customer_id: UUID | None = None,
                      location_id: UUID | None = None, with_notes: bool) -> list[dict]:
    query = sa.select(visits).where(visits.c.checked_in_at >= start,
                                    visits.c.checked_in_at < end)
    if status == "in_progress":
        query = query.where(visits.c.completed_at.is_(None))
    elif status == "completed":
        query = query.where(visits.c.completed_at.isnot(None))
    if customer_id is not None:
        query = query.where(visits.c.customer_id == customer_id)
    if location_id is not None:
        query = query.where(visits.c.location_id == location_id)
    rows = [_plain(r) for r in await session.execute(
        query.order_by(visits.c.checked_in_at, visits.c.visit_id))]
    return await _visit_views(session, rows, with_notes=with_notes)


# ================================================================ incidents (R2 §6.4, §7.2)


def _incident_from(row: dict) -> incident_rules.Incident:
    return incident_rules.Incident(row["incident_id"], row["root_cause"], row["closed_at"])


async def _load_incident(session: AsyncSession, incident_id: UUID, *,
                         lock: bool = False) -> dict:
    query = sa.select(incidents).where(incidents.c.incident_id == incident_id)
    if lock:
        query = query.with_for_update()
    row = _plain((await session.execute(query)).first())
    if row is None:
        raise NotFound(f"there is no incident {incident_id}")
    return row


async def report_incident(session: AsyncSession, *, category: str, severity: str,
                          location_id: UUID, visit_id: UUID | None, description: str,
                          occurred_at: datetime | None, by: UUID, now: datetime) -> dict:
    """Report anything abnormal at once (R2 §7.2); a facility report is an incident of
    category `facility` (R2 §6.4). The description stays here; the event carries none."""
    occurred_at = occurred_at or now
    incident_rules.ensure_occurred(occurred_at, now)
    if await session.scalar(sa.select(locations.c.location_id)
                            .where(locations.c.location_id == location_id)) is None:
        raise UnknownLocation(f"there is no location {location_id}",
                              location_id=str(location_id))
    if visit_id is not None and await session.scalar(
            sa.select(visits.c.visit_id).where(visits.c.visit_id == visit_id)) is None:
        raise Invalid(f"visit {visit_id} was never checked in", visit_id=str(visit_id))
    incident = {"incident_id": uuid4(), "category": category, "severity": severity,
                "location_id": location_id, "visit_id": visit_id, "description": description,
                "reported_by": by, "occurred_at": occurred_at, "reported_at": now}
    await session.execute(sa.insert(incidents).values(**incident))
    await publish(session, IncidentReported(
        incident_id=incident["incident_id"], category=category, severity=severity,
        location_id=location_id, reported_by=by, visit_id=visit_id, occurred_at=occurred_at,
        reported_at=now))
    return await incident_view(session, incident["incident_id"])


async def add_incident_action(session: AsyncSession, incident_id: UUID, *, description: str,
                              assigned_to: UUID | None, due_at: datetime | None, by: UUID,
                              now: datetime) -> dict:
    """A follow-up action: who does what by when to deal with it (R2 §7.2)."""
    incident = await _load_incident(session, incident_id, lock=True)
    incident_rules.ensure_open(_incident_from(incident), "add follow-up actions")
    if assigned_to is not None:
        await _ensure_on_duty(session, assigned_to, now, "follow up an incident")
    if due_at is not None and due_at <= now:
        raise Invalid(f"a follow-up action cannot be due in the past ({due_at.isoformat()})")
    action = {"action_id": uuid4(), "incident_id": incident_id, "description": description,
              "assigned_to": assigned_to, "due_at": due_at, "recorded_by": by,
              "recorded_at": now, "done_at": None, "done_by": None, "outcome": None}
    await session.execute(sa.insert(incident_actions).values(**action))
    return action


async def finish_incident_action(session: AsyncSession, incident_id: UUID, action_id: UUID, *,
                                 outcome: str | None, by: UUID, now: datetime) -> dict:
    incident = await _load_incident(session, incident_id, lock=True)
    action = _plain((await session.execute(sa.select(incident_actions).where(
        incident_actions.c.action_id == action_id,
        incident_actions.c.incident_id == incident_id))).first())
    if action is None:
        raise NotFound(f"incident {incident_id} has no follow-up action {action_id}")
    if action["done_at"] is not None:
        return action  # done already: saying so again changes nothing
    incident_rules.ensure_open(_incident_from(incident), "change its actions")
    done = {"done_at": now, "done_by": by, "outcome": outcome}
    await session.execute(sa.update(incident_actions)
                          .where(incident_actions.c.action_id == action_id).values(**done))
    return {**action, **done}


async def record_root_cause(session: AsyncSession, incident_id: UUID, *, root_cause: str,
                            by: UUID, now: datetime) -> dict:
    incident = await _load_incident(session, incident_id, lock=True)
    incident_rules.ensure_open(_incident_from(incident), "change its root cause")
    await session.execute(sa.update(incidents).where(incidents.c.incident_id == incident_id)
                          .values(root_cause=root_cause, root_cause_by=by, root_cause_at=now))
    return await incident_view(session, incident_id)


async def close_incident(session: AsyncSession, incident_id: UUID, *, resolution: str,
                         by: UUID, now: datetime) -> dict:
    incident = await _load_incident(session, incident_id, lock=True)
    open_actions = await session.scalar(sa.select(sa.func.count()).where(
        incident_actions.c.incident_id == incident_id, incident_actions.c.done_at.is_(None)))
    incident_rules.ensure_closable(_incident_from(incident), open_actions)
    await session.execute(sa.update(incidents).where(incidents.c.incident_id == incident_id)
                          .values(resolution=resolution, closed_by=by, closed_at=now))
    return await incident_view(session, incident_id)


async def _incident_views(session: AsyncSession, rows: Sequence[dict]) -> list[dict]:
    actions: dict[UUID, list[dict]] = defaultdict(list)
    ids = [r["incident_id"] for r in rows]
    if ids:
        for action in await session.execute(
            sa.select(incident_actions).where(incident_actions.c.incident_id.in_(ids))
            .order_by(incident_actions.c.recorded_at, incident_actions.c.action_id)
        ):
            actions[action.incident_id].append(dict(action._mapping))
    return [{**row, "status": "closed" if row["closed_at"] else "open",
             "actions": actions[row["incident_id"]]} for row in rows]


async def incident_view(session: AsyncSession, incident_id: UUID) -> dict:
    return (await _incident_views(session, [await _load_incident(session, incident_id)]))[0]


async def list_incidents(session: AsyncSession, *, start: datetime | None = None,
                         end: datetime | None = None, status: str | None = None,
                         location_id: UUID | None = None) -> list[dict]:
    query = sa.select(incidents)
    if start is not None:
        query = query.where(incidents.c.occurred_at >= start)
    if end is not None:
        query = query.where(incidents.c.occurred_at < end)
    if status == "open":
        query = query.where(incidents.c.closed_at.is_(None))
    elif status == "closed":
        query = query.where(incidents.c.closed_at.isnot(None))
    if location_id is not None:
        query = query.where(incidents.c.location_id == location_id)
    rows = [_plain(r) for r in await session.execute(
        query.order_by(incidents.c.occurred_at, incidents.c.incident_id))]
    return await _incident_views(session, rows)


# ================================================================ the floor and the day sheet


async def the_floor(session: AsyncSession, now: datetime) -> dict:
    """Who is checked in where, with which host, right now (R1 §3.2)."""
    in_progress = [_plain(r) for r in await session.execute(
        sa.select(visits).where(visits.c.completed_at.is_(None))
        .order_by(visits.c.checked_in_at, visits.c.visit_id))]
    counts = dict((await session.execute(
        sa.select(service_records.c.visit_id, sa.func.count())
        .where(service_records.c.visit_id.in_([v["visit_id"] for v in in_progress]))
        .group_by(service_records.c.visit_id))).all()) if in_progress else {}
    hosts = await _staff_names(session, [v["host_staff_id"] for v in in_progress])
    places = [_plain(r) for r in await session.execute(
        sa.select(locations).where(sa.or_(
            locations.c.active,
            locations.c.location_id.in_([v["location_id"] for v in in_progress]),
        )).order_by(locations.c.name))]
    by_place: dict[UUID, list[dict]] = defaultdict(list)
    for visit in in_progress:
        by_place[visit["location_id"]].append({
            "visit_id": visit["visit_id"], "customer_id": visit["customer_id"],
            "booking_id": visit["booking_id"], "walk_in": visit["walk_in"],
            "party_size": visit["party_size"], "host_staff_id": visit["host_staff_id"],
            "host_name": hosts.get(visit["host_staff_id"]),
            "checked_in_at": visit["checked_in_at"],
            "services_recorded": counts.get(visit["visit_id"], 0),
        })
    return {
        "at": now,
        "guests": sum(v["party_size"] for v in in_progress),
        "visits": len(in_progress),
        "locations": [{
            "location_id": p["location_id"], "name": p["name"], "kind": p["kind"],
            "capacity": p["capacity"], "active": p["active"],
            "guests": sum(v["party_size"] for v in by_place[p["location_id"]]),
            "visits": by_place[p["location_id"]],
        } for p in places],
    }


async def day_sheet(session: AsyncSession, day: date, start: datetime,
                    end: datetime, zone_name: str) -> dict:
    """The day at the desk: who is expected, who came, what happened (R1 §3.2–3.4,
    R2 §7.2)."""
    arrivals = await list_arrivals(session, start, end, include_cancelled=True)
    expected = [a for a in arrivals if a["status"] != "cancelled"]
    day_visits = await list_visits(session, start=start, end=end, with_notes=False)
    day_incidents = await list_incidents(session, start=start, end=end)
    return {
        "date": day,
        "timezone": zone_name,
        "starts_at": start,
        "ends_at": end,
        "totals": {
            "expected": len(expected),
            "not_arrived": sum(a["status"] == "expected" for a in expected),
            "cancelled": len(arrivals) - len(expected),
            "visits": len(day_visits),
            "walk_ins": sum(v["walk_in"] for v in day_visits),
            "in_progress": sum(v["status"] == "in_progress" for v in day_visits),
            "completed": sum(v["status"] == "completed" for v in day_visits),
            "services": sum(len(v["services"]) for v in day_visits),
            "incidents": len(day_incidents),
            "open_incidents": sum(i["status"] == "open" for i in day_incidents),
        },
        "arrivals": expected,
        "visits": day_visits,
        "incidents": [{k: i[k] for k in ("incident_id", "category", "severity",
                                         "location_id", "visit_id", "occurred_at",
                                         "reported_by", "status")} for i in day_incidents],
    }


# ================================================================ customer erasure (R1 §6)


async def erase_customer_notes(session: AsyncSession, customer_id: UUID,
                               erased_at: datetime) -> int:
    """CRM erased the customer: the free-text notes on their service records may describe
    them, so they go too. The records themselves (what, when, by whom) stay: they name the
    customer only by an id that now leads nowhere."""
    result = await session.execute(
        sa.update(service_records)
        .where(service_records.c.visit_id.in_(
            sa.select(visits.c.visit_id).where(visits.c.customer_id == customer_id)),
            service_records.c.notes.isnot(None))
        .values(notes=None, notes_erased_at=erased_at))
    return result.rowcount


# ================================================================ plans and tasks (R1 §2.2, §8.1)


async def _ensure_place(session: AsyncSession, location_id: UUID | None) -> None:
    if location_id is not None and await session.scalar(
            sa.select(locations.c.location_id)
            .where(locations.c.location_id == location_id)) is None:
        raise UnknownLocation(f"there is no location {location_id}",
                              location_id=str(location_id))


def _routine_view(row: dict) -> dict:
    return {**row, "weekdays": task_rules.weekday_names(row["weekdays"])}


async def create_routine(session: AsyncSession, *, code: str, title: str, time_of_day: time,
                         weekdays: list[str], owner_id: UUID, location_id: UUID | None,
                         checklist: list[str], by: UUID, now: datetime) -> dict:
    """A recurring duty (opening, closing, the daily briefing) owned by an active staff
    member (R1 §2.2)."""
    await _ensure_on_duty(session, owner_id, now, "own a routine")
    await _ensure_place(session, location_id)
    row = {"code": code, "title": title, "time_of_day": time_of_day,
           "weekdays": task_rules.iso_weekdays(weekdays), "owner_id": owner_id,
           "location_id": location_id, "checklist": checklist, "created_by": by,
           "created_at": now}
    if await session.scalar(sa.select(routines.c.code).where(routines.c.code == code)):
        raise Conflict(f"a routine {code!r} already exists", routine=code)
    await _write_once(session, sa.insert(routines).values(**row),
                      lambda: Conflict(f"a routine {code!r} already exists", routine=code))
    return _routine_view(row)


async def list_routines(session: AsyncSession) -> list[dict]:
    return [_routine_view(_plain(r)) for r in
            await session.execute(sa.select(routines).order_by(routines.c.code))]


async def _assign(session: AsyncSession, task: dict) -> None:
    await session.execute(sa.insert(tasks).values(**task))
    await publish(session, TaskAssigned(
        task_id=task["task_id"], plan_id=task["plan_id"], owner_id=task["owner_id"],
        location_id=task["location_id"], routine=task["routine"], due_at=task["due_at"],
        assigned_by=task["assigned_by"], assigned_at=task["assigned_at"]))


async def create_plan(session: AsyncSession, *, title: str, period_start: date,
                      period_end: date, routine_codes: list[str], zone: tzinfo, by: UUID,
                      now: datetime) -> dict:
    """Plan a day or a week (R1 §8.1): the plan, and one task per day of each routine named
    that falls in the period. An occurrence another plan already made is left where it is, so
    planning the same days again creates no duplicates."""
    task_rules.ensure_period(period_start, period_end)
    codes = list(dict.fromkeys(routine_codes))
    found = {r["code"]: r for r in (_plain(x) for x in await session.execute(
        sa.select(routines).where(routines.c.code.in_(codes))))} if codes else {}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise Invalid(f"no routine {', '.join(unknown)}", routines=unknown)
    plan = {"plan_id": uuid4(), "title": title, "period_start": period_start,
            "period_end": period_end, "created_by": by, "created_at": now}
    await session.execute(sa.insert(plans).values(**plan))
    for code in codes:
        routine = found[code]
        await _ensure_on_duty(session, routine["owner_id"], now,
                              f"own the routine {code}")
        for occurrence in task_rules.occurrences(routine["time_of_day"], routine["weekdays"],
                                                 period_start, period_end, zone):
            task = {"task_id": uuid4(), "plan_id": plan["plan_id"], "routine": code,
                    "occurs_on": occurrence.day, "title": routine["title"],
                    "owner_id": routine["owner_id"], "location_id": routine["location_id"],
                    "due_at": occurrence.due_at, "checklist": routine["checklist"],
                    "assigned_by": by, "assigned_at": now}
            # The unique (routine, day) index decides between two plans made at once.
            claimed = await session.scalar(
                pg_insert(tasks).values(**task)
                .on_conflict_do_nothing(index_elements=[tasks.c.routine, tasks.c.occurs_on],
                                        index_where=tasks.c.routine.isnot(None))
                .returning(tasks.c.task_id))
            if claimed is not None:
                await publish(session, TaskAssigned(
                    task_id=task["task_id"], plan_id=plan["plan_id"],
                    owner_id=task["owner_id"], location_id=task["location_id"],
                    routine=code, due_at=task["due_at"], assigned_by=by, assigned_at=now))
    return await plan_view(session, plan["plan_id"])


async def add_task(session: AsyncSession, plan_id: UUID, *, title: str, owner_id: UUID,
                   location_id: UUID | None, due_at: datetime, checklist: list[str],
                   zone: tzinfo, by: UUID, now: datetime) -> dict:
    """A one-off task in a plan: due within the plan's period, owned by active staff."""
    plan = _plain((await session.execute(
        sa.select(plans).where(plans.c.plan_id == plan_id).with_for_update())).first())
    if plan is None:
        raise NotFound(f"there is no plan {plan_id}")
    if not task_rules.within_period(due_at, plan["period_start"], plan["period_end"], zone):
        raise Invalid(f"the task is due {due_at.isoformat()}, outside the plan's period "
                      f"{plan['period_start']} to {plan['period_end']}")
    if due_at <= now:
        raise Invalid(f"a task cannot be due in the past ({due_at.isoformat()})")
    await _ensure_on_duty(session, owner_id, now, "own a task")
    await _ensure_place(session, location_id)
    task = {"task_id": uuid4(), "plan_id": plan_id, "routine": None, "occurs_on": None,
            "title": title, "owner_id": owner_id, "location_id": location_id,
            "due_at": due_at, "checklist": checklist, "assigned_by": by, "assigned_at": now}
    await _assign(session, task)
    return await task_view(session, task["task_id"])


def _task_view(row: dict) -> dict:
    done = row["completed_at"]
    return {**row, "state": task_rules.state(done, row["overdue_at"]),
            "on_time": None if done is None else task_rules.on_time(done, row["due_at"])}


async def _load_task(session: AsyncSession, task_id: UUID, *, lock: bool = False) -> dict:
    query = sa.select(tasks).where(tasks.c.task_id == task_id)
    if lock:
        query = query.with_for_update()
    row = _plain((await session.execute(query)).first())
    if row is None:
        raise NotFound(f"there is no task {task_id}")
    return row


async def task_view(session: AsyncSession, task_id: UUID, *,
                    for_owner: UUID | None = None) -> dict:
    """One task; given `for_owner` (a staff member who is not a supervisor), only their own."""
    task = await _load_task(session, task_id)
    if for_owner is not None and task["owner_id"] != for_owner:
        raise NotYourTask(f"task {task_id} is not yours", task_id=str(task_id))
    return _task_view(task)


async def list_tasks(session: AsyncSession, *, owner_id: UUID | None = None,
                     plan_id: UUID | None = None, state: str | None = None,
                     start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    query = sa.select(tasks)
    if owner_id is not None:
        query = query.where(tasks.c.owner_id == owner_id)
    if plan_id is not None:
        query = query.where(tasks.c.plan_id == plan_id)
    if start is not None:
        query = query.where(tasks.c.due_at >= start, tasks.c.due_at < end)
    if state == "done":
        query = query.where(tasks.c.completed_at.isnot(None))
    elif state == "overdue":
        query = query.where(tasks.c.completed_at.is_(None), tasks.c.overdue_at.isnot(None))
    elif state == "open":
        query = query.where(tasks.c.completed_at.is_(None), tasks.c.overdue_at.is_(None))
    return [_task_view(_plain(r)) for r in await session.execute(
        query.order_by(tasks.c.due_at, tasks.c.task_id))]


async def complete_task(session: AsyncSession, task_id: UUID, *, ticked: list[str],
                        note: str | None, by: UUID, supervisor: bool,
                        now: datetime) -> dict:
    """The owner (or a supervisor) completes a task with its evidence: every checklist item
    ticked and a note, kept here. A repeat returns the task as it was and publishes nothing."""
    task = await _load_task(session, task_id, lock=True)
    if not supervisor and task["owner_id"] != by:
        raise NotYourTask(f"task {task_id} is not yours; only its owner or a supervisor "
                          "completes it", task_id=str(task_id))
    if task["completed_at"] is not None:
        return _task_view(task)
    unknown = task_rules.unknown_items(task["checklist"], ticked)
    if unknown:
        raise Invalid(f"not on the task's checklist: {', '.join(unknown)}", unknown=unknown)
    missing = task_rules.missing_items(task["checklist"], ticked)
    if missing:
        raise ChecklistIncomplete(f"not ticked yet: {', '.join(missing)}", missing=missing)
    done = {"completed_at": now, "completed_by": by, "ticked": list(dict.fromkeys(ticked)),
            "note": note}
    await session.execute(sa.update(tasks).where(tasks.c.task_id == task_id).values(**done))
    await publish(session, TaskCompleted(
        task_id=task_id, owner_id=task["owner_id"], completed_by=by, due_at=task["due_at"],
        completed_at=now, on_time=task_rules.on_time(now, task["due_at"])))
    return _task_view({**task, **done})


async def mark_overdue_tasks(session: AsyncSession, now: datetime) -> int:
    """The periodic follow-up (R2 §2.2): each task past due and not done becomes overdue once,
    and `task.overdue` tells who follows it up. SKIP LOCKED leaves a task being completed
    right now to that completion."""
    waiting = [_plain(r) for r in await session.execute(
        sa.select(tasks).where(tasks.c.completed_at.is_(None), tasks.c.overdue_at.is_(None),
                               tasks.c.due_at < now)
        .order_by(tasks.c.due_at).limit(500).with_for_update(skip_locked=True))]
    if not waiting:
        return 0
    facts = await _standing_facts(session, {t["owner_id"] for t in waiting})
    for task in waiting:
        role = standing_at(facts.get(task["owner_id"], ()), now).role
        to = task_rules.escalates_to(role)
        await session.execute(sa.update(tasks).where(tasks.c.task_id == task["task_id"])
                              .values(overdue_at=now, escalated_to=to))
        await publish(session, TaskOverdue(
            task_id=task["task_id"], owner_id=task["owner_id"], due_at=task["due_at"],
            escalated_to_role=to, overdue_at=now))
    return len(waiting)


async def list_plans(session: AsyncSession, *, covering: date | None, limit: int) -> list[dict]:
    """The plans with their figures, in two queries: the plans, then the times of all their
    tasks (a summary shows no task, so none is built)."""
    query = sa.select(plans).order_by(plans.c.period_start.desc(),
                                      plans.c.created_at.desc()).limit(limit)
    if covering is not None:
        query = query.where(plans.c.period_start <= covering, plans.c.period_end >= covering)
    found = [_plain(r) for r in await session.execute(query)]
    timings: dict[UUID, list[tuple]] = {plan["plan_id"]: [] for plan in found}
    for row in await session.execute(
            sa.select(tasks.c.plan_id, tasks.c.due_at, tasks.c.completed_at, tasks.c.overdue_at)
            .where(tasks.c.plan_id.in_(list(timings)))):
        timings[row.plan_id].append((row.due_at, row.completed_at, row.overdue_at))
    return [_with_progress(plan, timings[plan["plan_id"]]) for plan in found]


async def plan_view(session: AsyncSession, plan_id: UUID) -> dict:
    plan = _plain((await session.execute(
        sa.select(plans).where(plans.c.plan_id == plan_id))).first())
    if plan is None:
        raise NotFound(f"there is no plan {plan_id}")
    planned = await list_tasks(session, plan_id=plan_id)
    return {**_with_progress(plan, [(t["due_at"], t["completed_at"], t["overdue_at"])
                                    for t in planned]), "tasks": planned}


def _with_progress(plan: dict, timings: list[tuple]) -> dict:
    """A plan with its counts and completion share, from its tasks' (due, completed, overdue)
    times."""
    counts = task_rules.progress(timings)
    return {**plan, "counts": {"total": counts.total, "done_on_time": counts.done_on_time,
                               "done_late": counts.done_late, "overdue": counts.overdue,
                               "open": counts.open},
            "completion_share": counts.completion_share}
