"""The console's tests: the whole platform as people use it — Keycloak, the four services and
the console as real processes on the tests' Kafka and PostgreSQL — driven through Debian's
Chromium (the `browser` fixture).

Started once for the package (`club_console`): a club with staff hired in HR (reception and
CRM learn of them from staff.hired), a member registered in CRM, a place on the floor, rooms
and a catalogue, and one Keycloak account per person carrying their staff or customer id."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

import httpx
import pytest_asyncio
from club_platform.auth import issue_token
from club_platform.testing import wait_for
from club_platform.testing.processes import ServiceProcess, stop_all
from playwright.async_api import Browser, Page

from tests.browser import offline_context
from tests.conftest import LOGS
from tests.e2e.support import now
from tests.identity.provider import Provider, running_provider

SERVICES = ("booking", "reception", "crm", "hr")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PATIENCE = 60.0
# Who works at the test club, and with which platform role.
STAFF = (("head", "Han Head", "head"), ("deputy", "Du Deputy", "deputy"),
         ("attendant", "Ana Attendant", "attendant"), ("attendant2", "Bo Attendant", "attendant"),
         ("specialist", "Chen Specialist", "crm_specialist"), ("hradmin", "Hu HR", "hr_admin"))


@dataclass
class User:
    username: str
    password: str
    role: str
    club_id: UUID


@dataclass
class ConsoleClub:
    url: str
    urls: dict[str, str]
    jwt_secret: str
    provider: Provider
    users: dict[str, User] = field(default_factory=dict)
    staff: dict[str, UUID] = field(default_factory=dict)
    member_id: UUID | None = None
    location_id: str = ""
    rooms: list[str] = field(default_factory=list)
    service_codes: dict[str, str] = field(default_factory=dict)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def api(self, service: str, who: str) -> httpx.AsyncClient:
        """The service, called as that person (a locally signed token with their role and id:
        the services accept it outside production), to seed data and to check what it holds."""
        user = self.users[who]
        token = issue_token(self.jwt_secret, subject=user.club_id, role=user.role,
                            ttl=timedelta(hours=1))
        return httpx.AsyncClient(base_url=self.urls[service], timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})

    async def sign_in(self, browser: Browser, who: str, locale: str = "zh-CN") -> Page:
        """Signed in through Keycloak's own login page, as a person does it."""
        context = await offline_context(browser, locale=locale)
        page = await context.new_page()
        await page.goto(f"{self.url}/sign-in?next=/")
        await page.fill("#username", self.users[who].username)
        await page.fill("#password", self.users[who].password)
        await page.click("#kc-login")
        await page.wait_for_url(f"{self.url}/**", timeout=30_000)
        return page


async def _allow_console(provider: Provider, console_url: str) -> None:
    """The console client accepts this console's address for its redirects (the realm file
    names the platform's, :8100)."""
    found = (await provider.admin("GET", "/clients", expect=200,
                                  params={"clientId": "club-console"})).json()[0]
    for key, value in (("redirectUris", f"{console_url}/*"), ("webOrigins", console_url)):
        if value not in found.get(key, []):
            found[key] = [*found.get(key, []), value]
    logout = found.setdefault("attributes", {}).get("post.logout.redirect.uris", "")
    if f"{console_url}/*" not in logout.split("##"):
        found["attributes"]["post.logout.redirect.uris"] = "##".join(
            [p for p in logout.split("##") if p] + [f"{console_url}/*"])
    await provider.admin("PUT", f"/clients/{found['id']}", json=found, expect=204)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def club_console(spawn, jwt_secret, kafka_connection) -> AsyncIterator[ConsoleClub]:
    provider = await asyncio.to_thread(running_provider)
    oidc = {"OIDC_ISSUER": provider.issuer}
    quick = {"CRM_SLA_CHECK_INTERVAL_SECONDS": "1", "BOOKING_NO_SHOW_SWEEP_SECONDS": "5",
             "CRM_NOTIFY_INTERVAL_SECONDS": "1"}
    processes = {}
    for service in SERVICES:
        env = {f"{service.upper()}_{k}": v for k, v in oidc.items()}
        env |= {k: v for k, v in quick.items() if k.startswith(service.upper())}
        processes[service] = await spawn(service, env=env, start=False, name=f"{service}-console")
    await asyncio.gather(*(p.start() for p in processes.values()))
    urls = {s: p.url for s, p in processes.items()}
    console = ServiceProcess("console", {
        "CONSOLE_OIDC_ISSUER": provider.issuer, "CONSOLE_ENVIRONMENT": "test",
        "CONSOLE_I18N_STRICT": "true", "CONSOLE_FLOOR_REFRESH_SECONDS": "0.5",
        **{f"CONSOLE_{s.upper()}_URL": url for s, url in urls.items()}}, LOGS)
    console.env["CONSOLE_PUBLIC_URL"] = console.url
    club = ConsoleClub(url=console.url, urls=urls, jwt_secret=jwt_secret, provider=provider,
                       processes={**processes, "console": console})
    spawn.started.append(console)  # the session's sweep stops it if this fixture cannot
    await _allow_console(provider, console.url)
    await console.start()
    tag = secrets.token_hex(3)

    # The staff: hired in HR a month ago; Keycloak accounts carry their staff ids.
    club.users["bootstrap"] = User("", "", "hr_admin", UUID(int=1))
    async with club.api("hr", "bootstrap") as hr:
        for who, name, role in STAFF:
            answer = await hr.post("/staff", json={
                "display_name": f"{name} {tag}", "role": role,
                "hired_at": (now() - timedelta(days=30)).isoformat()})
            assert answer.status_code == 201, answer.text
            club.staff[who] = UUID(answer.json()["staff_id"])
    for who, _name, role in STAFF:
        username, password = await provider.make_user(role, club.staff[who])
        club.users[who] = User(username, password, role, club.staff[who])
    del club.users["bootstrap"]

    async with club.api("crm", "head") as crm:
        answer = await crm.post("/customers", json={"full_name": f"Mei Member {tag}",
                                                    "email": f"mei-{tag}@club.invalid",
                                                    "phone": "13800138000"})
        assert answer.status_code == 201, answer.text
        club.member_id = UUID(answer.json()["customer_id"])
    username, password = await provider.make_user("member", club.member_id)
    club.users["member"] = User(username, password, "member", club.member_id)

    async with club.api("booking", "head") as booking:
        for key, name, minutes in (("massage", "Deep tissue massage", 60),
                                   ("tea", "Tea ceremony", 15)):
            code = f"console-{key}-{tag}"
            answer = await booking.post("/services", json={
                "code": code, "name": name, "duration_minutes": minutes,
                "buffer_before_minutes": 0, "buffer_after_minutes": 0,
                "resource_kinds": ["room"]})
            assert answer.status_code == 201, answer.text
            club.service_codes[key] = code
        for number in (1, 2):
            answer = await booking.post("/resources", json={
                "name": f"Room {number} {tag}", "kind": "room", "capacity": 2,
                "location": "Spa floor",
                "opening_hours": [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
                                  for d in WEEKDAYS]})
            assert answer.status_code == 201, answer.text
            club.rooms.append(answer.json()["id"])
    async with club.api("reception", "head") as reception:
        answer = await reception.post("/locations", json={"name": f"Spa floor {tag}",
                                                          "kind": "area", "capacity": 40})
        assert answer.status_code == 201, answer.text
        club.location_id = answer.json()["location_id"]

    async def directories_know_them() -> bool:
        async with club.api("reception", "head") as reception:
            for staff_id in club.staff.values():
                answer = await reception.get(f"/staff/{staff_id}")
                if answer.status_code != 200 or answer.json()["status"] != "active":
                    return False
        async with club.api("crm", "head") as crm:
            team = (await crm.get("/followups/team")).json()
        return str(club.staff["specialist"]) in [m["staff_id"] for m in team]

    await wait_for(directories_know_them, timeout=PATIENCE, interval=0.3,
                   what="reception and CRM learning of the staff from staff.hired")
    yield club
    await stop_all(club.processes.values())
    with contextlib.suppress(Exception):
        for user in club.users.values():
            found = await provider.user_by_club_id(user.club_id)
            if found:
                await provider.admin("DELETE", f"/users/{found['id']}")
