"""One club for the whole package: four service processes, a catalogue, a floor and staff."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID

import pytest_asyncio
from club_platform.auth import Role
from club_platform.testing import wait_for

from .support import PATIENCE, SERVICES, Club, Staff, now


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def club(spawn, token, kafka_connection) -> AsyncIterator[Club]:
    # Each service on a fresh database, its consumer group at the end of its topics: it
    # sees only what happens from here on, like a club opening for the first time.
    processes = {s: await spawn(s, name=f"e2e-{s}", start=False) for s in SERVICES}
    # Started side by side: most of a start is the interpreter importing its libraries.
    await asyncio.gather(*(process.start() for process in processes.values()))
    club = Club(processes, token, kafka_connection)
    tag = secrets.token_hex(3)
    club.treatment, club.quick = f"e2e-massage-{tag}", f"e2e-tea-{tag}"

    async with club.as_("booking", Role.HEAD) as http:
        for code, name, minutes in ((club.treatment, "Deep tissue massage", 60),
                                    (club.quick, "Tea ceremony", 15)):
            answer = await http.post("/services", json={
                "code": code, "name": name, "duration_minutes": minutes,
                "buffer_before_minutes": 0, "buffer_after_minutes": 0,
                "resource_kinds": ["room"]})
            assert answer.status_code == 201, answer.text
    async with club.as_("reception", Role.HEAD) as http:
        answer = await http.post("/locations", json={"name": f"Spa floor {tag}",
                                                     "kind": "area", "capacity": 500})
        assert answer.status_code == 201, answer.text
        club.location_id = answer.json()["location_id"]

    # HR registers the club's existing staff (hired a month ago). Reception and CRM have no
    # staff of their own: they learn of them from staff.hired only.
    hired = {}
    async with club.as_("hr", Role.HR_ADMIN) as http:
        for who, name, role in (("host", "Ana Host", "attendant"),
                                ("colleague", "Bo Colleague", "attendant"),
                                ("specialist", "Chen Specialist", "crm_specialist")):
            answer = await http.post("/staff", json={
                "display_name": name, "role": role,
                "hired_at": (now() - timedelta(days=30)).isoformat()})
            assert answer.status_code == 201, answer.text
            hired[who] = answer.json()["staff_id"]
    club.staff = Staff(**{who: UUID(staff_id) for who, staff_id in hired.items()})

    async def directories_know_them() -> bool:
        async with club.as_("reception", Role.HEAD) as http:
            for staff_id in hired.values():
                answer = await http.get(f"/staff/{staff_id}")
                if answer.status_code != 200 or answer.json()["status"] != "active":
                    return False
        async with club.as_("crm", Role.HEAD) as http:
            team = (await http.get("/followups/team")).json()
        return hired["specialist"] in [m["staff_id"] for m in team]

    await wait_for(directories_know_them, timeout=PATIENCE, interval=0.3,
                   what="reception and CRM learning of the staff from staff.hired")
    yield club
    for process in processes.values():
        if process.running():
            await process.stop()
