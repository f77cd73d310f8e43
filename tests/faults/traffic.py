"""Traffic for the consumer-side fault tests (issue 9, faults 1, 4 and 5).

- `valid_event(topic)`: a contract event of any consumed topic, each about an aggregate of its
  own (its Kafka key), so that what a consumer did with it can be counted in its database;
- `poison(topic, n)`: `n` records a consumer must dead-letter, of every kind the consumer
  runner knows (not JSON, schema-invalid, no or broken CloudEvents headers, non-UTF-8
  headers, an unknown `ce_type`, and events the handler refuses), each with the reason and
  the words of the error it must be dead-lettered with;
- `Producer`: publishes tens of thousands of records quickly (pipelined, not one round trip
  per record), in order per partition;
- `ServiceData`: counts in a service's own database, and `Effect`: the row each event leaves
  there, per service and topic.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from club_contracts import (
    AttendanceClocked,
    BookingCancelled,
    BookingCreated,
    BookingNoShow,
    BookingRescheduled,
    ComplaintEscalated,
    ComplaintOpened,
    ComplaintResolved,
    CustomerErased,
    DisciplineOpened,
    DisciplineRecorded,
    Event,
    FollowupCompleted,
    ImprovementActionCompleted,
    IncidentReported,
    PolicyRevised,
    SafetyFindingClosed,
    SafetyFindingOpened,
    SafetyFindingOverdue,
    ServiceDelivered,
    ShiftChanged,
    StaffChanged,
    StaffHired,
    StaffOffboarded,
    SurveySubmitted,
    TaskCompleted,
    TaskOverdue,
    TrainingAssigned,
    VisitCheckedIn,
    VisitCompleted,
)
from club_platform.db import Database
from club_platform.envelope import Envelope, encode, envelope_for
from club_platform.kafka import KafkaConnection, reliable_producer
from prometheus_client.parser import text_string_to_metric_families

Headers = list[tuple[str, bytes]]

# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Record:
    """One Kafka record as it goes on the bus; `event`/`envelope` for valid ones."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers
    event: Event | None = None
    envelope: Envelope | None = None


def record_of(event: Event, envelope: Envelope | None = None) -> Record:
    envelope = envelope or envelope_for(event)
    key, value, headers = encode(event, envelope)
    return Record(event.topic, key, value, headers, event, envelope)


class Producer:
    """Pipelined publishing: up to `window` records in flight, acknowledged by every replica
    (the platform's idempotent producer keeps per-partition order across retries)."""

    def __init__(self, kafka: KafkaConnection, window: int = 2000) -> None:
        self._producer = reliable_producer(kafka)
        self.window = window

    async def __aenter__(self) -> Producer:
        await self._producer.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._producer.stop()

    async def publish(self, records: Sequence[Record]) -> None:
        for start in range(0, len(records), self.window):
            pending = [
                await self._producer.send(r.topic, value=r.value, key=r.key, headers=r.headers)
                for r in records[start:start + self.window]
            ]
            await asyncio.gather(*pending)

    async def publish_paced(self, records: Sequence[Record], *, chunk: int = 250,
                            pause: float = 0.05) -> None:
        """A steady stream rather than one burst, so that a fault can land in its middle."""
        for start in range(0, len(records), chunk):
            await self.publish(records[start:start + chunk])
            await asyncio.sleep(pause)


# ---------------------------------------------------------------- valid events


def _ago(rng: random.Random, *, days: float = 20) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=rng.uniform(600, days * 86_400))


def valid_event(topic: str, rng: random.Random, staff: Sequence[UUID] = ()) -> Event:
    """A valid event of `topic` about a new aggregate; staff ids are drawn from `staff` (or
    made up), so that HR's per-staff facts land on a known team."""
    team = list(staff) or [uuid4() for _ in range(5)]

    def someone() -> UUID:
        return rng.choice(team)

    def some(k: int) -> list[UUID]:
        return rng.sample(team, min(k, len(team)))

    at = _ago(rng)
    match topic:
        case "booking.created":
            return BookingCreated(
                booking_id=uuid4(), customer_id=uuid4(), resource_id=uuid4(),
                service_code="fault-game", channel=rng.choice(["online", "offline"]),
                starts_at=at + timedelta(days=30), ends_at=at + timedelta(days=30, minutes=30),
                party_size=rng.randint(1, 4), staff_id=None, created_by=uuid4(), created_at=at)
        case "booking.rescheduled":
            return BookingRescheduled(
                booking_id=uuid4(), customer_id=uuid4(), resource_id=uuid4(),
                previous_starts_at=at + timedelta(days=3),
                previous_ends_at=at + timedelta(days=3, minutes=30),
                starts_at=at + timedelta(days=4), ends_at=at + timedelta(days=4, minutes=30),
                rescheduled_by=uuid4(), rescheduled_at=at)
        case "booking.cancelled":
            return BookingCancelled(booking_id=uuid4(), customer_id=uuid4(),
                                    reason="customer_request", late=rng.random() < 0.2,
                                    cancelled_by=uuid4(), cancelled_at=at)
        case "booking.no_show":
            return BookingNoShow(booking_id=uuid4(), customer_id=uuid4(), resource_id=uuid4(),
                                 starts_at=at, marked_at=at + timedelta(minutes=20))
        case "visit.checked_in":
            # A walk-in: booking has nothing to fulfil (see the booking README); the visits
            # that name a real booking are made by the test through booking's API.
            return VisitCheckedIn(visit_id=uuid4(), booking_id=None, customer_id=uuid4(),
                                  location_id=uuid4(), host_staff_id=someone(), walk_in=True,
                                  checked_in_at=at)
        case "visit.completed":
            host, served = someone(), some(rng.randint(0, 2))
            services = [ServiceDelivered(service_code="fault-game", staff_id=s,
                                         started_at=at - timedelta(minutes=50),
                                         ended_at=at - timedelta(minutes=20))
                        for s in some(rng.randint(0, 2))]
            return VisitCompleted(visit_id=uuid4(), booking_id=None, customer_id=uuid4(),
                                  location_id=uuid4(), host_staff_id=host, staff_ids=served,
                                  services=services, checked_in_at=at - timedelta(hours=1),
                                  completed_at=at)
        case "incident.reported":
            return IncidentReported(
                incident_id=uuid4(), category=rng.choice(["safety", "facility", "other"]),
                severity=rng.choice(["low", "medium"]), location_id=uuid4(),
                reported_by=someone(), occurred_at=at - timedelta(minutes=rng.randint(1, 90)),
                reported_at=at)
        case "safety.finding_opened":
            return SafetyFindingOpened(
                finding_id=uuid4(), round_id=uuid4(), area=rng.choice(["pool", "gym", "lobby"]),
                item="floor_dry", owner_id=someone(), due_at=at + timedelta(hours=4),
                opened_at=at)
        case "safety.finding_overdue":
            return SafetyFindingOverdue(
                finding_id=uuid4(), owner_id=someone(), due_at=at - timedelta(hours=1),
                escalated_to_role=rng.choice(["deputy", "head"]), overdue_at=at)
        case "safety.finding_closed":
            due = at + timedelta(hours=rng.choice([-2, 2]))
            return SafetyFindingClosed(
                finding_id=uuid4(), owner_id=someone(), closed_by=someone(), due_at=due,
                closed_at=at, on_time=at <= due)
        case "customer.erased":
            return CustomerErased(customer_id=uuid4(), erased_at=at)
        case "task.completed":
            due = at + timedelta(hours=rng.choice([-2, 2]))
            return TaskCompleted(task_id=uuid4(), owner_id=someone(), completed_by=someone(),
                                 due_at=due, completed_at=at, on_time=at <= due)
        case "task.overdue":
            return TaskOverdue(task_id=uuid4(), owner_id=someone(), due_at=at,
                               escalated_to_role="deputy", overdue_at=at + timedelta(hours=1))
        case "improvement.action_completed":
            due = at + timedelta(days=rng.choice([-1, 1]))
            return ImprovementActionCompleted(action_id=uuid4(), meeting_id=uuid4(),
                                              owner_id=someone(), due_at=due, completed_at=at,
                                              on_time=at <= due)
        case "complaint.escalated":
            return ComplaintEscalated(complaint_id=uuid4(), level=1, reason="sla_breach",
                                      escalated_to_role="deputy", escalated_at=at,
                                      breached="first_response", due_at=at - timedelta(hours=1),
                                      held_by=someone())
        case "discipline.recorded":
            return DisciplineRecorded(case_id=uuid4(), staff_id=someone(), rule_ref="R2 §6.1",
                                      violation="late_arrival", action="verbal_warning",
                                      decided_by=someone(), decided_at=at)
        case "discipline.opened":
            return DisciplineOpened(case_id=uuid4(), staff_id=someone(), rule_ref="R2 §6.1",
                                    violation="late_arrival", origin="attendance",
                                    occurred_at=at - timedelta(minutes=5), opened_at=at)
        case "training.assigned":
            return TrainingAssigned(session_id=uuid4(), staff_id=someone(), clause="R2 §4.2",
                                    starts_at=at + timedelta(days=3),
                                    ends_at=at + timedelta(days=3, hours=2), assigned_at=at)
        case "shift.changed":
            return ShiftChanged(shift_id=uuid4(), staff_id=someone(),
                                change=rng.choice(["scheduled", "cancelled"]),
                                starts_at=at + timedelta(days=1),
                                ends_at=at + timedelta(days=1, hours=8), changed_by=someone(),
                                changed_at=at)
        case "policy.revised":
            return PolicyRevised(policy_id=uuid4(), version=rng.randint(1, 5),
                                 title="Service standards", effective_at=at,
                                 requires_training=rng.random() < 0.5)
        case "complaint.opened":
            return ComplaintOpened(
                complaint_id=uuid4(), customer_id=uuid4(), subject_staff_ids=some(1),
                category=rng.choice(["service", "facility", "staff_conduct"]),
                severity=rng.choice(["low", "medium", "high"]), channel="phone", opened_at=at,
                sla_due_at=at + timedelta(hours=48))
        case "complaint.resolved":
            upheld = rng.random() < 0.25
            return ComplaintResolved(
                complaint_id=uuid4(), customer_id=uuid4(), handled_by=someone(),
                subject_staff_ids=some(rng.randint(1, 2)), upheld=upheld,
                resolution="explained and apologised", opened_at=at - timedelta(hours=30),
                resolved_at=at, within_sla=True)
        case "followup.completed":
            due = at + timedelta(hours=rng.choice([-2, 2]))
            return FollowupCompleted(
                followup_id=uuid4(), customer_id=uuid4(), reason="post_visit",
                visit_id=uuid4(), staff_id=someone(), due_at=due, completed_at=at,
                outcome=rng.choice(["satisfied", "neutral", "unreachable"]))
        case "survey.submitted":
            return SurveySubmitted(response_id=uuid4(), customer_id=uuid4(), visit_id=uuid4(),
                                   staff_ids=some(rng.randint(0, 2)), csat=rng.randint(1, 5),
                                   nps=rng.randint(0, 10), submitted_at=at)
        case "staff.hired":
            return StaffHired(staff_id=uuid4(), display_name="New Colleague", role="attendant",
                              department="service", hired_at=at)
        case "staff.changed":
            return StaffChanged(staff_id=uuid4(), role="attendant",
                                status=rng.choice(["active", "suspended"]), effective_at=at)
        case "staff.offboarded":
            return StaffOffboarded(staff_id=uuid4(), effective_at=at)
        case "attendance.clocked":
            # In the past: a clocking from the future is refused (see `poison`).
            return AttendanceClocked(staff_id=someone(), direction=rng.choice(["in", "out"]),
                                     at=datetime.now(UTC) - timedelta(
                                         minutes=rng.uniform(1, 20 * 24 * 60)),
                                     device_id=uuid4())
    raise ValueError(f"no valid events of {topic} here")


# ---------------------------------------------------------------- poison


@dataclass(frozen=True)
class Poison:
    """A record the consumer must dead-letter: `reason` is the expected `dlq_reason`, and
    `error` words the `dlq_error` must contain. The key tells the poison records apart."""

    kind: str
    record: Record
    reason: str
    error: str

    @property
    def key(self) -> bytes:
        assert self.record.key is not None
        return self.record.key


# What a handler refuses, per consumer and topic (see each service's handlers): a check-in
# for a booking booking never made, and a door clocking from a reader whose clock runs ahead.
REFUSED = {
    ("booking", "visit.checked_in"): "never made",
    ("hr", "attendance.clocked"): "ahead of HR's clock",
}

# Of each hundred poison records on a topic: how many of each kind.
MIX = {"not_json": 20, "schema_invalid": 25, "no_envelope": 15, "bad_envelope": 15,
       "non_utf8_header": 10, "unknown_type": 15}
REFUSED_SHARE = 10  # taken from schema_invalid where a handler refuses events


def _refused_event(topic: str) -> Event:
    now = datetime.now(UTC)
    if topic == "visit.checked_in":
        return VisitCheckedIn(visit_id=uuid4(), booking_id=uuid4(), customer_id=uuid4(),
                              location_id=uuid4(), host_staff_id=uuid4(), walk_in=False,
                              checked_in_at=now)
    return AttendanceClocked(staff_id=uuid4(), direction="in", at=now + timedelta(days=2),
                             device_id=uuid4())


def poison(topic: str, count: int, rng: random.Random, *,
           refused: bool = False) -> list[Poison]:
    """`count` poison records for `topic`, in the proportions of `MIX` (plus events the
    topic's handler refuses, when `refused`)."""
    mix = dict(MIX)
    if refused:
        mix["schema_invalid"] -= REFUSED_SHARE
        mix["refused"] = REFUSED_SHARE
    kinds = [kind for kind, share in mix.items() for _ in range(share)]
    return [_poison(kinds[n * len(kinds) // count], topic, n, rng) for n in range(count)]


def _poison(kind: str, topic: str, n: int, rng: random.Random) -> Poison:
    template = valid_event(topic, rng)
    envelope = envelope_for(template)
    headers = envelope.headers()
    data = json.loads(template.to_json())
    key = f"poison-{kind}-{n}-{secrets.token_hex(4)}".encode()

    def made(value: bytes | None, hdrs: Headers, reason: str, error: str) -> Poison:
        return Poison(kind, Record(topic, key, value, hdrs), reason, error)

    variant = n % 4
    if kind == "not_json":
        value, error = [
            (b"\x00\x01\x02 definitely not json", "Invalid JSON"),
            (template.to_json()[:-7], "Invalid JSON"),  # cut short in the middle
            (b"<visit><id>42</id></visit>", "Invalid JSON"),
            (b"", "empty value"),
        ][variant]
        return made(value, headers, "undecodable", error)
    if kind == "schema_invalid":
        bad = dict(data)
        first = next(iter(bad))
        if variant == 0:
            del bad[first]  # a required field missing
            error = f"{first}: Field required"
        elif variant == 1:
            bad[first] = "not-a-uuid" if first.endswith("_id") else {"nested": True}
            error = first
        elif variant == 2:
            time_field = next(k for k, v in data.items()
                              if isinstance(v, str) and v.endswith("Z"))
            bad[time_field] = data[time_field][:19]  # a time with no zone
            error = time_field
        else:
            bad = [data]  # an array, not an object
            error = "(root)"
        return made(json.dumps(bad).encode(), headers, "schema_invalid", error)
    if kind == "no_envelope":
        if variant in (0, 1):  # a plain JSON producer: no CloudEvents headers at all
            return made(template.to_json(), [], "undecodable", "missing CloudEvents headers")
        drop = "ce_id" if variant == 2 else "ce_type"
        return made(template.to_json(), [h for h in headers if h[0] != drop], "undecodable",
                    f"missing CloudEvents headers: {drop}")
    if kind == "bad_envelope":
        name, value, error = [
            ("ce_specversion", b"0.3", "unsupported specversion"),
            ("ce_id", b"order-42", "is not a UUID"),
            ("ce_time", b"yesterday at noon", "is not RFC 3339"),
            ("content-type", b"application/xml", "unsupported content-type"),
        ][variant]
        hdrs = [(k, value if k == name else v) for k, v in headers]
        if name not in dict(hdrs):
            hdrs.append((name, value))
        return made(template.to_json(), hdrs, "undecodable", error)
    if kind == "non_utf8_header":
        name = ["ce_type", "ce_id", "ce_source", "ce_time"][variant]
        hdrs = [(k, b"\xff\xfe\xc3(" if k == name else v) for k, v in headers]
        return made(template.to_json(), hdrs, "undecodable", f"header {name} is not UTF-8")
    if kind == "unknown_type":
        aggregate = topic.split(".")[0]
        strange = [f"club.{aggregate}.teleported.v1", f"com.example.{topic}.v1",
                   f"club.{topic}", f"club.{topic}.v1.beta"][variant]
        hdrs = [(k, strange.encode() if k == "ce_type" else v) for k, v in headers]
        return made(template.to_json(), hdrs, "undecodable", "unknown event type")
    if kind == "refused":
        event = _refused_event(topic)
        _key, value, hdrs = encode(event, envelope_for(event))
        error = next(words for (_, refused), words in REFUSED.items() if refused == topic)
        return Poison(kind, Record(topic, key, value, hdrs, event), "unprocessable", error)
    raise ValueError(kind)


# ---------------------------------------------------------------- counting


class ServiceData:
    """Counts in one service's own database (the URL a spawned process was given)."""

    def __init__(self, url: str) -> None:
        self.database = Database(url, pool_size=2, application_name="fault-test")

    async def scalar(self, sql: str, **params: object) -> int:
        async with self.database.transaction() as session:
            return int(await session.scalar(sa.text(sql), params) or 0)

    async def execute(self, sql: str) -> None:
        async with self.database.transaction() as session:
            await session.execute(sa.text(sql))

    async def inbox(self, consumer: str, topic: str | None = None,
                    events: Iterable[UUID] | None = None) -> int:
        """Events the consumer recorded as handled (the inbox row commits with the effects)."""
        sql = "SELECT count(*) FROM inbox WHERE consumer = :consumer"
        params: dict[str, object] = {"consumer": consumer}
        if topic is not None:
            sql += " AND topic = :topic"
            params["topic"] = topic
        if events is not None:
            sql += " AND event_id = ANY(:events)"
            params["events"] = list(events)
        return await self.scalar(sql, **params)

    async def close(self) -> None:
        await self.database.dispose()


@dataclass(frozen=True)
class Effect:
    """The row a handled event leaves in its consumer's database: `sql` counts the rows for
    the given aggregate ids (`:keys`) or event ids (`:events`)."""

    what: str
    sql: str
    by: str = "keys"  # or "events", or "bookings" (the booking ids the events name)

    async def count(self, data: ServiceData, records: Sequence[Record]) -> int:
        if self.by == "keys":
            return await data.scalar(self.sql, keys=[UUID(r.key.decode()) for r in records])
        if self.by == "bookings":
            return await data.scalar(self.sql, bookings=[
                r.event.booking_id for r in records if r.event.booking_id is not None])
        return await data.scalar(self.sql, events=[r.envelope.id for r in records])


def _fact(kind: str) -> Effect:
    return Effect(f"KPI facts ({kind})", "SELECT count(*) FROM kpi_facts WHERE kind = "
                  f"'{kind}' AND subject_id = ANY(:keys)")


def _message(kind: str) -> Effect:
    return Effect(f"staff messages ({kind})", "SELECT count(*) FROM notifications WHERE "
                  f"kind = '{kind}' AND source_event_id = ANY(:events)", by="events")


_ARRIVALS = "SELECT count(*) FROM expected_arrivals WHERE booking_id = ANY(:keys)"

# Per service and consumed topic. Reception's customer.erased (no notes about these
# customers) leaves nothing but the inbox row; a walk-in's visit.checked_in leaves nothing
# at booking (only a check-in naming a booking fulfils it).
EFFECTS: dict[tuple[str, str], Effect | None] = {
    ("booking", "visit.checked_in"): Effect(
        "bookings fulfilled", "SELECT count(*) FROM bookings WHERE id = ANY(:bookings) "
        "AND status = 'fulfilled'", by="bookings"),
    ("booking", "customer.erased"): Effect(
        "erased-customer tombstones",
        "SELECT count(*) FROM erased_customers WHERE customer_id = ANY(:keys)"),
    ("reception", "booking.created"): Effect("expected arrivals",
                                             _ARRIVALS + " AND booked_at IS NOT NULL"),
    ("reception", "booking.rescheduled"): Effect("expected arrivals, moved",
                                                 _ARRIVALS + " AND starts_at IS NOT NULL"),
    ("reception", "booking.cancelled"): Effect("expected arrivals, cancelled",
                                               _ARRIVALS + " AND cancelled_at IS NOT NULL"),
    ("reception", "staff.hired"): Effect(
        "staff directory", "SELECT count(*) FROM staff WHERE staff_id = ANY(:keys)"),
    ("reception", "staff.changed"): Effect(
        "staff standings", "SELECT count(*) FROM staff_standings WHERE staff_id = ANY(:keys) "
        "AND status <> 'offboarded'"),
    ("reception", "staff.offboarded"): Effect(
        "staff standings, offboarded", "SELECT count(*) FROM staff_standings "
        "WHERE staff_id = ANY(:keys) AND status = 'offboarded'"),
    ("reception", "customer.erased"): None,
    ("crm", "visit.completed"): Effect(
        "visits", "SELECT count(*) FROM visits WHERE visit_id = ANY(:keys)"),
    ("crm", "booking.no_show"): Effect(
        "no-shows", "SELECT count(*) FROM no_shows WHERE booking_id = ANY(:keys)"),
    ("crm", "staff.hired"): Effect(
        "staff directory", "SELECT count(*) FROM staff WHERE staff_id = ANY(:keys) "
        "AND hired_at IS NOT NULL"),
    ("crm", "staff.changed"): Effect(
        "staff directory", "SELECT count(*) FROM staff WHERE staff_id = ANY(:keys) "
        "AND status IN ('active', 'suspended')"),
    ("crm", "staff.offboarded"): Effect(
        "staff directory", "SELECT count(*) FROM staff WHERE staff_id = ANY(:keys) "
        "AND status = 'offboarded'"),
    # CRM's messages (services/crm/tests/test_notifications.py counts them against a real
    # inbox): whether an event of random ids writes one depends on contacts these runs do not
    # create, so here only the inbox (processed once) and the dead letters are counted.
    ("crm", "booking.created"): None,
    ("crm", "booking.rescheduled"): None,
    ("crm", "booking.cancelled"): None,
    ("crm", "complaint.opened"): None,
    ("crm", "complaint.escalated"): None,
    ("crm", "complaint.resolved"): None,
    ("crm", "customer.erased"): None,
    ("crm", "discipline.recorded"): None,
    ("crm", "policy.revised"): None,
    # A staff message is written for each of these whatever the contacts (the sender looks
    # the address up later): one row per event, counted by the event that wrote it.
    ("crm", "discipline.opened"): _message("discipline_opened"),
    ("crm", "training.assigned"): _message("training_assigned"),
    ("crm", "shift.changed"): _message("shift_changed"),
    # The facts the service meetings' agendas count (R2 §9.1): one row per incident or
    # finding, its state the latest of its events.
    ("crm", "incident.reported"): Effect(
        "incidents seen", "SELECT count(*) FROM incidents_seen WHERE incident_id = ANY(:keys)"),
    ("crm", "safety.finding_opened"): Effect(
        "safety findings, open", "SELECT count(*) FROM safety_findings "
        "WHERE finding_id = ANY(:keys) AND area IS NOT NULL"),
    ("crm", "safety.finding_overdue"): Effect(
        "safety findings, overdue", "SELECT count(*) FROM safety_findings "
        "WHERE finding_id = ANY(:keys) AND state = 'overdue'"),
    ("crm", "safety.finding_closed"): Effect(
        "safety findings, closed", "SELECT count(*) FROM safety_findings "
        "WHERE finding_id = ANY(:keys) AND state = 'closed'"),
    ("hr", "complaint.escalated"): _fact("escalation"),
    ("hr", "visit.completed"): _fact("visit"),
    ("hr", "survey.submitted"): _fact("survey"),
    ("hr", "complaint.opened"): _fact("complaint"),
    ("hr", "complaint.resolved"): _fact("complaint_resolved"),
    ("hr", "followup.completed"): _fact("followup"),
    ("hr", "incident.reported"): _fact("incident_reported"),
    ("hr", "task.completed"): _fact("task"),
    ("hr", "task.overdue"): _fact("task"),
    ("hr", "safety.finding_closed"): _fact("finding_closed"),
    ("hr", "improvement.action_completed"): _fact("improvement_action"),
    ("hr", "attendance.clocked"): Effect(
        "clockings", "SELECT count(*) FROM clockings WHERE source_event_id = ANY(:events)",
        by="events"),
    ("hr", "customer.erased"): Effect(
        "erased-customer tombstones",
        "SELECT count(*) FROM erased_customers WHERE customer_id = ANY(:keys)"),
}


# ---------------------------------------------------------------- the processes' own counts


async def consumer_counts(url: str) -> dict[str, float]:
    """A process's `club_consumer_events_total` by outcome (its Prometheus endpoint)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{url}/metrics")).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "club_consumer_events":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                outcome = sample.labels["outcome"]
                totals[outcome] = totals.get(outcome, 0) + sample.value
    return totals


@dataclass
class HealthWatch:
    """Polls a service's readiness and one of its reads while a fault goes on, and counts the
    answers: a fault must never turn into a 5xx (an unreachable process answers nothing)."""

    url: str
    token: str
    path: str
    answers: list[int] = field(default_factory=list)
    _task: asyncio.Task | None = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5, headers={
                "Authorization": f"Bearer {self.token}"}) as http:
            while True:
                for path in ("/health/ready", self.path):
                    try:
                        self.answers.append((await http.get(f"{self.url}{path}")).status_code)
                    except httpx.TransportError:
                        pass  # killed, or not up yet: no answer, not an error answer
                await asyncio.sleep(0.5)

    def start(self) -> HealthWatch:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def server_errors(self) -> int:
        return sum(1 for status in self.answers if status >= 500)

    @property
    def answered_well(self) -> bool:
        """It was asked, and every answer was a success (so the watch watched something)."""
        return bool(self.answers) and all(200 <= status < 300 for status in self.answers)


async def group_members(kafka: KafkaConnection, group: str) -> tuple[str, int]:
    """A consumer group's state (`Stable`, `PreparingRebalance`, …) and how many members it
    has, as the broker's coordinator sees them."""
    admin = AIOKafkaAdminClient(**kafka.client_args())
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    (described,) = response.to_object()["groups"]
    return described["state"], len(described["members"])
