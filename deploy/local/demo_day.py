"""The demo day: one club day driven through the four services' public HTTP APIs.

Every step is what a person (or the door system) at the club would do, with a bearer token for
their role signed with the local secret (`club_platform.auth.issue_token`, local development
only). Nothing reaches into a database; every asynchronous effect (a service reacting to
another's event) is waited for by polling the API that shows it.

**Which day.** HR assesses only periods that are over (whole days of the club's time zone,
`CLUB_TIME_ZONE`, R2 §5.1), and a
complaint's first-response deadline is an hour at the least (R2 §3.3). So the demo day is
*yesterday* (or, when an earlier run already lives there, the latest day before it with no
bookings): the local services read their time from an offset clock
(`club_platform.clock.OffsetClock`, development only), which this driver sets to that day's
07:30 club time, moves forward through the day as things happen (a jump past a deadline is time
passing, so the complaint's SLA is really missed and CRM's own SLA job escalates it), and
finally removes, so every service is back on the real time. Then HR assesses the day, a
period that is over, from the day's events. Door clockings carry the day's times.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid4

import httpx
from club_contracts import AttendanceClocked, event_types
from club_platform.auth import issue_token
from club_platform.clock import OffsetClock, write_clock_offset
from club_platform.envelope import encode, envelope_for
from club_platform.kafka import KafkaConnection, reliable_producer
from club_platform.settings import DEFAULT_CLUB_TIME_ZONE, zone_named

SERVICES = ("booking", "reception", "crm", "hr")
WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WAIT_SECONDS = 120.0  # the longest any asynchronous effect may take before the day fails

# The catalogue: code, name, minutes, buffer after, resource kind, location kind, resources.
CATALOGUE = (
    ("sports-massage", "Sports massage", 60, 15, "treatment_room", "room",
     ("Treatment room 1", "Treatment room 2")),
    ("squash-hour", "Squash, coached hour", 45, 15, "court", "court",
     ("Squash court A", "Squash court B")),
    ("afternoon-tea", "Afternoon tea", 45, 15, "table", "table",
     ("Garden table 1", "Garden table 2")),
)
EXTRA_SERVICE = ("refreshments", 10)  # served after half the visits, by a second attendant
WALK_IN_SERVICE = ("sauna", 30)  # what walk-ins come for, in the lounge
LOUNGE = "Lounge"

STAFF = (  # display name, role
    ("Hana Okafor", "hr_admin"),
    ("Wei Zhang", "head"),
    ("Maria Rossi", "deputy"),
    ("Tom Becker", "attendant"),
    ("Aisha Rahman", "attendant"),
    ("Luis Ortega", "attendant"),
    ("Mei Lin", "attendant"),
    ("Sofia Nowak", "crm_specialist"),
    ("Jonas Berg", "crm_specialist"),
)
MEMBERS = ("Ana Lopez", "Ben Carter", "Chen Jie", "Dara Singh", "Eva Müller", "Farid Haddad",
           "Grace Kim", "Hugo Silva", "Ines Costa", "Jun Park", "Kofi Mensah", "Lena Weber",
           "Mateo Ruiz", "Nora Hansen", "Omar Aziz", "Pia Laine", "Quinn Walsh", "Rosa Diaz",
           "Sam Ito", "Tara Bose", "Umar Khan", "Vera Novak", "Will Grant", "Yuki Sato")
WALK_INS = ("Zoe Adams", "Yusuf Demir", "Xenia Petrova", "Victor Hugo", "Uma Reddy",
            "Theo Martin")
CSAT = (5, 4, 5, 4, 3, 5, 4, 5, 4, 5)  # what the customers answer, in turn


class DemoError(Exception):
    """The day cannot go on: a service answered something unexpected, or an effect never
    showed."""


class Narrator(Protocol):
    """Where the day reports its progress (a rich display on a terminal, nothing in tests)."""

    def phase(self, title: str, steps: int) -> None: ...
    def step(self, text: str | None = None) -> None: ...
    def clock(self, moment: datetime) -> None: ...


class Silent:
    def phase(self, title: str, steps: int) -> None:
        pass

    def step(self, text: str | None = None) -> None:
        pass

    def clock(self, moment: datetime) -> None:
        pass


@dataclass(frozen=True)
class DemoConfig:
    urls: dict[str, str]  # service → base URL
    jwt_secret: str
    door: KafkaConnection  # how the door system reaches Kafka
    clock_file: Path  # the services' OffsetClock file
    members: int = 12  # the size of the day: registered members (at least 6)
    day: date | None = None  # the club day; yesterday (the club's) by default
    mailpit_url: str | None = None  # the local inbox, to count what the day sent
    # The sign-in provider's demo users, role → their `club_id` (deploy/local/keycloak.py
    # DEMO_IDS): the day hires its first staff member of each role, and registers its first
    # member, under that id, so signing in to the console as them shows this day. When an
    # earlier day already took an id, this day hires someone new in that place and the demo
    # user keeps the earlier day.
    sign_in_ids: dict[str, UUID] = field(default_factory=dict)
    # After the day, on the real clock: today's expected arrivals and guests on the floor, so
    # the console's front desk (which shows the club's today) opens on a working day.
    desk_today: bool = False


@dataclass(eq=False)  # one person, one object: compared and hashed by identity
class Person:
    id: UUID
    name: str
    role: str
    secret: str = field(repr=False)
    _token: str | None = field(default=None, repr=False)

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = issue_token(self.secret, subject=self.id, role=self.role,
                                      name=self.name, ttl=timedelta(hours=12))
        return self._token


@dataclass
class Visit:
    customer: Person
    service: str
    starts_at: datetime
    ends_at: datetime
    host: Person
    second: Person | None  # serves the refreshments after the main service
    booking_id: str | None = None  # None: a walk-in
    location_id: str = ""
    visit_id: str | None = None
    staff: list[Person] = field(default_factory=list)


@dataclass
class DayReport:
    """What the day did, as the services' APIs show it afterwards."""

    day: date
    urls: dict[str, str]
    staff: list[dict] = field(default_factory=list)
    counts: dict[str, dict[str, Any]] = field(default_factory=dict)
    assessments: list[dict] = field(default_factory=list)
    open_cases: list[dict] = field(default_factory=list)
    escalated: list[dict] = field(default_factory=list)
    # The events the day caused: topic → how many, and the keys they carry.
    expected_events: Counter = field(default_factory=Counter)
    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    # The messages the day sent, by kind: from CRM's delivery log, and as the inbox got them.
    sent: Counter = field(default_factory=Counter)
    inbox: Counter = field(default_factory=Counter)
    # Every message's end state by kind (reminders may be withdrawn when their booking began
    # before the sender reached them: the demo clock jumps).
    delivery: dict[str, Counter] = field(default_factory=dict)
    # What the day left for the front desk today (DemoConfig.desk_today): arrivals, the floor.
    today: dict[str, list[str]] = field(default_factory=dict)

    def expect(self, topic: str, key: object, count: int = 1) -> None:
        # A topic with a deprecated major carries each change once per major published.
        self.expected_events[topic] += count * len(
            {t.major for t in event_types() if t.topic == topic})
        self.keys[topic].add(str(key))


class Api:
    """One service's public HTTP API."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.url, timeout=30)

    async def call(self, method: str, path: str, who: Person | None, *,
                   expect: tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if who is not None:
            headers["Authorization"] = f"Bearer {who.token}"
        if method == "POST":
            headers.setdefault("Idempotency-Key", str(uuid4()))
        answer = await self.http.request(method, path, headers=headers, **kwargs)
        if answer.status_code not in expect:
            raise DemoError(f"{self.name} {method} {path} answered {answer.status_code}: "
                            f"{answer.text[:600]}")
        return answer.json() if answer.content else None

    async def get(self, path: str, who: Person | None, **kwargs: Any) -> Any:
        return await self.call("GET", path, who, **kwargs)

    async def post(self, path: str, who: Person | None, json: Any = None, **kwargs: Any) -> Any:
        return await self.call("POST", path, who, json=json, **kwargs)

    async def put(self, path: str, who: Person | None, json: Any = None, **kwargs: Any) -> Any:
        return await self.call("PUT", path, who, json=json, **kwargs)

    async def close(self) -> None:
        await self.http.aclose()


class ClubClock:
    """The local platform's time: the demo day's moment, written for every service."""

    def __init__(self, path: Path, narrator: Narrator) -> None:
        self.path = path
        self.narrator = narrator
        self._clock = OffsetClock(path)  # what every service reads

    def now(self) -> datetime:
        return self._clock.now()

    def start_at(self, moment: datetime) -> None:
        """Take the platform to the morning of the demo day."""
        write_clock_offset(self.path, moment - datetime.now(UTC))
        self.narrator.clock(self.now())

    def move_to(self, moment: datetime) -> None:
        """Jump to `moment` (never back: time that passed stays passed)."""
        if moment > self.now():
            write_clock_offset(self.path, moment - datetime.now(UTC))
        self.narrator.clock(self.now())

    def back_to_now(self) -> None:
        self.path.unlink(missing_ok=True)
        self.narrator.clock(self.now())


class DoorSystem:
    """The staff entrance's badge reader: publishes `attendance.clocked` with the CloudEvents
    envelope, as an outside system would (the `door` principal where Kafka asks for one)."""

    DEVICE = UUID("5e1f0d00-d00d-4c0b-9a7e-000000000001")

    def __init__(self, connection: KafkaConnection) -> None:
        self.producer = reliable_producer(connection)

    async def __aenter__(self) -> DoorSystem:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def badge(self, person: Person, direction: str, at: datetime) -> None:
        event = AttendanceClocked(staff_id=person.id, direction=direction, at=at,
                                  device_id=self.DEVICE)
        key, value, headers = encode(event, envelope_for(event, time=at))
        await self.producer.send_and_wait(event.topic, value=value, key=key, headers=headers)


async def until(what: str, probe: Callable[[], Awaitable[Any]],
                timeout: float = WAIT_SECONDS) -> Any:
    """Poll `probe` until it returns something truthy (an effect of events travelling)."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoError(f"{what}: not seen within {timeout:.0f}s")
        await asyncio.sleep(0.2)


# The club's time zone, as every service reads it: the day's times are the club's.
CLUB_ZONE = zone_named(os.environ.get("CLUB_TIME_ZONE") or DEFAULT_CLUB_TIME_ZONE)


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime(day.year, day.month, day.day, int(hours), int(minutes), tzinfo=CLUB_ZONE)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ClubDay:
    def __init__(self, config: DemoConfig, narrator: Narrator) -> None:
        if config.members < 6:
            raise DemoError("the demo day needs at least 6 members")
        self.config = config
        self.narrator = narrator
        self.day = config.day or (datetime.now(CLUB_ZONE) - timedelta(days=1)).date()
        self.clock = ClubClock(config.clock_file, narrator)
        self.api = {name: Api(name, config.urls[name]) for name in SERVICES}
        self.report = DayReport(day=self.day, urls=dict(config.urls))
        # keeps e-mail addresses and phone numbers unique when the day is run again
        self.run_tag = f"{uuid4().int % 10_000:04d}"
        self.staff: dict[str, Person] = {}
        self.contacts: dict[str, dict] = {}  # staff name → the work e-mail and language
        self.members: list[Person] = []
        self.walk_ins: list[Person] = []
        self.resources: dict[str, list[dict]] = {}
        self.locations: dict[str, str] = {}
        self.visits: list[Visit] = []
        self.bookings: dict[str, dict] = {}
        self.no_show_booking: str | None = None
        self.cancelled_booking: str | None = None
        self.complaints: dict[str, dict] = {}  # complaint id → what the day knows of it
        self.followups_done: dict[UUID, int] = Counter()
        self.surveys: list[dict] = []
        self.door: DoorSystem | None = None
        # The department's own work: the morning briefing, a safety round's finding.
        self.briefing_checklist: list[str] = []
        self.briefing_task: str | None = None
        self.finding: str | None = None
        self.finding_owner: Person | None = None
        # The roles whose demo user's id this day has offered to someone (DemoConfig.sign_in_ids).
        self.ids_offered: set[str] = set()
        self.demo_member: Person | None = None  # the member the provider's demo user signs in as

    # ------------------------------------------------------------------ people

    def person(self, name: str, role: str, person_id: UUID | None = None) -> Person:
        return Person(person_id or uuid4(), name, role, self.config.jwt_secret)

    def sign_in_id(self, role: str) -> UUID | None:
        """The provider's demo user's id for the first person of `role` this day; None for the
        others (and when the day runs without demo users)."""
        if role in self.ids_offered:
            return None
        self.ids_offered.add(role)
        return self.config.sign_in_ids.get(role)

    def of_role(self, role: str) -> list[Person]:
        return [p for p in self.staff.values() if p.role == role]

    @property
    def admin(self) -> Person:
        return self.of_role("hr_admin")[0]

    @property
    def head(self) -> Person:
        return self.of_role("head")[0]

    @property
    def deputy(self) -> Person:
        return self.of_role("deputy")[0]

    @property
    def attendants(self) -> list[Person]:
        return self.of_role("attendant")

    @property
    def specialists(self) -> list[Person]:
        return self.of_role("crm_specialist")

    # ------------------------------------------------------------------ the day

    async def choose_day(self) -> None:
        """Yesterday, unless an earlier demo day already lives there: then the latest free day
        before it, so that each run has the club's rooms to itself."""
        if self.config.day is not None:
            return
        owner = self.person("the club", "head")
        for _ in range(60):
            day_start = at(self.day, "00:00")
            taken = await self.api["booking"].get("/bookings", owner, params={
                "starts_from": iso(day_start), "starts_before": iso(day_start + timedelta(days=1)),
                "limit": 1})
            if not taken:
                self.report.day = self.day
                return
            self.day -= timedelta(days=1)
        raise DemoError("every day of the last two months already has a demo day")

    async def run(self) -> DayReport:
        try:
            await self.choose_day()
            async with DoorSystem(self.config.door) as door:
                self.door = door
                await self.hire_the_staff()
                await self.set_up_the_club()
                await self.register_members()
                await self.take_bookings()
                await self.open_the_doors()
                await self.work_the_floor()
                await self.answer_surveys()
                await self.work_the_followups()
                await self.close_the_day()
            self.clock.back_to_now()
            await self.assess_the_staff()
            await self.decide_a_case()
            await self.sum_up()
            await self.count_the_messages()
            if self.config.desk_today:
                await self.leave_today_for_the_desk()
        finally:
            self.clock.back_to_now()
            for api in self.api.values():
                await api.close()
        self.report.finished_at = datetime.now(UTC)
        return self.report

    async def hire_the_staff(self) -> None:
        hr = self.api["hr"]
        self.narrator.phase("HR hires the staff and plans their shifts", len(STAFF) + 2)
        self.clock.start_at(at(self.day, "07:30"))
        name, role = STAFF[0]
        admin = self.person(name, role, self.sign_in_id(role))
        hired = await hr.post("/staff", admin, {"display_name": name, "role": role,
                                                "staff_id": str(admin.id)}, expect=(201, 409))
        if "hired_at" not in hired:  # the demo user's id, taken by an earlier day's
            admin = self.person(name, role)
            hired = await hr.post("/staff", admin, {"display_name": name, "role": role,
                                                    "staff_id": str(admin.id)})
        if abs(datetime.fromisoformat(hired["hired_at"]) - self.clock.now()) > timedelta(hours=1):
            raise DemoError("the hr service does not follow the demo clock: start the services "
                            "with deploy/local/services.py (it sets …_CLOCK_OFFSET_FILE)")
        self.staff[admin.name] = admin
        self.report.expect("staff.hired", admin.id)
        self.narrator.step(f"{name} ({role})")
        for name, role in STAFF[1:]:
            hired = {}
            demo_id = self.sign_in_id(role)
            if demo_id is not None:  # 409 when an earlier day hired the demo user's person
                hired = await hr.post("/staff", self.admin, {
                    "display_name": name, "role": role, "staff_id": str(demo_id)},
                    expect=(201, 409))
            if "hired_at" not in hired:
                hired = await hr.post("/staff", self.admin, {"display_name": name, "role": role})
            person = self.person(name, role, UUID(hired["staff_id"]))
            self.staff[name] = person
            self.report.expect("staff.hired", person.id)
            self.narrator.step(f"{name} ({role})")
        # Their work e-mail for the club's messages to them (CRM sends them; HR's events
        # carry no contact details), before their shifts: each shift is a message to them.
        for n, person in enumerate(self.staff.values()):
            handle = person.name.lower().replace(" ", ".")
            contact = {"email": f"{handle}.{self.run_tag}@staff.example.org",
                       "language": "zh-CN" if n % 2 else "en"}
            await self.api["crm"].call("PUT", f"/notifications/staff/{person.id}/contact",
                                       self.admin, json=contact)
            self.contacts[person.name] = contact
        for person in self.staff.values():
            if person.role == "hr_admin":
                continue
            starts, ends = (("08:30", "17:30") if person.role in ("head", "deputy")
                            else ("09:00", "17:00"))
            await hr.post("/shifts", self.admin, {
                "staff_id": str(person.id), "starts_at": iso(at(self.day, starts)),
                "ends_at": iso(at(self.day, ends))})
        self.narrator.step("shifts planned")
        # Reception and CRM learn who works here from HR's events.
        for person in self.staff.values():
            await until(f"reception knows {person.name}", lambda p=person: self._known(p))
        specialists = {str(p.id) for p in self.specialists}
        await until("CRM knows its specialists", lambda: self._crm_team(specialists))
        self.narrator.step("reception and CRM know the staff")

    async def _known(self, person: Person) -> bool:
        found = await self.api["reception"].get(f"/staff/{person.id}", self.head,
                                                expect=(200, 404))
        return bool(found and found.get("staff_id"))

    async def _crm_team(self, wanted: set[str]) -> bool:
        team = await self.api["crm"].get("/followups/team", self.head)
        return wanted <= {str(member["staff_id"]) for member in team}

    async def set_up_the_club(self) -> None:
        booking, reception = self.api["booking"], self.api["reception"]
        self.narrator.phase("The head sets up resources, catalogue, opening hours, locations",
                            len(CATALOGUE) + 1)
        self.clock.move_to(at(self.day, "07:40"))
        existing = {r["name"]: r for r in await booking.get("/resources", self.head)}
        known_locations = {loc["name"]: loc["location_id"] for loc in
                           await reception.get("/locations", self.head)}
        hours = [{"weekday": day, "opens_at": "08:00", "closes_at": "22:00"} for day in WEEK]
        for code, name, minutes, buffer, kind, location_kind, names in CATALOGUE:
            await self._catalogue_entry(code, name, minutes, buffer, kind)
            self.resources[code] = []
            for resource_name in names:
                resource = existing.get(resource_name)  # set up by an earlier demo day
                if resource is None:
                    resource = await booking.post("/resources", self.head, {
                        "name": resource_name, "kind": kind, "capacity": 4,
                        "location": "ground floor", "opening_hours": hours})
                self.resources[code].append(resource)
                if resource_name not in known_locations:
                    made = await reception.post("/locations", self.head, {
                        "name": resource_name, "kind": location_kind, "capacity": 4})
                    known_locations[resource_name] = made["location_id"]
                self.locations[resource["id"]] = known_locations[resource_name]
            self.narrator.step(name)
        if LOUNGE not in known_locations:
            made = await reception.post("/locations", self.head, {
                "name": LOUNGE, "kind": "lounge", "capacity": 20})
            known_locations[LOUNGE] = made["location_id"]
        self.locations[LOUNGE] = known_locations[LOUNGE]
        self.narrator.step("the lounge")

    async def _catalogue_entry(self, code: str, name: str, minutes: int, buffer: int,
                               kind: str) -> None:
        found = await self.api["booking"].get(f"/services/{code}", self.head, expect=(200, 404))
        if found and found.get("code") == code:
            return
        await self.api["booking"].post("/services", self.head, {
            "code": code, "name": name, "duration_minutes": minutes,
            "buffer_after_minutes": buffer, "resource_kinds": [kind]})

    async def register_members(self) -> None:
        crm = self.api["crm"]
        names = [MEMBERS[i % len(MEMBERS)] + ("" if i < len(MEMBERS) else f" {i // len(MEMBERS)}")
                 for i in range(self.config.members)]
        self.narrator.phase("CRM registers the members", len(names))
        self.clock.move_to(at(self.day, "07:50"))
        specialist = self.specialists[0]
        for n, name in enumerate(names):
            self.members.append(await self._register(crm, specialist, name, n, tier=(
                ("gold", "standard", "silver", "standard")[n % 4]),
                customer_id=self.sign_in_id("member")))
            self.narrator.step(name)
        demo_id = self.config.sign_in_ids.get("member")
        if demo_id is not None:
            # This day's, or (when an earlier day registered them) that day's member.
            self.demo_member = next((m for m in self.members if m.id == demo_id),
                                    self.person("the demo member", "member", demo_id))

    async def _register(self, crm: Api, who: Person, name: str, n: int, tier: str,
                        customer_id: UUID | None = None, tag: str | None = None) -> Person:
        handle = name.lower().replace(" ", ".")
        body = {"full_name": name, "email": f"{handle}.{tag or self.run_tag}@example.org",
                "phone": f"+86 138 {self.run_tag} {n:04d}", "tier": tier,
                # Half the members read Chinese, half English: the inbox shows both.
                "preferences": {"language": "en" if n % 2 == 0 else "zh-CN"}}
        made = {}
        if customer_id is not None:  # 409 when an earlier day registered the demo member
            made = await crm.post("/customers", who, {**body, "customer_id": str(customer_id)},
                                  expect=(201, 409))
        if "registered_at" not in made:
            made = await crm.post("/customers", who, body)
        member = self.person(name, "member", UUID(made["customer_id"]))
        self.report.expect("customer.registered", member.id)
        return member

    async def take_bookings(self) -> None:
        """Members book online (with an hour's notice), the desk books the others by phone."""
        booking = self.api["booking"]
        members = self.members
        self.narrator.phase("Members book online, the desk books by phone", len(members) + 2)
        self.clock.move_to(at(self.day, "08:00"))
        desk = self.attendants[0]
        spread = timedelta(minutes=390 / len(members))  # from 09:30 to 16:00
        for n, member in enumerate(members):
            code = CATALOGUE[n % len(CATALOGUE)][0]
            wanted = at(self.day, "09:30") + n * spread
            online = n % 2 == 0
            who = member if online else desk
            slots = await booking.get("/availability", who, params={
                "service_code": code, "date": self.day.isoformat()})
            slot = next((s for s in slots["slots"] if s["resource_id"] in self.locations
                         and datetime.fromisoformat(s["starts_at"]) >= wanted), None)
            if slot is None:
                raise DemoError(f"no free {code} slot after {wanted:%H:%M} on {self.day}")
            body = {"resource_id": slot["resource_id"], "service_code": code,
                    "starts_at": slot["starts_at"]}
            if not online:
                body |= {"customer_id": str(member.id), "offline_channel": "phone"}
            made = await booking.post("/bookings", who, body)
            self.bookings[made["id"]] = {**made, "member": member, "code": code}
            self.report.expect("booking.created", made["id"])
            self.narrator.step(f"{member.name}: {code} at {slot['starts_at'][11:16]} "
                               f"({'online' if online else 'phone'})")
        ids = list(self.bookings)
        # A member cancels on the day (inside the cut-off: a late cancellation).
        self.clock.move_to(at(self.day, "08:20"))
        self.cancelled_booking = ids[3]
        cancelled = self.bookings[ids[3]]
        await booking.post(f"/bookings/{ids[3]}/cancel", cancelled["member"],
                           {"reason": "illness"})
        self.report.expect("booking.cancelled", ids[3])
        self.narrator.step(f"{cancelled['member'].name} cancels (late)")
        # The desk moves a phone booking an hour later, at the member's request.
        moved = self.bookings[ids[1]]
        later = datetime.fromisoformat(moved["starts_at"]) + timedelta(hours=1)
        slots = await booking.get("/availability", desk, params={
            "service_code": moved["code"], "date": self.day.isoformat()})
        slot = next(s for s in slots["slots"] if s["resource_id"] in self.locations
                    and datetime.fromisoformat(s["starts_at"]) >= later)
        answer = await booking.post(f"/bookings/{ids[1]}/reschedule", desk, {
            "starts_at": slot["starts_at"], "resource_id": slot["resource_id"]})
        self.bookings[ids[1]] |= answer
        self.report.expect("booking.rescheduled", ids[1])
        starts = datetime.fromisoformat(slot["starts_at"]).astimezone(CLUB_ZONE)
        self.narrator.step(f"{moved['member'].name} moved to {starts:%H:%M}")
        self.no_show_booking = ids[5]  # this member will not come

    async def open_the_doors(self) -> None:
        """Staff badge in at the staff entrance; one is late at the door, one forgets the
        badge and clocks in late at the HR kiosk."""
        hr = self.api["hr"]
        on_shift = [p for p in self.staff.values() if p.role != "hr_admin"]
        self.narrator.phase("Staff clock in (door system and HR kiosk)", len(on_shift) + 1)
        late_at_door, late_at_kiosk = self.attendants[1], self.attendants[2]
        self.clock.move_to(at(self.day, "08:56"))
        for n, person in enumerate(on_shift):
            if person in (late_at_door, late_at_kiosk):
                continue
            shift_start = at(self.day, "08:30" if person.role in ("head", "deputy") else "09:00")
            await self._badge(person, "in", shift_start - timedelta(minutes=4 + n % 5))
            self.narrator.step(f"{person.name} in")
        self.clock.move_to(at(self.day, "09:14"))
        await self._badge(late_at_door, "in", at(self.day, "09:13"))
        self.narrator.step(f"{late_at_door.name} in at 09:13 (late)")
        self.clock.move_to(at(self.day, "09:21"))
        await hr.post("/attendance/clockings", late_at_kiosk, {"direction": "in"})
        self.narrator.step(f"{late_at_kiosk.name} in at 09:21 at the kiosk (late)")
        for person in (late_at_door, late_at_kiosk):
            await until(f"HR records {person.name}'s late arrival",
                        lambda p=person: self._late(p))
        self.narrator.step("HR records two late arrivals")

    async def _badge(self, person: Person, direction: str, moment: datetime) -> None:
        assert self.door is not None
        await self.door.badge(person, direction, moment)
        self.report.expect("attendance.clocked", person.id)
        # HR judges shifts on its clock: the day moves on only once HR has read the badge,
        # or on a busy machine a clock-in still in flight could be judged an absence.
        await until(f"HR records {person.name}'s badge {direction}",
                    lambda: self._clocked(person, direction, moment))

    async def _clocked(self, person: Person, direction: str, moment: datetime) -> bool:
        found = await self.api["hr"].get("/attendance/clockings", self.head, params={
            "staff_id": str(person.id), "since": iso(moment - timedelta(seconds=1))})
        return any(c["direction"] == direction for c in found)

    async def _late(self, person: Person) -> bool:
        found = await self.api["hr"].get("/attendance/violations", self.head,
                                         params={"staff_id": str(person.id)})
        return any(v["kind"] == "late_arrival" and v["status"] == "active" for v in found)

    # ---------------------------------------------------------------- the floor

    def plan_visits(self) -> None:
        attendants = self.attendants
        turn = itertools.count()
        for booking_id, made in self.bookings.items():
            if booking_id in (self.cancelled_booking, self.no_show_booking):
                continue
            n = next(turn)
            host = attendants[n % len(attendants)]
            second = attendants[(n + 1) % len(attendants)] if n % 2 == 0 else None
            self.visits.append(Visit(
                customer=made["member"], service=made["code"],
                starts_at=datetime.fromisoformat(made["starts_at"]),
                ends_at=datetime.fromisoformat(made["ends_at"]), host=host, second=second,
                booking_id=booking_id, location_id=self.locations[made["resource_id"]]))
        walk_ins = max(2, self.config.members // 4)
        names = [WALK_INS[i % len(WALK_INS)] for i in range(walk_ins)]
        for n, name in enumerate(names):
            starts = at(self.day, "10:10") + n * timedelta(minutes=300 / walk_ins)
            host = attendants[(n + 3) % len(attendants)]
            self.visits.append(Visit(
                customer=self.person(name, "member"), service=WALK_IN_SERVICE[0],
                starts_at=starts, ends_at=starts + timedelta(minutes=WALK_IN_SERVICE[1]),
                host=host, second=attendants[(n + 2) % len(attendants)] if n % 2 else None,
                location_id=self.locations[LOUNGE]))

    async def work_the_floor(self) -> None:
        """Reception's day in time order: check-ins, services, completions; complaints and
        an incident in between."""
        self.plan_visits()
        actions: list[tuple[datetime, int, str, Callable[[], Awaitable[None]]]] = []
        order = itertools.count()

        def plan(moment: datetime, label: str, action: Callable[[], Awaitable[None]]) -> None:
            actions.append((moment, next(order), label, action))

        for visit in self.visits:
            extra_end = visit.ends_at + timedelta(minutes=EXTRA_SERVICE[1])
            plan(visit.starts_at - timedelta(minutes=5), f"{visit.customer.name} checks in",
                 lambda v=visit: self.check_in(v))
            plan((extra_end if visit.second else visit.ends_at) + timedelta(minutes=2),
                 f"{visit.customer.name}: services recorded, visit completed",
                 lambda v=visit: self.serve_and_complete(v))
        first = min((v for v in self.visits if v.booking_id), key=lambda v: v.ends_at)
        opened = max(first.ends_at + timedelta(minutes=40), at(self.day, "11:40"))
        plan(opened, "a member complains about a visit",
             lambda: self.complaint_about_a_visit(first))
        plan(opened + timedelta(minutes=65), "the complaint misses its first response SLA",
             lambda: self.escalation_seen(first))
        plan(opened + timedelta(minutes=80), "the deputy answers the customer",
             lambda: self.deputy_answers())
        plan(opened + timedelta(minutes=170), "the complaint is resolved, upheld",
             lambda: self.resolve_upheld(first))
        plan(at(self.day, "09:22"), "the deputy plans the day: the morning briefing",
             lambda: self.plan_the_day())
        plan(at(self.day, "09:40"), "the deputy holds the briefing (a task done on time)",
             lambda: self.hold_the_briefing())
        plan(at(self.day, "10:05"), "a safety round of the fire exits finds one blocked",
             lambda: self.walk_a_safety_round())
        plan(at(self.day, "11:10"), "the blocked exit is cleared and the finding closed",
             lambda: self.close_the_finding())
        plan(at(self.day, "12:50"), "a facility complaint by phone",
             lambda: self.facility_complaint())
        plan(at(self.day, "13:05"), "the specialist answers it",
             lambda: self.acknowledge_facility())
        plan(at(self.day, "14:05"), "an attendant reports a wet floor",
             lambda: self.report_incident())
        plan(at(self.day, "15:20"), "the facility complaint is resolved",
             lambda: self.resolve_facility())
        self.narrator.phase("Reception: check-ins, walk-ins, services, completions; complaints",
                            len(actions) + 1)
        for moment, _, label, action in sorted(actions, key=lambda a: (a[0], a[1])):
            self.clock.move_to(moment)
            await action()
            self.narrator.step(label)
        missed = self.bookings[self.no_show_booking]
        self.clock.move_to(datetime.fromisoformat(missed["starts_at"]) + timedelta(minutes=20))
        await until("the booking sweep marks the no-show", self._no_show_marked)
        self.report.expect("booking.no_show", self.no_show_booking)
        self.narrator.step("the member who never came is marked a no-show")

    async def check_in(self, visit: Visit) -> None:
        reception = self.api["reception"]
        desk = visit.host
        if visit.booking_id:
            await until(f"reception expects booking {visit.booking_id}",
                        lambda: self._expected(visit.booking_id))
            made = await reception.post("/visits/check-in", desk, {
                "booking_id": visit.booking_id, "location_id": visit.location_id,
                "host_staff_id": str(visit.host.id)})
        else:
            visit.customer = await self._register(self.api["crm"], desk, visit.customer.name,
                                                  100 + len(self.walk_ins), tier="standard")
            self.walk_ins.append(visit.customer)
            made = await reception.post("/visits/walk-in", desk, {
                "customer_id": str(visit.customer.id), "party_size": 1,
                "location_id": visit.location_id, "host_staff_id": str(visit.host.id)})
        visit.visit_id = made["visit_id"]
        self.report.expect("visit.checked_in", visit.visit_id)
        if visit.booking_id:
            # Booking learns of the check-in and publishes the booking fulfilled. The day
            # waits for it: the demo's clock jumps minutes in a moment, and on a busy machine
            # it could pass the no-show sweep's grace before booking had read the check-in.
            await until(f"booking learns booking {visit.booking_id} is fulfilled",
                        lambda: self._fulfilled(visit.booking_id))
            self.report.expect("booking.fulfilled", visit.booking_id)

    async def _fulfilled(self, booking_id: str) -> bool:
        found = await self.api["booking"].get(f"/bookings/{booking_id}", self.head)
        return found["status"] == "fulfilled"

    async def _expected(self, booking_id: str) -> bool:
        found = await self.api["reception"].get(f"/arrivals/{booking_id}", self.head,
                                                expect=(200, 404))
        return bool(found and found.get("status") == "expected")

    async def serve_and_complete(self, visit: Visit) -> None:
        reception = self.api["reception"]
        records = [(visit.service, visit.host, visit.starts_at, visit.ends_at)]
        if visit.second:
            records.append((EXTRA_SERVICE[0], visit.second, visit.ends_at,
                            visit.ends_at + timedelta(minutes=EXTRA_SERVICE[1])))
        for code, staff, starts, ends in records:
            await reception.post(f"/visits/{visit.visit_id}/services", visit.host, {
                "service_code": code, "staff_id": str(staff.id), "started_at": iso(starts),
                "ended_at": iso(ends), "notes": "went well; prefers a quiet room"})
            self.report.expect("visit.service_recorded", visit.visit_id)
        await reception.post(f"/visits/{visit.visit_id}/complete", visit.host)
        self.report.expect("visit.completed", visit.visit_id)
        visit.staff = list(dict.fromkeys([visit.host] + [r[1] for r in records]))

    async def _no_show_marked(self) -> bool:
        found = await self.api["booking"].get(f"/bookings/{self.no_show_booking}", self.head)
        return found["status"] == "no_show"

    # ---------------------------------------------------------------- complaints

    async def complaint_about_a_visit(self, visit: Visit) -> None:
        """A member complains online about the host of their visit: high severity, so the
        first response is due within the hour (R2 §3.3). Nobody answers in time."""
        await until("CRM knows the visit (its survey invitation is out)",
                    lambda: self.api["crm"].get("/surveys/invitations", visit.customer,
                                                params={"visit_id": visit.visit_id}))
        made = await self.api["crm"].post("/complaints", visit.customer, {
            "visit_id": visit.visit_id, "subject_staff_ids": [str(visit.host.id)],
            "category": "service", "severity": "high", "channel": "online",
            "description": "My session started 20 minutes late and was cut short."})
        self.complaints[made["complaint_id"]] = {
            "kind": "about_visit", "id": made["complaint_id"], "visit": visit,
            "subject": visit.host, "assigned_to": made["assigned_to"]}
        self.report.expect("complaint.opened", made["complaint_id"])

    def _complaint(self, kind: str) -> dict:
        return next(c for c in self.complaints.values() if c["kind"] == kind)

    async def escalation_seen(self, _visit: Visit) -> None:
        complaint = self._complaint("about_visit")

        async def escalated() -> dict | None:
            listed = await self.api["crm"].get("/complaints", self.deputy,
                                               params={"escalated_to": "deputy"})
            return next((c for c in listed if c["complaint_id"] == complaint["id"]), None)

        await until("CRM's SLA job escalates the complaint to the deputy", escalated)
        self.report.expect("complaint.escalated", complaint["id"])

    async def deputy_answers(self) -> None:
        complaint = self._complaint("about_visit")
        await self.api["crm"].post(f"/complaints/{complaint['id']}/acknowledge", self.deputy)

    def _handler(self, complaint: dict) -> Person:
        """Whoever CRM gave the complaint to (fair assignment, R1 §2.4); a specialist takes
        an unassigned one."""
        return self.staff_member(complaint["assigned_to"]) or self.specialists[0]

    def staff_member(self, staff_id: object) -> Person | None:
        """One of the day's staff, or a specialist hired by an earlier demo day (CRM's fair
        assignment may give them work; the day acts for them)."""
        if staff_id is None:
            return None
        for person in self.staff.values():
            if str(person.id) == str(staff_id):
                return person
        return self.person("a colleague", "crm_specialist", UUID(str(staff_id)))

    async def resolve_upheld(self, _visit: Visit) -> None:
        complaint = self._complaint("about_visit")
        handler = self._handler(complaint)
        crm = self.api["crm"]
        await crm.post(f"/complaints/{complaint['id']}/start", handler)
        await crm.post(f"/complaints/{complaint['id']}/resolve", handler, {
            "explanation": "The session started late because the room was not ready; the "
                           "attendant did not tell you or offer the full time.",
            "compensation": {"kind": "voucher", "amount": "200.00", "currency": "CNY"},
            "upheld": True, "resolution_code": "apologised"})
        complaint["handled_by"] = handler
        self.report.expect("complaint.resolved", complaint["id"])
        subject: Person = complaint["subject"]

        async def case_opened() -> dict | None:
            cases = await self.api["hr"].get("/discipline/cases", self.head, params={
                "staff_id": str(subject.id)})
            return next((c for c in cases if c["violation"] == "upheld_complaint"), None)

        await until(f"HR opens a discipline case for {subject.name}", case_opened)

    async def facility_complaint(self) -> None:
        desk = self.attendants[0]
        customer = self.visits[1].customer
        made = await self.api["crm"].post("/complaints", desk, {
            "customer_id": str(customer.id), "category": "facility", "severity": "medium",
            "channel": "phone", "description": "The changing room showers were cold."})
        self.complaints[made["complaint_id"]] = {
            "kind": "facility", "id": made["complaint_id"], "assigned_to": made["assigned_to"]}
        self.report.expect("complaint.opened", made["complaint_id"])

    async def acknowledge_facility(self) -> None:
        complaint = self._complaint("facility")
        await self.api["crm"].post(f"/complaints/{complaint['id']}/acknowledge",
                                   self._handler(complaint))

    async def resolve_facility(self) -> None:
        complaint = self._complaint("facility")
        handler = self._handler(complaint)
        await self.api["crm"].post(f"/complaints/{complaint['id']}/resolve", handler, {
            "explanation": "The boiler's thermostat failed; maintenance replaced it the same "
                           "afternoon.",
            "compensation": {"kind": "gift"}, "upheld": False, "resolution_code": "explained"})
        complaint["handled_by"] = handler
        self.report.expect("complaint.resolved", complaint["id"])

    # ---------------------------------------------------------------- running the department

    async def plan_the_day(self) -> None:
        """The deputy's plan for the day (R1 §2.2, §8.1; R2 §2.2): the morning briefing, a
        routine of the club's, planned as the day's one occurrence."""
        reception = self.api["reception"]
        self.briefing_checklist = ["today's bookings", "safety reminders"]
        routine = await reception.post("/routines", self.deputy, {
            "code": f"daily_briefing_{self.run_tag}", "title": "Morning briefing",
            "time_of_day": "09:45", "weekdays": ["monday", "tuesday", "wednesday", "thursday",
                                                 "friday", "saturday", "sunday"],
            "owner_id": str(self.deputy.id), "location_id": self.locations[LOUNGE],
            "checklist": self.briefing_checklist})
        plan = await reception.post("/plans", self.deputy, {
            "title": f"The day of {self.day}", "period_start": self.day.isoformat(),
            "period_end": self.day.isoformat(), "routines": [routine["code"]]})
        self.briefing_task = plan["tasks"][0]["task_id"]
        self.report.expect("task.assigned", self.briefing_task)

    async def hold_the_briefing(self) -> None:
        await self.api["reception"].post(f"/tasks/{self.briefing_task}/complete", self.deputy, {
            "ticked": self.briefing_checklist, "note": "Everyone present; two new members."})
        self.report.expect("task.completed", self.briefing_task)

    async def walk_a_safety_round(self) -> None:
        """A round of the fire exits (R2 §7.1): one exit blocked by a laundry trolley becomes
        a finding for the walker to fix."""
        reception = self.api["reception"]
        walker = self.attendants[0]
        checklist = await reception.get("/safety/checklists/fire_exits", self.deputy)
        scheduled = await reception.post("/safety/rounds", self.deputy, {
            "area": "fire_exits", "walker_id": str(walker.id),
            "location_id": self.locations[LOUNGE]})
        items = [i["item"] for i in checklist["items"]]
        walked = await reception.post(
            f"/safety/rounds/{scheduled['round_id']}/complete", walker, {"answers": [
                {"item": item, "result": "fail", "note": "A laundry trolley blocks the exit."}
                if n == 0 else {"item": item, "result": "pass"}
                for n, item in enumerate(items)]})
        self.finding = walked["finding_ids"][0]
        self.finding_owner = walker
        self.report.expect("safety.round_completed", scheduled["round_id"])
        self.report.expect("safety.finding_opened", self.finding)

    async def close_the_finding(self) -> None:
        await self.api["reception"].post(
            f"/safety/findings/{self.finding}/close", self.finding_owner,
            {"evidence": "Trolley moved to the laundry; exit checked clear and signed."})
        self.report.expect("safety.finding_closed", self.finding)

    async def hold_the_service_meeting(self) -> None:
        """The end-of-day service meeting (R2 §9.1; R1 §5.3): its agenda is the day's own
        figures; its action answers the upheld complaint."""
        crm = self.api["crm"]
        people = [self.head, self.deputy, *self.specialists, *self.attendants]
        meeting = await crm.post("/meetings", self.head, {
            "period_from": iso(at(self.day, "00:00")),
            "period_until": iso(at(self.day, "00:00") + timedelta(days=1)),
            "scheduled_for": iso(self.clock.now() + timedelta(minutes=1)),
            "attendee_ids": [str(p.id) for p in people]})
        self.clock.move_to(self.clock.now() + timedelta(minutes=1))
        await crm.get(f"/meetings/{meeting['meeting_id']}/agenda", self.head)
        await crm.put(f"/meetings/{meeting['meeting_id']}/minutes", self.head, {
            "minutes": "Reviewed the day's surveys and complaints; a late start upset a member.",
            "attended_ids": [str(p.id) for p in people]})
        await crm.post(f"/meetings/{meeting['meeting_id']}/hold", self.head)
        self.report.expect("meeting.held", meeting["meeting_id"])
        upheld = self._complaint("about_visit")
        action = await crm.post(f"/meetings/{meeting['meeting_id']}/actions", self.head, {
            "text": "Start sessions on time: the host checks the room ten minutes before.",
            "owner_id": str(self.deputy.id),
            "due_at": iso(at(self.day, "12:00") + timedelta(days=7)),
            "complaint_ids": [upheld["id"]]})
        self.report.expect("improvement.action_assigned", action["action_id"])

    async def report_incident(self) -> None:
        reporter = self.attendants[3]
        made = await self.api["reception"].post("/incidents", reporter, {
            "category": "safety", "severity": "low", "location_id": self.locations[LOUNGE],
            "description": "Wet floor by the sauna door; cones placed, floor dried.",
            "occurred_at": iso(self.clock.now() - timedelta(minutes=6))})
        self.report.expect("incident.reported", made["incident_id"])

    # ---------------------------------------------------------------- afterwards

    async def answer_surveys(self) -> None:
        """Most customers answer the satisfaction survey CRM sends after each visit."""
        crm = self.api["crm"]
        self.narrator.phase("Customers answer their surveys", len(self.visits))
        self.clock.move_to(at(self.day, "16:20"))
        complained = self._complaint("about_visit")["visit"]
        for n, visit in enumerate(self.visits):
            invitations = await until(
                f"CRM invites {visit.customer.name} to a survey",
                lambda v=visit: crm.get("/surveys/invitations", self.specialists[0],
                                        params={"visit_id": v.visit_id}))
            self.narrator.step(visit.customer.name)
            if n % 5 == 4:
                continue  # not everyone answers
            csat = 2 if visit is complained else CSAT[n % len(CSAT)]
            # The customer follows the link in their invitation (the public form, no login).
            answer = await crm.post(invitations[0]["link"], None, {
                "csat": csat, "nps": min(10, csat * 2), "comment": None})
            self.surveys.append({"visit": visit, "csat": csat})
            self.report.expect("survey.submitted", answer["response_id"])

    async def work_the_followups(self) -> None:
        """CRM's specialists call customers after their visits and after a resolved complaint
        (R1 §3.5, §5.4)."""
        crm = self.api["crm"]
        self.narrator.phase("CRM specialists make their follow-up calls",
                            len(self.visits) + len(self.complaints))
        self.clock.move_to(at(self.day, "16:30"))
        complained = self._complaint("about_visit")["visit"]
        wanted = [("visit_id", v.visit_id, v.customer.name) for v in self.visits]
        wanted += [("complaint_id", c["id"], "complaint") for c in self.complaints.values()]
        for n, (by, ident, who) in enumerate(wanted):
            calls = await until(f"CRM schedules a call ({who})", lambda b=by, i=ident: crm.get(
                "/followups", self.head, params={b: i}))
            for call in calls:
                if call["state"] != "open":
                    continue
                caller = (self.staff_member(call["assigned_to"])
                          or self.specialists[n % len(self.specialists)])
                outcome = ("neutral" if by == "complaint_id" or ident == complained.visit_id
                           else ("unreachable" if n % 7 == 6 else "satisfied"))
                await crm.post(f"/followups/{call['followup_id']}/complete", caller,
                               {"outcome": outcome})
                self.followups_done[caller.id] += 1
                self.report.expect("followup.completed", call["followup_id"])
            self.narrator.step(f"called about {who}")

    async def close_the_day(self) -> None:
        """A training session for the attendants, then everyone badges out."""
        hr = self.api["hr"]
        on_shift = [p for p in self.staff.values() if p.role != "hr_admin"]
        self.narrator.phase("Training, the service meeting, then everyone badges out",
                            len(on_shift) + 2)
        self.clock.move_to(at(self.day, "16:32"))
        session = await hr.post("/training/sessions", self.deputy, {
            "title": "Complaint handling refresher", "clause": "R2 §3.3",
            "starts_at": iso(at(self.day, "16:35")), "ends_at": iso(at(self.day, "16:55")),
            "staff_ids": [str(p.id) for p in self.attendants]})
        session_id = session["session_id"]
        self.clock.move_to(at(self.day, "16:56"))
        absent = self.attendants[2]
        await hr.post(f"/training/sessions/{session_id}/attendance", self.deputy, {
            "records": [{"staff_id": str(p.id), "attended": p is not absent}
                        for p in self.attendants]})
        await hr.post(f"/training/sessions/{session_id}/completion", self.deputy)
        self.narrator.step("training held")
        await self.hold_the_service_meeting()
        self.narrator.step("the end-of-day service meeting held, with its action")
        for n, person in enumerate(on_shift):
            ends = at(self.day, "17:30" if person.role in ("head", "deputy") else "17:00")
            self.clock.move_to(ends + timedelta(minutes=2 + n % 3))
            await self._badge(person, "out", ends + timedelta(minutes=1 + n % 3))
            self.narrator.step(f"{person.name} out")

    async def assess_the_staff(self) -> None:
        """Back on the real time, yesterday is over: HR assesses it from the day's events."""
        hr = self.api["hr"]
        assessed = [p for p in self.staff.values() if p.role != "hr_admin"]
        self.narrator.phase(f"HR assesses the staff for {self.day}", len(assessed) + 1)
        await until("HR has every KPI fact of the day", self._facts_complete)
        self.narrator.step("every event of the day is in HR's KPI facts")
        for person in assessed:
            made = await hr.post("/assessments", self.head, {
                "staff_id": str(person.id), "period_start": self.day.isoformat(),
                "period_end": self.day.isoformat()}, expect=(201, 409))
            if "assessment_id" not in made:
                # Nothing anyone could be scored on that day (no shift, nothing measured):
                # shown as not assessed rather than as zeros.
                self.report.assessments.append({
                    "name": person.name, "role": person.role, "kpis": [], "total_score": None,
                    "rating": "not assessed", "reason": made["detail"]})
                self.narrator.step(f"{person.name}: not assessed")
                continue
            # A computed assessment is a draft: the head reviews it (nothing to adjust on the
            # demo day) and publishes it; only then is assessment.published emitted.
            await hr.post(f"/assessments/{made['assessment_id']}/review", self.head,
                          {"note": "reviewed on the demo day; nothing adjusted"}, expect=(200,))
            made = await hr.post(f"/assessments/{made['assessment_id']}/publish", self.head,
                                 expect=(200,))
            self.report.assessments.append({**made, "name": person.name})
            self.report.expect("assessment.published", made["assessment_id"])
            self.narrator.step(f"{person.name}: {made['rating']}")

    async def _facts_complete(self) -> bool:
        """HR has taken in every visit, survey, complaint and call of the day for our staff."""
        served: Counter = Counter()
        rated: Counter = Counter()
        for visit in self.visits:
            for person in visit.staff:
                served[person.id] += 1
        for survey in self.surveys:
            for person in survey["visit"].staff:
                rated[person.id] += 1
        upheld = Counter(c["subject"].id for c in self.complaints.values() if "subject" in c)
        resolved = Counter(c["handled_by"].id for c in self.complaints.values())
        wanted = [("visit_served", served), ("survey_rating", rated),
                  ("upheld_complaint", upheld), ("complaint_resolved", resolved),
                  ("followup", self.followups_done)]
        since, until_ = iso(at(self.day, "00:00")), iso(at(self.day, "00:00") + timedelta(days=1))
        for kind, counts in wanted:
            for staff_id, count in counts.items():
                facts = await self.api["hr"].get("/kpi-facts", self.head, params={
                    "staff_id": str(staff_id), "kind": kind, "since": since, "until": until_})
                if len(facts) < count:
                    return False
        return True

    async def decide_a_case(self) -> None:
        """The head decides the door-late arrival's case; the others stay open for review."""
        hr = self.api["hr"]
        late = self.attendants[1]
        cases = await hr.get("/discipline/cases", self.head, params={"staff_id": str(late.id)})
        case = next(c for c in cases if c["violation"] == "late_arrival")
        await hr.post(f"/discipline/cases/{case['case_id']}/decision", self.head, {
            "action": case["proposed_action"]})
        self.report.expect("discipline.recorded", case["case_id"])

    async def sum_up(self) -> None:
        """What the day left behind, read back from each service's API."""
        booking, reception, crm, hr = (self.api[s] for s in SERVICES)
        report = self.report
        report.staff = [{"name": p.name, "role": p.role, "staff_id": str(p.id),
                         **self.contacts.get(p.name, {})} for p in self.staff.values()]
        since = iso(at(self.day, "00:00"))
        until_ = iso(at(self.day, "00:00") + timedelta(days=1))
        bookings = [b for b in await booking.get("/bookings", self.head, params={
            "starts_from": since, "starts_before": until_, "limit": 500})
            if b["id"] in self.bookings]
        sheet = await reception.get("/day-sheet", self.head,
                                    params={"date": self.day.isoformat()})
        our_visits = {v.visit_id for v in self.visits}
        visits = [v for v in await reception.get("/visits", self.head, params={
            "date": self.day.isoformat()}) if v["visit_id"] in our_visits]
        surveys = await crm.get("/surveys/report", self.head, params={
            "by": "all", "since": since, "until": until_})
        complaints = [c for c in await crm.get("/complaints", self.head)
                      if c["complaint_id"] in self.complaints]
        report.escalated = [c for c in complaints if c["escalation_level"] > 0]
        cases = []
        for person in self.staff.values():
            cases += await hr.get("/discipline/cases", self.head,
                                  params={"staff_id": str(person.id)})
        names = {str(p.id): p.name for p in self.staff.values()}
        report.open_cases = [{**c, "name": names[str(c["staff_id"])]} for c in cases
                             if c["status"] == "open"]
        overall = surveys["rows"][0] if surveys["rows"] else {}
        report.counts = {
            "booking": {
                "bookings": len(bookings),
                **Counter(b["status"] for b in bookings),
                "online": sum(1 for b in bookings if b["channel"] == "online"),
            },
            "reception": {
                "visits": len(visits),
                "walk-ins": sum(1 for v in visits if v["walk_in"]),
                "services recorded": sum(len(v["services"]) for v in visits),
                "incidents": len(sheet["incidents"]),
            },
            "crm": {
                "customers registered": len(self.members) + len(self.walk_ins),
                "complaints": len(complaints),
                "escalated": len(report.escalated),
                "surveys answered": len(self.surveys),
                "follow-up calls": sum(self.followups_done.values()),
                "survey CSAT mean": overall.get("csat_mean"),
                "survey response rate %": overall.get("response_rate"),
            },
            "hr": {
                "staff": len(self.staff),
                "assessments": len(report.assessments),
                "discipline cases": len(cases),
                "open cases": len(report.open_cases),
            },
        }


    async def count_the_messages(self) -> None:
        """Once CRM's sender has dealt with every message of the day, what it sent by kind
        (its delivery log) and what the inbox received (Mailpit, by the X-Club-Kind header)."""
        crm = self.api["crm"]
        people = [*self.members, *self.walk_ins, *self.staff.values()]
        self.narrator.phase("The day's messages", 2)

        decisions = self.report.expected_events["discipline.recorded"]
        previous: list[dict] = []

        async def log() -> list[dict] | None:
            """Every message written and none waiting: the day's last event (the head's
            decision, through HR and Kafka) has its message, and two looks 2 s apart agree."""
            nonlocal previous
            rows = []
            for person in people:
                rows += await crm.get("/notifications", self.head,
                                      params={"recipient_id": str(person.id), "limit": 1000})
            settled = (not any(r["state"] == "pending" for r in rows)
                       and sum(r["kind"] == "discipline_decided" for r in rows) >= decisions
                       and len(rows) == len(previous))
            previous = rows
            if not settled:
                await asyncio.sleep(2)
            return rows if settled else None

        rows = await until("CRM has sent every message of the day", log)
        for row in rows:
            self.report.delivery.setdefault(row["kind"], Counter())[row["state"]] += 1
            if row["state"] == "sent":
                self.report.sent[row["kind"]] += 1
        self.narrator.step(f"{sum(self.report.sent.values())} sent")
        if self.config.mailpit_url:
            self.report.inbox = await until(
                "the inbox has every message sent",
                lambda: inbox_counts(self.config.mailpit_url, self.addresses,
                                     sum(self.report.sent.values())))
        self.narrator.step("counted in the inbox")

    async def leave_today_for_the_desk(self) -> None:
        """Today, on the real clock: the front desk's day in front of it. The demo member books
        online and two more members are booked by phone for later today (the expected
        arrivals), and two walk-ins are on the floor now, in the lounge with their hosts. The
        console's front desk shows the club's today, so that is what it opens on; nothing is
        completed (that is for whoever signs in). Late in the evening no slot may be left:
        then there are no arrivals, only the floor."""
        booking, reception, crm = self.api["booking"], self.api["reception"], self.api["crm"]
        desk = self.attendants[0]
        guests = [m for m in [self.demo_member or self.members[0], *self.members] if m]
        guests = list(dict.fromkeys(guests))[:3]
        self.narrator.phase("Today at the front desk: arrivals and the floor", len(guests) + 2)
        now = datetime.now(CLUB_ZONE)
        today = now.date()
        arrivals, floor = [], []
        earliest = now + timedelta(minutes=30)
        for n, member in enumerate(guests):
            code = CATALOGUE[n % len(CATALOGUE)][0]
            online = member is self.demo_member  # members book themselves, an hour ahead
            who = member if online else desk
            slots = await booking.get("/availability", who, params={
                "service_code": code, "date": today.isoformat()})
            slot = next((s for s in slots["slots"] if s["resource_id"] in self.locations
                         and datetime.fromisoformat(s["starts_at"]) >= earliest), None)
            if slot is None:
                self.narrator.step(f"{member.name}: no {code} slot left today")
                continue
            body = {"resource_id": slot["resource_id"], "service_code": code,
                    "starts_at": slot["starts_at"]}
            if not online:
                body |= {"customer_id": str(member.id), "offline_channel": "phone"}
            made = await booking.post("/bookings", who, body, expect=(201, 409))
            if "id" not in made:  # an erased demo member, or a slot taken meanwhile
                self.narrator.step(f"{member.name}: not booked ({made.get('detail', '')[:60]})")
                continue
            self.report.expect("booking.created", made["id"])
            starts = datetime.fromisoformat(made["starts_at"]).astimezone(CLUB_ZONE)
            earliest = starts + timedelta(minutes=30)
            arrivals.append(f"{member.name} {starts:%H:%M} {code}")
            await until(f"reception expects {member.name} today",
                        lambda b=made["id"]: self._expected(b))
            self.narrator.step(f"{member.name}: {code} at {starts:%H:%M} "
                               f"({'online' if online else 'phone'})")
        for n, name in enumerate(WALK_INS[:2]):
            host = self.attendants[n % len(self.attendants)]
            guest = await self._register(crm, desk, name, 200 + n, tier="standard",
                                         tag=f"{self.run_tag}.today")
            made = await reception.post("/visits/walk-in", desk, {
                "customer_id": str(guest.id), "party_size": 1 + n,
                "location_id": self.locations[LOUNGE], "host_staff_id": str(host.id)})
            self.report.expect("visit.checked_in", made["visit_id"])
            floor.append(f"{guest.name} in the {LOUNGE.lower()} with {host.name}")
            self.narrator.step(f"{guest.name}: walked in, on the floor with {host.name}")
        self.report.today = {"arrivals": arrivals, "floor": floor}

    @property
    def addresses(self) -> list[str]:
        people = [*self.members, *self.walk_ins]
        staff = list(self.staff.values())
        return ([f"{p.name.lower().replace(' ', '.')}.{self.run_tag}@example.org"
                 for p in people] +
                [f"{p.name.lower().replace(' ', '.')}.{self.run_tag}@staff.example.org"
                 for p in staff])


async def inbox_counts(mailpit_url: str, addresses: list[str], expected: int) -> Counter | None:
    """Messages to `addresses` in Mailpit, by kind; None until `expected` have arrived."""
    counts: Counter = Counter()
    async with httpx.AsyncClient(base_url=mailpit_url, timeout=10) as http:
        ids = []
        for address in addresses:
            found = (await http.get("/api/v1/search", params={
                "query": f'to:"{address}"', "limit": 500})).json()["messages"]
            ids += [m["ID"] for m in found
                    if any(t["Address"].lower() == address for t in m["To"])]
        if len(ids) < expected:
            return None
        for message_id in ids:
            headers = (await http.get(f"/api/v1/message/{message_id}/headers")).json()
            counts[(headers.get("X-Club-Kind") or ["unknown"])[0]] += 1
    return counts


async def run_demo_day(config: DemoConfig, narrator: Narrator | None = None) -> DayReport:
    return await ClubDay(config, narrator or Silent()).run()
