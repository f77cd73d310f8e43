"""The reception service's HTTP API: parse, authorise (docs/authorization.md), call a use
case in one transaction, answer.

Who may do what:
- the front desk (head, deputy, attendant) checks guests in, guides them, records services
  and completes visits (R1 §2.3, §3.2–3.4; R2 §2.3);
- the head and deputy manage locations and conclude incidents (R1 §2.2, R2 §2.2);
- any staff member reports an incident (R2 §7.2) and reads the floor and the day sheet;
- a member reads only their own visits, without the internal notes;
- the head and deputy plan work and see every task; each staff member sees and completes
  their own (R1 §2.2, §8.1; R2 §2.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from club_contracts.catalogue import ServiceCode
from club_platform.auth import STAFF_ROLES, SUPERVISORS, Principal, Role, require_roles
from club_platform.errors import Invalid
from club_platform.idempotency import claim, remember
from club_platform.inputs import Day, Moment
from club_platform.runtime import ServiceRuntime
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from club_reception import services
from club_reception.domain.days import day_bounds, today
from club_reception.domain.errors import NotYourTask
from club_reception.settings import ReceptionSettings

FRONT_DESK = (Role.HEAD, Role.DEPUTY, Role.ATTENDANT)

Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
FrontDesk = Annotated[Principal, Depends(require_roles(*FRONT_DESK))]
Supervisor = Annotated[Principal, Depends(require_roles(*SUPERVISORS))]
StaffOrMember = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, Role.MEMBER))]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="Repeat a creating request safely: the same key returns the first answer.")]

LocationKind = Literal["room", "area", "court", "table", "lounge", "desk", "other"]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


def _runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


Runtime = Annotated[ServiceRuntime, Depends(_runtime)]


def _settings(runtime: ServiceRuntime) -> ReceptionSettings:
    return runtime.settings  # type: ignore[return-value]


def _day(runtime: ServiceRuntime, day: dt.date | None) -> dt.date:
    """The asked day, or the club's today."""
    return day or today(runtime.clock.now(), _settings(runtime).zone)


def _bounds(runtime: ServiceRuntime, day: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    return day_bounds(_day(runtime, day), _settings(runtime).zone)


async def _create(runtime: ServiceRuntime, *, key: str | None, principal: Principal,
                  scope: str, payload: Any,
                  work: Callable[[AsyncSession], Awaitable[dict]]) -> Any:
    """Run a creating use case once per Idempotency-Key (docs/authorization.md)."""
    async with runtime.database.transaction() as session:
        stored = await claim(session, key=key, principal=principal, scope=scope,
                             payload=payload)
        if stored is not None:
            return stored.body
        body = jsonable_encoder(await work(session))
        await remember(session, key=key, principal=principal, scope=scope, status_code=201,
                       body=body)
    return body


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ================================================================ locations

locations_api = APIRouter(prefix="/locations", tags=["locations"])


class NewLocation(_In):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    kind: LocationKind = "room"
    capacity: int | None = Field(default=None, ge=1, le=10_000,
                                 description="Guests it holds at once; none means no limit.")


class LocationChange(_In):
    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    kind: LocationKind | None = None
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    active: bool | None = Field(default=None, description="false closes it to new guests.")


class Location(_Out):
    location_id: UUID
    name: str
    kind: str
    capacity: int | None
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


@locations_api.post("", status_code=201, response_model=Location,
                    summary="Add a room or area guests can be guided to (R1 §3.2)")
async def create_location(body: NewLocation, runtime: Runtime, principal: Supervisor,
                          key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope="create_location",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.create_location(
            session, name=body.name, kind=body.kind, capacity=body.capacity,
            now=runtime.clock.now()))


@locations_api.get("", response_model=list[Location], summary="The locations")
async def list_locations(runtime: Runtime, _: Staff, include_closed: bool = False) -> Any:
    async with runtime.database.transaction() as session:
        return await services.list_locations(session, include_closed=include_closed)


@locations_api.get("/{location_id}", response_model=Location, summary="One location")
async def get_location(location_id: UUID, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.get_location(session, location_id)


@locations_api.patch("/{location_id}", response_model=Location,
                     summary="Rename, resize, close or reopen a location")
async def change_location(location_id: UUID, body: LocationChange, runtime: Runtime,
                          _: Supervisor) -> Any:
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "kind", "active"):
        if field in changes and changes[field] is None:
            raise Invalid(f"{field} cannot be empty")
    async with runtime.database.transaction() as session:
        return await services.change_location(session, location_id, changes,
                                               runtime.clock.now())


# ================================================================ staff directory

staff_api = APIRouter(prefix="/staff", tags=["staff directory"])


class StaffMember(_Out):
    staff_id: UUID
    display_name: str | None
    department: str | None
    hired_at: dt.datetime | None
    role: str | None
    status: Literal["active", "suspended", "offboarded", "unknown", "not_started"]
    since: dt.datetime | None


@staff_api.get("", response_model=list[StaffMember],
               summary="Reception's copy of the staff directory, with each one's standing now")
async def list_staff(runtime: Runtime, _: Staff,
                     status: Literal["active", "suspended", "offboarded",
                                     "not_started"] | None = None) -> Any:
    async with runtime.database.transaction() as session:
        return await services.list_staff(session, runtime.clock.now(), status=status)


@staff_api.get("/{staff_id}", response_model=StaffMember, summary="One staff member")
async def get_staff_member(staff_id: UUID, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.get_staff_member(session, staff_id, runtime.clock.now())


# ================================================================ expected arrivals

arrivals_api = APIRouter(prefix="/arrivals", tags=["expected arrivals"])


class Arrival(_Out):
    booking_id: UUID
    customer_id: UUID
    service_code: str | None
    channel: str | None
    party_size: int | None
    staff_id: UUID | None
    booked_at: dt.datetime | None
    resource_id: UUID | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancelled_late: bool | None
    customer_disputed: bool = Field(description="The booking's events named different "
                                                "customers; it is not checked in.")
    status: Literal["expected", "checked_in", "completed", "cancelled"]
    visit_id: UUID | None


@arrivals_api.get("", response_model=list[Arrival],
                  summary="Bookings expected on a day (the club's today by default)")
async def list_arrivals(runtime: Runtime, _: Staff, date: Day | None = None,
                        include_cancelled: bool = False) -> Any:
    start, end = _bounds(runtime, date)
    async with runtime.database.transaction() as session:
        return await services.list_arrivals(session, start, end,
                                            include_cancelled=include_cancelled)


@arrivals_api.get("/{booking_id}", response_model=Arrival, summary="One booking as reception "
                  "knows it")
async def get_arrival(booking_id: UUID, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.get_arrival(session, booking_id)


# ================================================================ visits

visits_api = APIRouter(prefix="/visits", tags=["visits"])


class BookedCheckIn(_In):
    booking_id: UUID
    location_id: UUID = Field(description="Where the guest is guided (R1 §3.2).")
    host_staff_id: UUID = Field(description="Who receives and looks after the guest.")


class WalkIn(_In):
    customer_id: UUID = Field(description="The customer, as CRM knows them.")
    party_size: int = Field(default=1, ge=1, le=1000)
    location_id: UUID
    host_staff_id: UUID


class Guiding(_In):
    location_id: UUID | None = None
    host_staff_id: UUID | None = None

    @model_validator(mode="after")
    def _something(self) -> Guiding:
        if self.location_id is None and self.host_staff_id is None:
            raise ValueError("give a location_id, a host_staff_id or both")
        return self


class NewServiceRecord(_In):
    service_code: ServiceCode
    staff_id: UUID = Field(description="Who gave the service.")
    started_at: Moment
    ended_at: Moment
    notes: Text | None = Field(default=None, description="Internal; never leaves reception.")


class ServiceRecord(_Out):
    record_id: UUID
    service_code: str
    staff_id: UUID
    started_at: dt.datetime
    ended_at: dt.datetime
    notes: str | None = None
    notes_erased_at: dt.datetime | None = None
    recorded_by: UUID
    recorded_at: dt.datetime


class Visit(_Out):
    visit_id: UUID
    booking_id: UUID | None
    customer_id: UUID
    walk_in: bool
    party_size: int
    location_id: UUID
    location_name: str | None
    host_staff_id: UUID
    checked_in_at: dt.datetime
    checked_in_by: UUID
    completed_at: dt.datetime | None
    completed_by: UUID | None
    status: Literal["in_progress", "completed"]
    services: list[ServiceRecord]
    staff_ids: list[UUID] = Field(description="The host, then everyone who gave a service.")


class MemberServiceRecord(_Out):
    record_id: UUID
    service_code: str
    staff_id: UUID
    started_at: dt.datetime
    ended_at: dt.datetime


class MemberVisit(Visit):
    services: list[MemberServiceRecord]  # no internal notes for members


@visits_api.post("/check-in", status_code=201, response_model=Visit,
                 summary="Check in a booked customer and guide them to a place and a host "
                         "(R1 §3.2)")
async def check_in(body: BookedCheckIn, runtime: Runtime, principal: FrontDesk,
                   key: IdempotencyKey = None) -> Any:
    settings = _settings(runtime)
    return await _create(
        runtime, key=key, principal=principal, scope="check_in",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.check_in_booking(
            session, booking_id=body.booking_id, location_id=body.location_id,
            host_staff_id=body.host_staff_id, by=principal.id, now=runtime.clock.now(),
            opens_before=settings.check_in_opens_before))


@visits_api.post("/walk-in", status_code=201, response_model=Visit,
                 summary="Check in a customer who came without a booking")
async def walk_in(body: WalkIn, runtime: Runtime, principal: FrontDesk,
                  key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope="walk_in",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.check_in_walk_in(
            session, customer_id=body.customer_id, party_size=body.party_size,
            location_id=body.location_id, host_staff_id=body.host_staff_id, by=principal.id,
            now=runtime.clock.now()))


@visits_api.post("/{visit_id}/guide", response_model=Visit,
                 summary="Guide the guest to another place, or hand them to another host")
async def guide(visit_id: UUID, body: Guiding, runtime: Runtime, _: FrontDesk) -> Any:
    async with runtime.database.transaction() as session:
        return await services.guide(session, visit_id, location_id=body.location_id,
                                    host_staff_id=body.host_staff_id, now=runtime.clock.now())


@visits_api.post("/{visit_id}/services", status_code=201, response_model=ServiceRecord,
                 summary="Record a service given in the visit (R1 §3.3–3.4)")
async def record_service(visit_id: UUID, body: NewServiceRecord, runtime: Runtime,
                         principal: FrontDesk, key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope=f"record_service:{visit_id}",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.record_service(
            session, visit_id, service_code=body.service_code, staff_id=body.staff_id,
            started_at=body.started_at, ended_at=body.ended_at, notes=body.notes,
            by=principal.id, now=runtime.clock.now()))


@visits_api.post("/{visit_id}/complete", response_model=Visit,
                 summary="Complete the visit (the check-out); completing again is harmless")
async def complete(visit_id: UUID, runtime: Runtime, principal: FrontDesk) -> Any:
    async with runtime.database.transaction() as session:
        return await services.complete_visit(session, visit_id, by=principal.id,
                                             now=runtime.clock.now())


@visits_api.get("", response_model=list[Visit] | list[MemberVisit],
                summary="Visits checked in on a day; a member sees only their own")
async def list_visits(runtime: Runtime, principal: StaffOrMember, date: Day | None = None,
                      status: Literal["in_progress", "completed"] | None = None,
                      customer_id: UUID | None = None,
                      location_id: UUID | None = None) -> Any:
    start, end = _bounds(runtime, date)
    if principal.is_member:
        customer_id = principal.id
    async with runtime.database.transaction() as session:
        found = await services.list_visits(
            session, start=start, end=end, status=status, customer_id=customer_id,
            location_id=location_id, with_notes=not principal.is_member)
    model = MemberVisit if principal.is_member else Visit
    return [model.model_validate(v) for v in found]


@visits_api.get("/{visit_id}", response_model=Visit | MemberVisit,
                summary="One visit with its services")
async def get_visit(visit_id: UUID, runtime: Runtime, principal: StaffOrMember) -> Any:
    async with runtime.database.transaction() as session:
        found = await services.visit_view(
            session, visit_id, with_notes=not principal.is_member,
            customer_id=principal.id if principal.is_member else None)
    return (MemberVisit if principal.is_member else Visit).model_validate(found)


# ================================================================ the floor and the day sheet

floor_api = APIRouter(tags=["the floor"])


class FloorVisit(_Out):
    visit_id: UUID
    customer_id: UUID
    booking_id: UUID | None
    walk_in: bool
    party_size: int
    host_staff_id: UUID
    host_name: str | None
    checked_in_at: dt.datetime
    services_recorded: int


class FloorLocation(_Out):
    location_id: UUID
    name: str
    kind: str
    capacity: int | None
    active: bool
    guests: int
    visits: list[FloorVisit]


class Floor(_Out):
    at: dt.datetime
    guests: int
    visits: int
    locations: list[FloorLocation]


class DayTotals(_Out):
    expected: int
    not_arrived: int
    cancelled: int
    visits: int
    walk_ins: int
    in_progress: int
    completed: int
    services: int
    incidents: int
    open_incidents: int


class DayIncident(_Out):
    incident_id: UUID
    category: str
    severity: str
    location_id: UUID
    visit_id: UUID | None
    occurred_at: dt.datetime
    reported_by: UUID
    status: Literal["open", "closed"]


class DaySheet(_Out):
    date: dt.date
    timezone: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    totals: DayTotals
    arrivals: list[Arrival]
    visits: list[MemberVisit]  # services without notes: the sheet is for the whole team
    incidents: list[DayIncident]


@floor_api.get("/floor", response_model=Floor,
               summary="The floor now: who is checked in where, with which host")
async def the_floor(runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.the_floor(session, runtime.clock.now())


@floor_api.get("/day-sheet", response_model=DaySheet,
               summary="The day sheet: arrivals, visits and incidents of a day")
async def day_sheet(runtime: Runtime, _: Staff, date: Day | None = None) -> Any:
    day = _day(runtime, date)
    start, end = _bounds(runtime, day)
    async with runtime.database.transaction() as session:
        return await services.day_sheet(session, day, start, end, _settings(runtime).zone_name)


# ================================================================ incidents (R2 §6.4, §7.2)

incidents_api = APIRouter(prefix="/incidents", tags=["incidents"])


class NewIncident(_In):
    category: Literal["safety", "facility", "security", "other"]
    severity: Literal["low", "medium", "high", "critical"]
    location_id: UUID
    visit_id: UUID | None = None
    description: Text = Field(description="What happened; stays in reception.")
    occurred_at: Moment | None = Field(default=None, description="Defaults to now.")


class NewAction(_In):
    description: Annotated[str, Field(min_length=1, max_length=2000)]
    assigned_to: UUID | None = Field(default=None, description="An active staff member.")
    due_at: Moment | None = None


class ActionDone(_In):
    outcome: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class RootCause(_In):
    root_cause: Text


class Closure(_In):
    resolution: Text


class IncidentAction(_Out):
    action_id: UUID
    description: str
    assigned_to: UUID | None
    due_at: dt.datetime | None
    recorded_by: UUID
    recorded_at: dt.datetime
    done_at: dt.datetime | None
    done_by: UUID | None
    outcome: str | None


class Incident(_Out):
    incident_id: UUID
    category: str
    severity: str
    location_id: UUID
    visit_id: UUID | None
    description: str
    reported_by: UUID
    occurred_at: dt.datetime
    reported_at: dt.datetime
    root_cause: str | None
    root_cause_by: UUID | None
    root_cause_at: dt.datetime | None
    resolution: str | None
    closed_by: UUID | None
    closed_at: dt.datetime | None
    status: Literal["open", "closed"]
    actions: list[IncidentAction]


@incidents_api.post("", status_code=201, response_model=Incident,
                    summary="Report an incident or a facility problem at once (R2 §7.2, §6.4)")
async def report_incident(body: NewIncident, runtime: Runtime, principal: Staff,
                          key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope="report_incident",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.report_incident(
            session, category=body.category, severity=body.severity,
            location_id=body.location_id, visit_id=body.visit_id,
            description=body.description, occurred_at=body.occurred_at, by=principal.id,
            now=runtime.clock.now()))


@incidents_api.get("", response_model=list[Incident], summary="Incidents")
async def list_incidents(runtime: Runtime, _: Staff, date: Day | None = None,
                         status: Literal["open", "closed"] | None = None,
                         location_id: UUID | None = None) -> Any:
    start = end = None
    if date is not None:
        start, end = _bounds(runtime, date)
    async with runtime.database.transaction() as session:
        return await services.list_incidents(session, start=start, end=end, status=status,
                                             location_id=location_id)


@incidents_api.get("/{incident_id}", response_model=Incident, summary="One incident")
async def get_incident(incident_id: UUID, runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.incident_view(session, incident_id)


@incidents_api.post("/{incident_id}/actions", status_code=201, response_model=IncidentAction,
                    summary="Add a follow-up action")
async def add_action(incident_id: UUID, body: NewAction, runtime: Runtime,
                     principal: FrontDesk, key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope=f"incident_action:{incident_id}",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.add_incident_action(
            session, incident_id, description=body.description, assigned_to=body.assigned_to,
            due_at=body.due_at, by=principal.id, now=runtime.clock.now()))


@incidents_api.post("/{incident_id}/actions/{action_id}/done", response_model=IncidentAction,
                    summary="Mark a follow-up action done")
async def finish_action(incident_id: UUID, action_id: UUID, runtime: Runtime,
                        principal: FrontDesk, body: ActionDone | None = None) -> Any:
    async with runtime.database.transaction() as session:
        return await services.finish_incident_action(
            session, incident_id, action_id, outcome=body.outcome if body else None,
            by=principal.id, now=runtime.clock.now())


@incidents_api.put("/{incident_id}/root-cause", response_model=Incident,
                   summary="Record (or correct) the root cause")
async def record_root_cause(incident_id: UUID, body: RootCause, runtime: Runtime,
                            principal: Supervisor) -> Any:
    async with runtime.database.transaction() as session:
        return await services.record_root_cause(session, incident_id,
                                                root_cause=body.root_cause, by=principal.id,
                                                now=runtime.clock.now())


@incidents_api.post("/{incident_id}/close", response_model=Incident,
                    summary="Close the incident: needs its root cause and every action done")
async def close_incident(incident_id: UUID, body: Closure, runtime: Runtime,
                         principal: Supervisor) -> Any:
    async with runtime.database.transaction() as session:
        return await services.close_incident(session, incident_id, resolution=body.resolution,
                                             by=principal.id, now=runtime.clock.now())


# ================================================================ plans and tasks (R1 §2.2, §8.1;
# R2 §2.2): the head or deputy plans; each staff member sees and completes their own tasks.

plans_api = APIRouter(tags=["plans and tasks"])

RoutineCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$",
                                   description="e.g. opening, closing, daily_briefing")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Title = Annotated[str, Field(min_length=1, max_length=200)]
ChecklistItem = Annotated[str, Field(min_length=1, max_length=200)]
Checklist = Annotated[list[ChecklistItem], Field(max_length=50)]
Note = Annotated[str, Field(min_length=1, max_length=2000)]


def _distinct(items: list[str], what: str) -> list[str]:
    if len(set(items)) != len(items):
        raise ValueError(f"the {what} lists an item twice")
    return items


class NewRoutine(_In):
    code: RoutineCode
    title: Title
    time_of_day: dt.time = Field(description="On the club's clock (its time zone), e.g. 09:00.")
    weekdays: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    owner_id: UUID = Field(description="An active staff member.")
    location_id: UUID | None = None
    checklist: Checklist = []

    @model_validator(mode="after")
    def _plain_time(self) -> NewRoutine:
        if self.time_of_day.tzinfo is not None:
            raise ValueError("time_of_day is on the club's clock: give it without an offset")
        _distinct(self.checklist, "checklist")
        return self


class Routine(_Out):
    code: str
    title: str
    time_of_day: dt.time
    weekdays: list[Weekday]
    owner_id: UUID
    location_id: UUID | None
    checklist: list[str]
    created_by: UUID
    created_at: dt.datetime


class NewPlan(_In):
    title: Title
    period_start: Day
    period_end: Day
    routines: Annotated[list[RoutineCode], Field(max_length=50)] = Field(
        default=[], description="Routines to plan: one task per applicable day of the period.")


class NewTask(_In):
    title: Title
    owner_id: UUID = Field(description="An active staff member.")
    location_id: UUID | None = None
    due_at: Moment
    checklist: Checklist = []

    @model_validator(mode="after")
    def _once_each(self) -> NewTask:
        _distinct(self.checklist, "checklist")
        return self


class Completion(_In):
    ticked: Annotated[list[ChecklistItem], Field(max_length=50)] = Field(
        default=[], description="Every item of the task's checklist.")
    note: Note | None = None


class Task(_Out):
    task_id: UUID
    plan_id: UUID
    routine: str | None
    occurs_on: dt.date | None
    title: str
    owner_id: UUID
    location_id: UUID | None
    due_at: dt.datetime
    checklist: list[str]
    assigned_by: UUID
    assigned_at: dt.datetime
    state: Literal["open", "overdue", "done"]
    completed_at: dt.datetime | None
    completed_by: UUID | None
    on_time: bool | None
    ticked: list[str] | None
    note: str | None
    overdue_at: dt.datetime | None
    escalated_to: Literal["deputy", "head"] | None


class PlanCounts(_Out):
    total: int
    done_on_time: int
    done_late: int
    overdue: int
    open: int


class PlanSummary(_Out):
    plan_id: UUID
    title: str
    period_start: dt.date
    period_end: dt.date
    created_by: UUID
    created_at: dt.datetime
    counts: PlanCounts
    completion_share: float = Field(description="Done (on time or late) over all tasks.")


class Plan(PlanSummary):
    tasks: list[Task]


def _is_supervisor(principal: Principal) -> bool:
    return principal.role in SUPERVISORS


@plans_api.post("/routines", status_code=201, response_model=Routine,
                summary="Add a routine that recurs on days of the week (R1 §2.2)")
async def create_routine(body: NewRoutine, runtime: Runtime, principal: Supervisor,
                         key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope="create_routine",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.create_routine(
            session, code=body.code, title=body.title, time_of_day=body.time_of_day,
            weekdays=body.weekdays, owner_id=body.owner_id, location_id=body.location_id,
            checklist=body.checklist, by=principal.id, now=runtime.clock.now()))


@plans_api.get("/routines", response_model=list[Routine], summary="The routines")
async def list_routines(runtime: Runtime, _: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.list_routines(session)


@plans_api.post("/plans", status_code=201, response_model=Plan,
                summary="Plan a day or a week, with the routines that recur in it (R1 §8.1)")
async def create_plan(body: NewPlan, runtime: Runtime, principal: Supervisor,
                      key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope="create_plan",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.create_plan(
            session, title=body.title, period_start=body.period_start,
            period_end=body.period_end, routine_codes=body.routines,
            zone=_settings(runtime).zone, by=principal.id, now=runtime.clock.now()))


@plans_api.get("/plans", response_model=list[PlanSummary],
               summary="The plans, newest period first, with their completion; `date` keeps "
                       "those covering that day")
async def list_plans(runtime: Runtime, _: Supervisor, date: Day | None = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Any:
    async with runtime.database.transaction() as session:
        return await services.list_plans(session, covering=date, limit=limit)


@plans_api.get("/plans/{plan_id}", response_model=Plan,
               summary="A plan with its tasks, their counts and its completion share")
async def get_plan(plan_id: UUID, runtime: Runtime, _: Supervisor) -> Any:
    async with runtime.database.transaction() as session:
        return await services.plan_view(session, plan_id)


@plans_api.post("/plans/{plan_id}/tasks", status_code=201, response_model=Task,
                summary="Add a one-off task to a plan")
async def add_task(plan_id: UUID, body: NewTask, runtime: Runtime, principal: Supervisor,
                   key: IdempotencyKey = None) -> Any:
    return await _create(
        runtime, key=key, principal=principal, scope=f"add_task:{plan_id}",
        payload=body.model_dump(mode="json"),
        work=lambda session: services.add_task(
            session, plan_id, title=body.title, owner_id=body.owner_id,
            location_id=body.location_id, due_at=body.due_at, checklist=body.checklist,
            zone=_settings(runtime).zone, by=principal.id, now=runtime.clock.now()))


@plans_api.get("/tasks", response_model=list[Task],
               summary="Tasks: a staff member sees their own; supervisors see all and filter")
async def list_tasks(runtime: Runtime, principal: Staff,
                     owner: Annotated[str | None, Query(max_length=36)] = None,
                     date: Day | None = None, plan_id: UUID | None = None,
                     state: Literal["open", "overdue", "done"] | None = None) -> Any:
    owner_id: UUID | None
    if owner is None:
        owner_id = None if _is_supervisor(principal) else principal.id
    elif owner == "me":
        owner_id = principal.id
    else:
        try:
            owner_id = UUID(owner)
        except ValueError:
            raise Invalid("owner is `me` or a staff member's id") from None
    if not _is_supervisor(principal) and owner_id != principal.id:
        raise NotYourTask("only the head and the deputy see other people's tasks")
    start = end = None
    if date is not None:
        start, end = _bounds(runtime, date)
    async with runtime.database.transaction() as session:
        return await services.list_tasks(session, owner_id=owner_id, plan_id=plan_id,
                                         state=state, start=start, end=end)


@plans_api.get("/tasks/{task_id}", response_model=Task, summary="One task")
async def get_task(task_id: UUID, runtime: Runtime, principal: Staff) -> Any:
    async with runtime.database.transaction() as session:
        return await services.task_view(
            session, task_id, for_owner=None if _is_supervisor(principal) else principal.id)


@plans_api.post("/tasks/{task_id}/complete", response_model=Task,
                summary="Complete a task with its checklist ticked; completing again is "
                        "harmless")
async def complete_task(task_id: UUID, runtime: Runtime, principal: Staff,
                        body: Completion | None = None) -> Any:
    body = body or Completion()
    async with runtime.database.transaction() as session:
        return await services.complete_task(
            session, task_id, ticked=body.ticked, note=body.note, by=principal.id,
            supervisor=_is_supervisor(principal), now=runtime.clock.now())


routers = [locations_api, staff_api, arrivals_api, visits_api, floor_api, incidents_api,
           plans_api]
