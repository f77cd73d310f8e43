"""The booking service's HTTP API: parse, authorise, call a use case, answer.

Roles (docs/authorization.md): the head and deputy run the catalogue, resources, hours and closures
(R1 §2.2, R2 §2.2); the front desk (head, deputy, attendants) works the day sheet and marks
no-shows (R1 §2.3); staff who speak with customers (the desk and CRM specialists, R1 §2.4)
book on a customer's behalf; members book online for themselves and see only their own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from club_platform.auth import STAFF_ROLES, Principal, Role, require_roles
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from club_booking import services
from club_booking.domain.calendar import WEEKDAYS, OpeningInterval, check_week, parse_clock
from club_booking.domain.rules import CancelReason, OfflineChannel, Status

MANAGERS = (Role.HEAD, Role.DEPUTY)
DESK = (Role.HEAD, Role.DEPUTY, Role.ATTENDANT)
BOOKING_STAFF = (*DESK, Role.CRM_SPECIALIST)
EVERYONE = (*STAFF_ROLES, Role.MEMBER)

# Who may call: each a FastAPI dependency that authenticates and checks the role.
Manager = Annotated[Principal, Depends(require_roles(*MANAGERS))]
DeskStaff = Annotated[Principal, Depends(require_roles(*DESK))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
Booker = Annotated[Principal, Depends(require_roles(*BOOKING_STAFF, Role.MEMBER))]
Anyone = Annotated[Principal, Depends(require_roles(*EVERYONE))]

# Printable text: PostgreSQL refuses NUL, and control characters have no place in a name.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Kind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$",
                            description="a resource type: room, table, court, treatment_room, …")]
SERVICE_CODE = r"^[A-Za-z0-9_.-]+$"  # as the contract's ServiceCode
ServiceCode = Annotated[str, Field(min_length=1, max_length=64, pattern=SERVICE_CODE)]
ServiceCodeParam = Annotated[str, Query(min_length=1, max_length=64, pattern=SERVICE_CODE)]
ServiceCodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=SERVICE_CODE)]
KindParam = Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
# Times and dates the club can reason about: far-off years only overflow the arithmetic.
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)


def _sane_time(moment: datetime) -> datetime:
    if not EARLIEST <= moment.date() <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_sane_time)]
LocalDate = Annotated[date, Query(alias="date", ge=EARLIEST, le=LATEST,
                                  description="a date in the club's time zone, YYYY-MM-DD")]
Clock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", examples=["09:00", "24:00"])]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key",
                                               description="repeat a request safely")]


class _In(BaseModel):
    # A misspelt field is an error the caller should hear about, not a silent default.
    model_config = ConfigDict(extra="forbid")


def _reply(reply: services.Reply, model: type[BaseModel]) -> JSONResponse:
    """Answer through the response model, so a fresh reply and a replayed one (stored for an
    Idempotency-Key) read the same as every other answer."""
    body = model.model_validate(reply.body).model_dump(mode="json")
    return JSONResponse(body, status_code=reply.status_code)


def _payload(model: BaseModel, **extra: Any) -> dict:
    return model.model_dump(mode="json") | extra


# ---------------------------------------------------------------- models


class OpeningHoursIn(_In):
    weekday: Literal[WEEKDAYS]  # type: ignore[valid-type]
    opens_at: Clock
    closes_at: Clock

    def interval(self) -> OpeningInterval:
        return OpeningInterval(WEEKDAYS.index(self.weekday), parse_clock(self.opens_at),
                               parse_clock(self.closes_at))


def _week(entries: list[OpeningHoursIn]) -> list[OpeningInterval]:
    return check_week([e.interval() for e in entries])


class ResourceIn(_In):
    name: Name
    kind: Kind
    capacity: int = Field(ge=1, le=1000)
    location: Name
    opening_hours: list[OpeningHoursIn] = Field(default_factory=list, max_length=100,
                                                description="in the club's local time")


class ResourceChange(_In):
    name: Name | None = None
    location: Name | None = None
    capacity: int | None = Field(default=None, ge=1, le=1000)
    active: bool | None = None


class WeekIn(_In):
    opening_hours: list[OpeningHoursIn] = Field(max_length=100)


class OpeningHoursOut(BaseModel):
    weekday: str
    opens_at: str
    closes_at: str


class ResourceOut(BaseModel):
    id: UUID
    name: str
    kind: str
    capacity: int
    location: str
    active: bool
    opening_hours: list[OpeningHoursOut]
    created_at: datetime


class ClosureIn(_In):
    starts_at: Moment
    ends_at: Moment
    reason: Name


class ClosureOut(BaseModel):
    id: UUID
    resource_id: UUID
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: UUID
    created_at: datetime


class ServiceIn(_In):
    code: ServiceCode
    name: Name
    duration_minutes: int = Field(ge=1, le=1440)
    buffer_before_minutes: int = Field(default=0, ge=0, le=240,
                                       description="the resource is needed this long before")
    buffer_after_minutes: int = Field(default=0, ge=0, le=240,
                                      description="…and this long after, to clear up")
    resource_kinds: list[Kind] = Field(min_length=1, max_length=20,
                                       description="the resource types that can host it")


class ServiceChange(_In):
    name: Name | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=1440)
    buffer_before_minutes: int | None = Field(default=None, ge=0, le=240)
    buffer_after_minutes: int | None = Field(default=None, ge=0, le=240)
    resource_kinds: list[Kind] | None = Field(default=None, min_length=1, max_length=20)
    active: bool | None = None


class ServiceOut(BaseModel):
    code: str
    name: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    resource_kinds: list[str]
    active: bool


class SlotOut(BaseModel):
    resource_id: UUID
    resource_name: str
    starts_at: datetime
    ends_at: datetime


class AvailabilityOut(BaseModel):
    service_code: str
    date: date
    timezone: str
    party_size: int
    slots: list[SlotOut]


class BookingIn(_In):
    resource_id: UUID
    service_code: ServiceCode
    starts_at: Moment
    ends_at: Moment | None = Field(
        default=None, description="defaults to starts_at plus the service's duration")
    party_size: int = Field(default=1, ge=1, le=1000)
    staff_id: UUID | None = Field(default=None, description="a preferred staff member")
    customer_id: UUID | None = Field(
        default=None, description="required when staff book; a member books for themselves")
    offline_channel: OfflineChannel | None = Field(
        default=None, description="required when staff book: phone, desk or walk_in")


class RescheduleIn(_In):
    starts_at: Moment
    ends_at: Moment | None = Field(default=None,
                                          description="defaults to keeping the length")
    resource_id: UUID | None = Field(default=None, description="move to another resource")


class CancelIn(_In):
    reason: CancelReason = Field(description="a code: no free text travels on the bus")


class BookingOut(BaseModel):
    id: UUID
    resource_id: UUID
    service_code: str
    customer_id: UUID | None
    customer_erased: bool
    channel: Literal["online", "offline"]
    offline_channel: OfflineChannel | None
    party_size: int
    staff_id: UUID | None
    starts_at: datetime
    ends_at: datetime
    held_from: datetime
    held_until: datetime
    status: Status
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    cancel_reason: CancelReason | None
    cancelled_late: bool | None
    no_show_at: datetime | None
    visit_id: UUID | None
    checked_in_at: datetime | None


class DaySheetBooking(BookingOut):
    service_name: str


class OpenSpanOut(BaseModel):
    starts_at: datetime
    ends_at: datetime


class DaySheetOut(BaseModel):
    resource: ResourceOut
    date: date
    timezone: str
    open: list[OpenSpanOut]
    closures: list[ClosureOut]
    bookings: list[DaySheetBooking]
    counts: dict[str, int]


PROBLEMS = {
    401: {"description": "no valid bearer token"},
    403: {"description": "the role may not do this"},
    422: {"description": "the request breaks a rule; `detail` says which"},
}
CONFLICT = {409: {"description": "the slot is taken (`conflicting_slot`) or the state forbids it"}}

# ---------------------------------------------------------------- resources

catalogue = APIRouter(responses=PROBLEMS)


@catalogue.post("/resources", status_code=201, response_model=ResourceOut, tags=["resources"],
                summary="Add a bookable resource (room, table, court, treatment room, …)")
async def create_resource(body: ResourceIn, principal: Manager, request: Request,
                          idempotency_key: IdempotencyKey = None) -> JSONResponse:
    reply = await services.create_resource(
        request.app.state.runtime, principal, name=body.name, kind=body.kind,
        capacity=body.capacity, location=body.location, hours=_week(body.opening_hours),
        key=idempotency_key, payload=_payload(body))
    return _reply(reply, ResourceOut)


@catalogue.get("/resources", response_model=list[ResourceOut], tags=["resources"])
async def list_resources(_: Anyone, request: Request, kind: KindParam = None) -> list[dict]:
    return await services.list_resources(request.app.state.runtime, kind=kind)


@catalogue.get("/resources/{resource_id}", response_model=ResourceOut, tags=["resources"],
               responses={404: {"description": "no such resource"}})
async def get_resource(resource_id: UUID, _: Anyone, request: Request) -> dict:
    return await services.get_resource(request.app.state.runtime, resource_id)


@catalogue.patch("/resources/{resource_id}", response_model=ResourceOut, tags=["resources"],
                 responses=CONFLICT, summary="Rename, move, resize or retire a resource")
async def update_resource(resource_id: UUID, body: ResourceChange, _: Manager,
                          request: Request) -> dict:
    return await services.update_resource(request.app.state.runtime, resource_id,
                                          body.model_dump(exclude_none=True))


@catalogue.put("/resources/{resource_id}/opening-hours", response_model=ResourceOut,
               tags=["resources"], responses=CONFLICT,
               summary="Replace the resource's weekly opening hours (club local time)")
async def set_opening_hours(resource_id: UUID, body: WeekIn, _: Manager,
                            request: Request) -> dict:
    return await services.set_opening_hours(request.app.state.runtime, resource_id,
                                            _week(body.opening_hours))


@catalogue.post("/resources/{resource_id}/closures", status_code=201, response_model=ClosureOut,
                tags=["resources"], responses=CONFLICT,
                summary="Close a resource for a while (maintenance, a private event)")
async def add_closure(resource_id: UUID, body: ClosureIn, principal: Manager, request: Request,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    reply = await services.add_closure(
        request.app.state.runtime, principal, resource_id, starts_at=body.starts_at,
        ends_at=body.ends_at, reason=body.reason, key=idempotency_key, payload=_payload(body))
    return _reply(reply, ClosureOut)


@catalogue.get("/resources/{resource_id}/closures", response_model=list[ClosureOut],
               tags=["resources"])
async def list_closures(resource_id: UUID, _: Staff, request: Request,
                        include_past: bool = False) -> list[dict]:
    return await services.list_closures(request.app.state.runtime, resource_id,
                                        include_past=include_past)


@catalogue.delete("/resources/{resource_id}/closures/{closure_id}", status_code=204,
                  tags=["resources"], summary="Reopen: remove a closure")
async def remove_closure(resource_id: UUID, closure_id: UUID, _: Manager,
                         request: Request) -> Response:
    await services.remove_closure(request.app.state.runtime, resource_id, closure_id)
    return Response(status_code=204)


@catalogue.get("/resources/{resource_id}/day-sheet", response_model=DaySheetOut,
               tags=["front desk"],
               summary="The resource's day for the front desk: hours, closures, bookings")
async def day_sheet(resource_id: UUID, _: DeskStaff, request: Request,
                    day: LocalDate) -> dict:
    return await services.day_sheet(request.app.state.runtime, resource_id, day)


# ---------------------------------------------------------------- the service catalogue


@catalogue.post("/services", status_code=201, response_model=ServiceOut, tags=["services"],
                responses=CONFLICT, summary="Add a service to the catalogue")
async def create_service(body: ServiceIn, principal: Manager, request: Request,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    values = body.model_dump()
    values["resource_kinds"] = sorted(set(values["resource_kinds"]))
    reply = await services.create_service(request.app.state.runtime, principal, values=values,
                                          key=idempotency_key, payload=_payload(body))
    return _reply(reply, ServiceOut)


@catalogue.get("/services", response_model=list[ServiceOut], tags=["services"])
async def list_services(_: Anyone, request: Request) -> list[dict]:
    return await services.list_services(request.app.state.runtime)


@catalogue.get("/services/{code}", response_model=ServiceOut, tags=["services"],
               responses={404: {"description": "no such service"}})
async def get_service(code: ServiceCodePath, _: Anyone, request: Request) -> dict:
    return await services.get_service(request.app.state.runtime, code)


@catalogue.patch("/services/{code}", response_model=ServiceOut, tags=["services"],
                 summary="Change a service; bookings already made keep their times")
async def update_service(code: ServiceCodePath, body: ServiceChange, _: Manager,
                         request: Request) -> dict:
    changes = body.model_dump(exclude_none=True)
    if "resource_kinds" in changes:
        changes["resource_kinds"] = sorted(set(changes["resource_kinds"]))
    return await services.update_service(request.app.state.runtime, code, changes)


# ---------------------------------------------------------------- availability and bookings

booking = APIRouter(responses=PROBLEMS, tags=["bookings"])


@booking.get("/availability", response_model=AvailabilityOut,
             summary="Free slots of a service on a date (club local time)")
async def availability(principal: Anyone, request: Request, service_code: ServiceCodeParam,
                       day: LocalDate,
                       party_size: Annotated[int, Query(ge=1, le=1000)] = 1,
                       resource_id: UUID | None = None) -> dict:
    return await services.availability(request.app.state.runtime, principal,
                                       service_code=service_code, day=day,
                                       party_size=party_size, resource_id=resource_id)


@booking.post("/bookings", status_code=201, response_model=BookingOut, responses=CONFLICT,
              summary="Book: online by a member, offline by staff for a customer")
async def create_booking(body: BookingIn, principal: Booker, request: Request,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    reply = await services.create_booking(
        request.app.state.runtime, principal, resource_id=body.resource_id,
        service_code=body.service_code, starts_at=body.starts_at, ends_at=body.ends_at,
        party_size=body.party_size, staff_id=body.staff_id, customer_id=body.customer_id,
        offline_channel=body.offline_channel, key=idempotency_key, payload=_payload(body))
    return _reply(reply, BookingOut)


@booking.get("/bookings", response_model=list[BookingOut],
             summary="Bookings by start time; a member sees only their own")
async def list_bookings(
    principal: Booker, request: Request,
    customer_id: UUID | None = None,
    resource_id: UUID | None = None,
    status: Status | None = None,
    starts_from: Moment | None = None,
    starts_before: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict]:
    return await services.list_bookings(
        request.app.state.runtime, principal, customer_id=customer_id, resource_id=resource_id,
        status=status, starts_from=starts_from, starts_before=starts_before, limit=limit)


@booking.get("/bookings/{booking_id}", response_model=BookingOut,
             responses={404: {"description": "no such booking (or not the member's own)"}})
async def get_booking(booking_id: UUID, principal: Booker, request: Request) -> dict:
    return await services.get_booking(request.app.state.runtime, principal, booking_id)


@booking.post("/bookings/{booking_id}/reschedule", response_model=BookingOut,
              responses=CONFLICT, summary="Move a booking to another time or resource")
async def reschedule_booking(booking_id: UUID, body: RescheduleIn, principal: Booker,
                             request: Request,
                             idempotency_key: IdempotencyKey = None) -> JSONResponse:
    reply = await services.reschedule_booking(
        request.app.state.runtime, principal, booking_id, starts_at=body.starts_at,
        ends_at=body.ends_at, resource_id=body.resource_id, key=idempotency_key,
        payload=_payload(body))
    return _reply(reply, BookingOut)


@booking.post("/bookings/{booking_id}/cancel", response_model=BookingOut, responses=CONFLICT,
              summary="Cancel; inside the cut-off it is marked late")
async def cancel_booking(booking_id: UUID, body: CancelIn, principal: Booker, request: Request,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    reply = await services.cancel_booking(
        request.app.state.runtime, principal, booking_id, reason=body.reason,
        key=idempotency_key, payload=_payload(body))
    return _reply(reply, BookingOut)


@booking.post("/bookings/{booking_id}/no-show", response_model=BookingOut, responses=CONFLICT,
              summary="Mark a no-show once the start has passed (the desk)")
async def mark_no_show(booking_id: UUID, principal: DeskStaff, request: Request) -> dict:
    return await services.mark_no_show(request.app.state.runtime, principal, booking_id)


routers = [catalogue, booking]
