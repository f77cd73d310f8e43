"""Issue 9, scenario 8: hostile input against the creating endpoints of all four services,
as real processes on their own databases.

For each creating endpoint there is one valid request (made fresh each time, so it can be
sent again). Each of its fields, found in the service's OpenAPI document (nested objects and
list items too), is then broken on purpose, one at a time, and the body as a whole:

- refused (4xx, never 5xx), with not one row added to any table of the service's database:
  NUL characters, lone surrogates, 100,000-character strings, numbers out of their range
  (negative, 2^31, 2^63, 10^100, fractions for integers, NaN, Infinity), wrong JSON types,
  impossible dates, odd or hostile text in a field with a format (ids, codes, enums, dates);
  and whole bodies over the size limit, nested deeper than any request needs, not JSON, or
  JSON of the wrong shape;
- either refused the same way or, only in a free-text field (a name, a note), stored as the
  text it is: RTL overrides, zero-width characters, emoji, combining marks, SQL, HTML and
  template injection strings, dates at the ends of the calendar. Accepted text comes back
  byte for byte where the answer shows it, and the tables are all still there (counted).

Each endpoint's valid request is sent last and must succeed, so the refusals above are
refusals of the broken part, not of a request that could never have worked.

Counting: every table of the service's database, before and after, except the outbox (its
rows leave once Kafka has them), the inbox and the projections fed by other services'
events (EVENT_FED), which other tests' traffic may still be filling. A refused request
changes none of the rest.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from club_platform.auth import Role
from club_platform.testing import client, wait_for

from .support import ROOT

EVENT_FED = {
    "booking": {"erased_customers"},                       # customer.erased
    "reception": {"expected_arrivals", "staff", "staff_standings"},  # booking.*, staff.*
    "crm": {"visits", "no_shows", "staff", "followups", "survey_invitations",
            "notifications", "incidents_seen", "safety_findings"},
    # written as the CRM handles events (complaint.opened, incident.reported, …)
    "hr": {"kpi_facts", "erased_customers"},
}
IGNORED = {"inbox", "outbox", "alembic_version"}

# ------------------------------------------------------------------------------ the input

NUL = "before\x00after"
LONE_SURROGATE = "before\ud800after"
VERY_LONG = "x" * 100_000
ODD_TEXT = {
    "RTL override": "Invoice \u202egnp.exe",
    "zero-width": "zero\u200bwidth\u200c\u200djoin\ufeff",
    "emoji": "🎾🏸 great! 👍🏽👨‍👩‍👧",
    "combining marks": "Z̵̢͓a̸̛l̶g̷o",
    "SQL injection": "x'); DROP TABLE bookings; -- ' OR '1'='1",
    "HTML injection": "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
    "template injection": "{{7*7}} ${jndi:ldap://127.0.0.1/a} %s%n",
    "path traversal": "../../../../etc/passwd",
}
EXTREME_MOMENTS = ["9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00",
                   "1970-01-01T00:00:00Z"]
BAD_MOMENTS = ["2025-02-30T10:00:00Z", "yesterday", "10:00", "2030-01-01T25:61:00Z"]
BAD_DATES = ["2025-02-30", "31/12/2030", "2030-13-01"]
EXTREME_DATES = ["9999-12-31", "0001-01-01"]
HUGE_NUMBERS = [-1, 0, 2**31, 2**63, -(2**63) - 1, 10**100, 1.5, 1e308]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 5000]


@dataclass
class Variant:
    what: str
    body: bytes          # the raw request body
    content_type: str = "application/json"
    may_store: bool = False      # odd but legitimate text in a free-text field
    echo: tuple[str, Any] | None = None   # (top-level field, value) to find in the answer
    status: tuple[int, ...] = ()  # a particular 4xx expected, else any 4xx


def _raw(body: Any) -> bytes:
    # ASCII escapes: a lone surrogate travels as "\ud800", as a hostile client would send it
    return json.dumps(body, ensure_ascii=True).encode()


@cache
def _document(service: str) -> dict:
    return json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())


def _resolve(service: str, schema: dict) -> dict:
    """The schema itself: $ref followed, a nullable anyOf reduced to its non-null part."""
    while True:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = _document(service)["components"]["schemas"][name]
        elif "anyOf" in schema:
            options = [s for s in schema["anyOf"] if s.get("type") != "null"]
            numbers = [s for s in options if s.get("type") == "number"]
            if numbers:  # a Decimal: a number, or the same number as a string
                return numbers[0]
            if len(options) != 1:
                return schema
            schema = options[0]
        else:
            return schema


def _body_schema(service: str, method: str, path: str) -> dict:
    operation = _document(service)["paths"][path][method.lower()]
    return _resolve(service, operation["requestBody"]["content"]["application/json"]["schema"])


def _set(body: Any, at: tuple, value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for step in at[:-1]:
        target = target[step]
    target[at[-1]] = value
    return changed


def _leaves(service: str, schema: dict, base: Any, at: tuple = ()) -> list[tuple[tuple, dict]]:
    """Every field the request can carry, as (where, its schema): an object's properties
    (whether the valid request fills them or not), a list's first item when it has one,
    a map's values under a key it already has (or `language`)."""
    found = []
    schema = _resolve(service, schema)
    if schema.get("type") == "object" and "properties" in schema:
        for name, inner in schema["properties"].items():
            present = base.get(name) if isinstance(base, dict) else None
            found.append(((*at, name), _resolve(service, inner)))
            if present is not None:
                found += _leaves(service, inner, present, (*at, name))[1:]
        return [(at, schema), *found] if at else found
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        key = next(iter(base), "language") if isinstance(base, dict) else "language"
        inner = _resolve(service, schema["additionalProperties"])
        return [(at, schema), ((*at, key), inner)]
    if schema.get("type") == "array" and isinstance(base, list) and base:
        item = _resolve(service, schema["items"])
        return [(at, schema), ((*at, 0), item),
                *_leaves(service, item, base[0], (*at, 0))[1:]]
    return [(at, schema)]


def _is_free_text(schema: dict) -> bool:
    """A name, a note, a description: no format, no list of values, and at most a pattern
    that only keeps some characters out (booking's "^[^\\x00-\\x1f\\x7f]+$")."""
    return (schema.get("type") == "string" and not schema.get("format")
            and "enum" not in schema and schema.get("pattern", "^[^").startswith("^[^"))


def _admitted(schema: dict, number: float) -> bool:
    """Whether the number is one the field should take (then it is no test of range): inside
    the bounds the schema states; where it states none, not negative and within what the
    column can hold (an int4; a Decimal of at most 14 digits)."""
    if schema.get("type") == "integer" and not float(number).is_integer():
        return False
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    if number < low or number == schema.get("exclusiveMinimum"):
        return False
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if high is None:
        return number < (2**31 if schema.get("type") == "integer" else 10**12)
    return number <= high and number != schema.get("exclusiveMaximum")


def variants(service: str, method: str, path: str, valid: Callable[[], dict]) -> list[Variant]:
    """Every way to break the request, each on a fresh valid body."""
    base = valid()
    schema = _body_schema(service, method, path)
    found: list[Variant] = []
    for at, leaf in _leaves(service, schema, base):
        name = ".".join(str(step) for step in at)

        def put(value: Any, what: str, *, may_store: bool = False, echo: bool = True,
                at=at, name=name) -> None:
            shown = (at[0], value) if may_store and echo and len(at) == 1 else None
            found.append(Variant(f"{name}: {what}", _raw(_set(valid(), at, value)),
                                 may_store=may_store, echo=shown))

        kind = leaf.get("type")
        if kind == "string":
            put(NUL, "a NUL character")
            put(LONE_SURROGATE, "a lone surrogate")
            put(VERY_LONG, "100,000 characters")
            free = _is_free_text(leaf)
            for what, text in ODD_TEXT.items():
                put(text, what, may_store=free)
            if leaf.get("format") == "date-time":
                for moment in BAD_MOMENTS:
                    put(moment, f"an impossible time {moment!r}")
                for moment in EXTREME_MOMENTS:
                    put(moment, f"a time at the end of the calendar {moment!r}",
                        may_store=True, echo=False)
            if leaf.get("format") == "date":
                for day in BAD_DATES:
                    put(day, f"an impossible date {day!r}")
                for day in EXTREME_DATES:
                    put(day, f"a date at the end of the calendar {day!r}", may_store=True,
                        echo=False)
            for wrong in (12345, [], {}, True):
                put(wrong, f"a {type(wrong).__name__} for a string")
        elif kind in ("integer", "number"):
            for number in HUGE_NUMBERS:
                if not _admitted(leaf, number):
                    put(number, f"the number {number if abs(number) < 1e6 else 'huge'}")
            for literal in RAW_NUMBERS:
                raw = _raw(_set(valid(), at, "§§")).replace(b'"\\u00a7\\u00a7"',
                                                            literal.encode())
                found.append(Variant(f"{name}: {literal[:12]}", raw))
            for wrong in ("twelve", [], {}):
                put(wrong, f"a {type(wrong).__name__} for a number")
        elif kind == "boolean":
            for wrong in ("maybe", 2, [], {}):
                put(wrong, f"{wrong!r} for a boolean")
        elif kind == "array":
            for wrong in ("x", {}, 7):
                put(wrong, f"{wrong!r} for a list")
        elif kind == "object":
            for wrong in ("x", [], 7):
                put(wrong, f"{wrong!r} for an object")
        elif "enum" in leaf:
            put("no-such-value", "a value outside the list")
    deep = b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    found += [
        Variant("a body over the 1 MiB limit", _raw(base | {"padding": "x" * 1_200_000}),
                status=(413,)),
        Variant("JSON nested 5,000 deep", deep),
        Variant("JSON nested 40 deep in a field",
                _raw(base | {"extra": json.loads("[" * 40 + "]" * 40)})),
        Variant("an unknown field", _raw(base | {"is_admin": True})),
        Variant("not JSON", b"{'name': 'single quotes'"),
        Variant("not UTF-8", b'{"name": "\xff\xfe"}'),
        Variant("a list instead of an object", _raw([base])),
        Variant("a bare string", _raw("hello")),
        Variant("an empty body", b""),
        Variant("null", b"null"),
    ]
    return found


# ------------------------------------------------------------------------------ counting


class RowCounter:
    """Counts the rows of every table of a service's database that a request could fill."""

    def __init__(self, connection: asyncpg.Connection, tables: list[str]) -> None:
        self.connection = connection
        self.query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}") AS "{t}"'
                                           for t in tables)

    @classmethod
    async def open(cls, database_url: str, service: str) -> RowCounter:
        connection = await asyncpg.connect(
            database_url.replace("postgresql+asyncpg://", "postgresql://"))
        tables = [r["table_name"] for r in await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")
            if r["table_name"] not in IGNORED | EVENT_FED[service]]
        return cls(connection, tables)

    async def counts(self) -> dict[str, int]:
        return dict(await self.connection.fetchrow(self.query))


# ------------------------------------------------------------------------------ the targets


@dataclass
class Target:
    service: str
    path: str            # the documented path
    url: str             # with the ids of the records set up for it
    role: Role
    subject: UUID
    valid: Callable[[], dict]   # a fresh valid body each call
    method: str = "POST"
    once: bool = False   # succeeds once only (a check-in, a survey answer, an offboarding)


def _soon(hours: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _tomorrow_at(hour: int) -> str:
    day = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC).isoformat()


async def _call(process, role: Role, subject: UUID, method: str, path: str, token,
                **kwargs) -> httpx.Response:
    async with client(process.url, token(role, subject=subject)) as http:
        response = await http.request(method, path, **kwargs)
    assert response.status_code < 300, f"{method} {path}: {response.text}"
    return response


async def set_up(club, token) -> list[Target]:
    """The records the creating endpoints hang off, made through the APIs."""
    head, admin, desk, member = uuid4(), uuid4(), uuid4(), uuid4()
    specialist, worker = uuid4(), uuid4()

    async def call(service: str, role: Role, subject: UUID, method: str, path: str, **kw):
        return (await _call(club[service], role, subject, method, path, token, **kw)).json()

    # hr: the people
    for who, role in ((worker, "attendant"), (desk, "attendant"), (specialist,
                                                                   "crm_specialist")):
        await call("hr", Role.HR_ADMIN, admin, "POST", "/staff",
                   json={"display_name": "Staff", "role": role, "staff_id": str(who)})
    policy = await call("hr", Role.HEAD, head, "POST", "/policies", json={
        "title": "Dress code", "summary": "Uniforms", "effective_at": _soon(24)})
    leaver = uuid4()
    await call("hr", Role.HR_ADMIN, admin, "POST", "/staff", json={
        "display_name": "Leaver", "role": "attendant", "staff_id": str(leaver)})

    # hr: a shift worked on time some days ago gives an assessment a punctuality to score
    # (a period with nothing to measure is refused: 409)
    async def worked(who: UUID, days_ago: int) -> str:
        day = datetime.now(UTC).date() - timedelta(days=days_ago)

        def at(hour: int, minute: int = 0) -> str:
            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).isoformat()

        await call("hr", Role.HEAD, head, "POST", "/shifts", json={
            "staff_id": str(who), "starts_at": at(10), "ends_at": at(12)})
        for direction, moment in (("in", at(9, 55)), ("out", at(12, 5))):
            await call("hr", Role.HEAD, head, "POST", "/attendance/clockings", json={
                "direction": direction, "staff_id": str(who), "at": moment})
        return day.isoformat()

    assessable = await worked(worker, 3)
    # a published assessment of the desk attendant's, for them to appeal
    desk_day = await worked(desk, 2)
    assessed = await call("hr", Role.HEAD, head, "POST", "/assessments", json={
        "staff_id": str(desk), "period_start": desk_day, "period_end": desk_day})
    await call("hr", Role.HEAD, head, "POST",
               f"/assessments/{assessed['assessment_id']}/review", json={})
    await call("hr", Role.HEAD, head, "POST",
               f"/assessments/{assessed['assessment_id']}/publish")
    periods = itertools.count()  # one self-assessment per period: a new period each time

    def self_assessment() -> dict:
        day = (date(2020, 1, 1) + timedelta(days=next(periods))).isoformat()
        return {"period_start": day, "period_end": day, "text": "A busy, good day",
                "scores": [{"code": "visits_served", "score": "4.5", "comment": "Busy"}]}

    # booking: a court open all day, every day, and tennis
    week = [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
            for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                      "sunday")]
    court = await call("booking", Role.HEAD, head, "POST", "/resources", json={
        "name": "Court 1", "kind": "court", "capacity": 4, "location": "East",
        "opening_hours": week})
    code = f"tennis-{uuid4().hex[:6]}"
    await call("booking", Role.HEAD, head, "POST", "/services", json={
        "code": code, "name": "Tennis", "duration_minutes": 60, "resource_kinds": ["court"]})
    soon = await call("booking", Role.ATTENDANT, desk, "POST", "/bookings", json={
        "resource_id": court["id"], "service_code": code, "starts_at": _soon(0.5),
        "customer_id": str(uuid4()), "offline_channel": "desk"})

    # reception: a place, the host known from staff.hired, a guest on the floor
    location = await call("reception", Role.HEAD, head, "POST", "/locations",
                          json={"name": f"Lounge {uuid4().hex[:6]}"})

    async def ready() -> bool:
        async with client(club["reception"].url, token(Role.HEAD, subject=head)) as http:
            staff = (await http.get(f"/staff/{worker}")).status_code == 200
            arrival = (await http.get(f"/arrivals/{soon['id']}")).status_code == 200
        return staff and arrival

    await wait_for(ready, timeout=60, what="reception learns of the staff and the booking")
    guest = uuid4()
    visit = await call("reception", Role.ATTENDANT, desk, "POST", "/visits/walk-in", json={
        "customer_id": str(guest), "location_id": location["location_id"],
        "host_staff_id": str(worker)})
    incident = await call("reception", Role.ATTENDANT, desk, "POST", "/incidents", json={
        "category": "facility", "severity": "low", "location_id": location["location_id"],
        "description": "A wet floor"})
    # a week's plan (from yesterday, so "in two hours" is in it in any club time zone)
    week = [(datetime.now(UTC).date() + timedelta(days=d)).isoformat() for d in (-1, 6)]
    plan = await call("reception", Role.HEAD, head, "POST", "/plans", json={
        "title": "This week", "period_start": week[0], "period_end": week[1]})

    # crm: a customer with a complaint
    customer = uuid4()
    await call("crm", Role.ATTENDANT, desk, "POST", "/customers",
               json={"customer_id": str(customer), "full_name": "Dana"})
    complaint = await call("crm", Role.CRM_SPECIALIST, specialist, "POST", "/complaints", json={
        "customer_id": str(customer), "category": "service", "severity": "low",
        "channel": "phone", "description": "Slow service"})

    # a second guest, whose completed visit brings a survey invitation (over Kafka)
    second = await call("reception", Role.ATTENDANT, desk, "POST", "/visits/walk-in", json={
        "customer_id": str(customer), "location_id": location["location_id"],
        "host_staff_id": str(worker)})
    await call("reception", Role.ATTENDANT, desk, "POST",
               f"/visits/{second['visit_id']}/complete")

    async def invitation() -> list:
        async with client(club["crm"].url, token(Role.HEAD, subject=head)) as http:
            found = await http.get("/surveys/invitations",
                                   params={"visit_id": second["visit_id"]})
        return found.json()

    (invited,) = await wait_for(invitation, timeout=60, what="the CRM's survey invitation")

    # crm: a service meeting (R2 §9.1), once the CRM's staff directory knows the attendee
    def meeting_body() -> dict:
        return {"period_from": _soon(-24 * 7), "period_until": _soon(0),
                "scheduled_for": _soon(2), "attendee_ids": [str(worker)]}

    async def scheduled() -> dict | None:
        async with client(club["crm"].url, token(Role.HEAD, subject=head)) as http:
            answer = await http.post("/meetings", json=meeting_body())
        return answer.json() if answer.status_code == 201 else None

    meeting = await wait_for(scheduled, timeout=60, what="the CRM knows the staff member")
    later = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    visit_path = f"/visits/{visit['visit_id']}"
    return [
        Target("booking", "/resources", "/resources", Role.HEAD, head, lambda: {
            "name": "Court 9", "kind": "court", "capacity": 2, "location": "West",
            "opening_hours": [{"weekday": "monday", "opens_at": "08:00", "closes_at": "22:00"}]}),
        Target("booking", "/resources/{resource_id}/closures",
               f"/resources/{court['id']}/closures", Role.HEAD, head, lambda: {
                   "starts_at": _tomorrow_at(0), "ends_at": _tomorrow_at(0).replace(
                       "T00:00", "T00:30"), "reason": "Resurfacing"}),
        Target("booking", "/services", "/services", Role.HEAD, head, lambda: {
            "code": f"squash-{uuid4().hex[:6]}", "name": "Squash", "duration_minutes": 45,
            "buffer_before_minutes": 5, "buffer_after_minutes": 10,
            "resource_kinds": ["court"]}),
        Target("booking", "/bookings", "/bookings", Role.MEMBER, member, lambda: {
            "resource_id": court["id"], "service_code": code,
            "starts_at": _tomorrow_at(10), "party_size": 2,
            "staff_id": str(worker)}),
        Target("reception", "/locations", "/locations", Role.HEAD, head, lambda: {
            "name": f"Terrace {uuid4().hex[:6]}", "kind": "area", "capacity": 20}),
        Target("reception", "/visits/walk-in", "/visits/walk-in", Role.ATTENDANT, desk,
               lambda: {"customer_id": str(uuid4()), "party_size": 2,
                        "location_id": location["location_id"], "host_staff_id": str(worker)}),
        Target("reception", "/visits/check-in", "/visits/check-in", Role.ATTENDANT, desk,
               lambda: {"booking_id": soon["id"], "location_id": location["location_id"],
                        "host_staff_id": str(worker)}, once=True),
        Target("reception", "/visits/{visit_id}/services", f"{visit_path}/services",
               Role.ATTENDANT, desk, lambda: {
                   "service_code": code, "staff_id": str(worker),
                   "started_at": _soon(), "ended_at": _soon(1 / 120), "notes": "Left court"}),
        Target("reception", "/incidents", "/incidents", Role.ATTENDANT, desk, lambda: {
            "category": "safety", "severity": "medium", "location_id": location["location_id"],
            "visit_id": visit["visit_id"], "description": "A loose net post",
            "occurred_at": _soon(-1)}),
        Target("reception", "/incidents/{incident_id}/actions",
               f"/incidents/{incident['incident_id']}/actions", Role.ATTENDANT, desk, lambda: {
                   "description": "Mop it", "assigned_to": str(worker), "due_at": _soon(2)}),
        Target("reception", "/safety/rounds", "/safety/rounds", Role.HEAD, head, lambda: {
            "area": "fire_exits", "walker_id": str(worker),
            "location_id": location["location_id"], "scheduled_for": _soon(1)}),
        Target("reception", "/incidents/{incident_id}/safety-rounds",
               f"/incidents/{incident['incident_id']}/safety-rounds", Role.HEAD, head,
               lambda: {"area": "wet_floors", "walker_id": str(worker),
                        "scheduled_for": _soon(1)}),
        Target("reception", "/routines", "/routines", Role.HEAD, head, lambda: {
            "code": f"opening_{uuid4().hex[:8]}", "title": "Opening", "time_of_day": "08:00",
            "weekdays": ["monday", "friday"], "owner_id": str(worker),
            "location_id": location["location_id"], "checklist": ["lights", "till"]}),
        Target("reception", "/plans", "/plans", Role.HEAD, head, lambda: {
            "title": "Next week", "period_start": week[0], "period_end": week[1],
            "routines": []}),
        Target("reception", "/plans/{plan_id}/tasks", f"/plans/{plan['plan_id']}/tasks",
               Role.HEAD, head, lambda: {
                   "title": "Restock towels", "owner_id": str(worker),
                   "location_id": location["location_id"], "due_at": _soon(2),
                   "checklist": ["spa", "gym"]}),
        Target("crm", "/customers", "/customers", Role.ATTENDANT, desk, lambda: {
            "customer_id": str(uuid4()), "full_name": "Eva Ng", "phone": "+86 138 0000 0000",
            "email": f"eva-{uuid4().hex[:8]}@example.org", "tier": "gold",
            "preferences": {"language": "zh"}}),
        Target("crm", "/customers/{customer_id}/notes", f"/customers/{customer}/notes",
               Role.ATTENDANT, desk, lambda: {"text": "Prefers mornings"}),
        Target("crm", "/complaints", "/complaints", Role.CRM_SPECIALIST, specialist, lambda: {
            "customer_id": str(customer), "category": "facility", "severity": "medium",
            "channel": "email", "subject_staff_ids": [str(worker)],
            "description": "The shower was cold"}),
        # the head: fair assignment may give the complaint to another specialist
        Target("crm", "/complaints/{complaint_id}/tasks",
               f"/complaints/{complaint['complaint_id']}/tasks", Role.HEAD, head, lambda: {
                   "department": "facilities", "description": "Fix the boiler",
                   "due_at": _soon(24)}),
        Target("crm", "/surveys/respond/{token}", f"/surveys/respond/{invited['token']}",
               Role.MEMBER, customer, lambda: {"csat": 4, "nps": 9, "comment": "Lovely"},
               once=True),
        Target("crm", "/meetings", "/meetings", Role.HEAD, head, meeting_body),
        Target("crm", "/meetings/{meeting_id}/actions",
               f"/meetings/{meeting['meeting_id']}/actions", Role.HEAD, head, lambda: {
                   "text": "Check the boiler weekly", "owner_id": str(worker),
                   "due_at": _soon(48), "complaint_ids": [complaint["complaint_id"]]}),
        Target("hr", "/staff", "/staff", Role.HR_ADMIN, admin, lambda: {
            "display_name": "New Hire", "role": "attendant", "department": "service",
            "hired_at": _soon(-1), "staff_id": str(uuid4())}),
        Target("hr", "/staff/{staff_id}/offboarding", f"/staff/{leaver}/offboarding",
               Role.HR_ADMIN, admin, lambda: {
                   "reason": "resignation",
                   "last_day": (datetime.now(UTC).date() + timedelta(days=14)).isoformat()},
               once=True),
        Target("hr", "/shifts", "/shifts", Role.HEAD, head, lambda: {
            "staff_id": str(worker), "starts_at": _soon(48), "ends_at": _soon(56)}),
        Target("hr", "/attendance/clockings", "/attendance/clockings", Role.HEAD, head,
               lambda: {"direction": "in", "staff_id": str(worker), "at": _soon(-0.1)}),
        Target("hr", "/assessments", "/assessments", Role.HEAD, head, lambda: {
            "staff_id": str(worker), "period_start": assessable, "period_end": assessable},
            once=True),
        Target("hr", "/discipline/cases", "/discipline/cases", Role.HEAD, head, lambda: {
            "staff_id": str(worker), "violation": "dress_code", "occurred_at": _soon(-2),
            "description": "No badge"}),
        Target("hr", "/rewards", "/rewards", Role.HEAD, head, lambda: {
            "staff_id": str(worker), "kind": "bonus", "reason": "Covered a shift",
            "bonus": {"amount": "200.00", "currency": "CNY"}}),
        Target("hr", "/training/sessions", "/training/sessions", Role.HEAD, head, lambda: {
            "title": "First aid", "clause": "R2 §4.2", "starts_at": _soon(72),
            "ends_at": _soon(74), "staff_ids": [str(worker)], "roles": ["crm_specialist"]}),
        Target("hr", "/policies", "/policies", Role.HEAD, head, lambda: {
            "title": "Lockers", "summary": "Empty them nightly", "effective_at": _soon(24),
            "requires_training": False}),
        Target("hr", "/policies/{policy_id}/versions",
               f"/policies/{policy['policy_id']}/versions", Role.HEAD, head, lambda: {
                   "title": "Dress code", "summary": "Uniforms and badges",
                   "effective_at": _soon(48), "requires_training": True,
                   "training_at": _soon(60)}),
        Target("hr", "/gifts", "/gifts", Role.ATTENDANT, worker, lambda: {
            "description": "A box of tea", "received_at": _soon(-1),
            "disposition": "handed_over", "estimated_value": {"amount": "80.00",
                                                             "currency": "CNY"},
            "customer_id": str(customer)}),
        Target("hr", "/leave", "/leave", Role.HEAD, head, lambda: {
            "kind": "annual", "starts_at": _soon(24 * 10), "ends_at": _soon(24 * 11),
            "reason": "Family visit", "staff_id": str(worker)}),
        Target("hr", "/assessments/{assessment_id}/appeal",
               f"/assessments/{assessed['assessment_id']}/appeal", Role.ATTENDANT, desk,
               lambda: {"grounds": "The period had two closed days"}, once=True),
        Target("hr", "/self-assessments", "/self-assessments", Role.ATTENDANT, worker,
               self_assessment),
        # a fresh code each time: a skill's code is added once
        Target("hr", "/skills", "/skills", Role.HR_ADMIN, admin, lambda: {
            "code": f"skill_{uuid4().hex[:12]}", "name": "Wine service"}),
        Target("hr", "/staff/{staff_id}/skills", f"/staff/{worker}/skills", Role.HEAD, head,
               lambda: {"skill": "teamwork", "level": 2,
                        "assessed_on": (datetime.now(UTC).date()
                                        - timedelta(days=1)).isoformat(),
                        "note": "Covers for colleagues at the desk"}),
        # replacing rather than creating, but the same hazards: unbounded numbers and text
        Target("hr", "/discipline/rules/{code}", "/discipline/rules/hardening", Role.HR_ADMIN,
               admin, lambda: {
                   "title": "Hardening drill", "rule_ref": "R2 §6.4", "severity": "minor",
                   "window_days": 90, "ladder": ["verbal_warning", "written_warning", "fine"],
                   "fine": "50.00", "suspension_days": 3, "active": True}, method="PUT"),
        Target("hr", "/kpi-templates/{role}/{effective_from}",
               f"/kpi-templates/attendant/{later}", Role.HR_ADMIN, admin, lambda: {
                   "items": [{"code": "visits_served", "weight": 30, "target": "60",
                              "worst": "0"},
                             {"code": "mean_csat", "weight": 30, "target": "4.5",
                              "worst": "2.5"},
                             {"code": "upheld_complaints", "weight": 20, "target": "0",
                              "worst": "3"},
                             {"code": "punctuality", "weight": 20, "target": "100",
                              "worst": "75"}]}, method="PUT"),
    ]


# ------------------------------------------------------------------------------ the test


@pytest.fixture(scope="module")
def report(fault_report):
    """What the test sent and got, for the table in docs/security.md."""
    counts = {"endpoints": 0, "requests": 0, "refused": 0, "stored verbatim": 0,
              "unanswered": 0, "5xx": 0}
    yield counts
    if counts["requests"]:
        fault_report("8. hostile input to every creating endpoint",
                     f"{counts['endpoints']} endpoints, {counts['requests']} requests",
                     "oversized, deep, odd Unicode, injection, huge/negative, wrong types",
                     lost=counts["unanswered"], duplicated=0,  # nothing is retried
                     server_errors=counts["5xx"],
                     note=f"{counts['refused']} refused with nothing stored; "
                          f"{counts['stored verbatim']} odd texts stored verbatim")


@pytest.mark.slow
async def test_hostile_input_is_refused_and_stores_nothing(club, token, report):
    targets = await set_up(club, token)
    documented = {(s, p) for s in ("booking", "reception", "crm", "hr")
                  for p, ops in _document(s)["paths"].items() if "post" in ops
                  and "201" in ops["post"]["responses"]}
    assert documented <= {(t.service, t.path) for t in targets}, \
        "every creating endpoint has a target"
    failures: list[str] = []
    counters = {name: await RowCounter.open(process.database_url, name)
                for name, process in club.items()}
    report["endpoints"] = len(targets)
    try:
        for target in targets:
            failures += await _attack(club[target.service], counters[target.service], target,
                                      token, report)
    finally:
        for counter in counters.values():
            await counter.connection.close()
    assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures[:60])
    assert report["refused"] > 1500, report  # the test really sent what it says


async def _attack(process, counter: RowCounter, target: Target, token, report) -> list[str]:
    failures = []
    bearer = token(target.role, subject=target.subject)
    accepted = 0
    after = await counter.counts()
    async with client(process.url, bearer) as http:
        for variant in variants(target.service, target.method, target.path, target.valid):
            before = after
            label = f"{target.service} {target.method} {target.path} — {variant.what}"
            try:
                response = await http.request(target.method, target.url, content=variant.body,
                                              headers={"content-type": variant.content_type})
            except httpx.TransportError as e:
                report["unanswered"] += 1
                failures.append(f"{label}: no answer ({e!r})")
                continue
            after = await counter.counts()
            report["requests"] += 1
            report["5xx"] += response.status_code >= 500
            status = response.status_code
            if variant.may_store and status < 300:
                report["stored verbatim"] += 1
                accepted += 1
                if variant.echo and variant.echo[0] in response.json():
                    field, value = variant.echo
                    if response.json()[field] != value:
                        failures.append(f"{label}: stored {response.json()[field]!r}")
                continue
            report["refused"] += 1
            if not 400 <= status < 500 or (variant.status and status not in variant.status):
                failures.append(f"{label}: {status} {response.text[:160]}")
            if after != before:
                grown = {t: after[t] - before[t] for t in after if after[t] != before[t]}
                failures.append(f"{label}: {status}, yet rows changed {grown}")
        # the valid request itself goes through, so the refusals were of the broken parts
        # (for a once-only request, an accepted odd one above has shown that already)
        if target.once and accepted:
            return failures
        control = await http.request(target.method, target.url, json=target.valid())
    if control.status_code >= 300:
        failures.append(f"{target.service} {target.method} {target.path} — the valid "
                        f"request: {control.status_code} {control.text[:200]}")
    return failures


# Days at the calendar's ends in a query, a path or a body: the arithmetic of a period (the
# next day, a day's end in the club's zone) overflowed on them and the answer was a 500 with
# the connection dropped. Every one is a 422 that names the field.
CALENDAR_ENDS = [
    ("reception", Role.ATTENDANT, "GET", "/arrivals?date=9999-12-31", None, "date"),
    ("reception", Role.ATTENDANT, "GET", "/visits?date=9999-12-31", None, "date"),
    ("reception", Role.HEAD, "GET", "/day-sheet?date=0001-01-01", None, "date"),
    ("reception", Role.HEAD, "GET", "/incidents?date=9999-12-31", None, "date"),
    ("reception", Role.ATTENDANT, "GET", "/tasks?date=9999-12-31", None, "date"),
    ("hr", Role.HR_ADMIN, "POST", "/assessments",
     {"staff_id": str(uuid4()), "period_start": "9999-12-01", "period_end": "9999-12-31"},
     "period_start"),
    ("hr", Role.HR_ADMIN, "GET", "/assessments?period_start=9999-12-31", None, "period_start"),
    ("hr", Role.HR_ADMIN, "GET", "/kpi-templates/attendant/in-force?on=9999-12-31", None, "on"),
    ("hr", Role.HR_ADMIN, "PUT", "/kpi-templates/attendant/0001-01-01",
     {"items": [{"code": "punctuality", "weight": 100, "target": "100", "worst": "75"}]},
     "effective_from"),
]


@pytest.mark.parametrize(("service", "role", "method", "path", "body", "field"), CALENDAR_ENDS,
                         ids=[f"{c[0]} {c[2]} {c[3]}" for c in CALENDAR_ENDS])
async def test_a_day_at_the_calendars_end_is_a_422_naming_the_field(
        club, token, service, role, method, path, body, field):
    async with client(club[service].url, token(role)) as http:
        answer = await http.request(method, path, json=body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"] and "between 1900 and 2199" in answer.text


async def test_a_task_due_in_a_nonsense_year_is_refused(club, token):
    async with client(club["crm"].url, token(Role.CRM_SPECIALIST)) as http:
        answer = await http.post(f"/complaints/{uuid4()}/tasks", json={
            "department": "front desk", "description": "call back",
            "due_at": "0002-01-01T00:00:00Z"})
    assert answer.status_code == 422, answer.text
    assert "due_at" in answer.json()["detail"]
