"""Issue 9, scenario 7 (continued): another member's (or colleague's) records, and the audit
of personal-data reads, on real records made through the four services as real processes.

One member, Alba, books, walks in, is served and completes a visit, opens a complaint and is
invited to a survey (reception's `visit.completed` reaches the CRM over Kafka); another
member, Bruno, tries to read or change each of them and gets what each service documents:
404 for a booking, a visit or a complaint that is not his (they do not exist for him), 403
when he names Alba in a query or a booking, and lists that show only his own. Staff likewise
see only their own HR records. Then a CRM specialist reads Alba's record, and the head finds
exactly that read, with its purpose, in the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
from club_platform.auth import Role
from club_platform.testing import client, wait_for


class Club:
    """The four processes, called as a role (with a fixed id per role, or a given subject)."""

    def __init__(self, processes, token, subjects) -> None:
        self.processes, self.token, self.subjects = processes, token, subjects

    async def call(self, service: str, role: Role, method: str, path: str, *,
                   subject: UUID | None = None, expect: int | None = None,
                   **kwargs) -> httpx.Response:
        subject = subject or self.subjects[role]
        async with client(self.processes[service].url, self.token(role, subject=subject)) as http:
            response = await http.request(method, path, **kwargs)
        if expect is not None:
            assert response.status_code == expect, (
                f"{role.value} {method} {service}{path}: {response.status_code} {response.text}")
        return response


def _next_morning() -> datetime:
    """10:00 UTC tomorrow: more than an hour's notice, inside the booking horizon."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=UTC)


async def test_a_member_cannot_reach_another_members_records(club, token, subjects):
    c = Club(club, token, subjects)
    alba, bruno = uuid4(), uuid4()
    host = uuid4()

    # --- booking: Alba books online; to Bruno her booking does not exist
    court = (await c.call("booking", Role.HEAD, "POST", "/resources", expect=201, json={
        "name": "Court 7", "kind": "court", "capacity": 4, "location": "East hall",
        "opening_hours": [{"weekday": d, "opens_at": "00:00", "closes_at": "24:00"}
                          for d in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                    "saturday", "sunday")]})).json()
    code = f"tennis-{uuid4().hex[:8]}"
    await c.call("booking", Role.HEAD, "POST", "/services", expect=201, json={
        "code": code, "name": "Tennis", "duration_minutes": 60, "resource_kinds": ["court"]})
    booking = (await c.call("booking", Role.MEMBER, "POST", "/bookings", subject=alba,
                            expect=201, json={"resource_id": court["id"], "service_code": code,
                                              "starts_at": _next_morning().isoformat()})).json()
    mine = f"/bookings/{booking['id']}"
    await c.call("booking", Role.MEMBER, "GET", mine, subject=alba, expect=200)
    for method, path, body in [
        ("GET", mine, None),
        ("POST", f"{mine}/reschedule",
         {"starts_at": (_next_morning() + timedelta(hours=2)).isoformat()}),
        ("POST", f"{mine}/cancel", {"reason": "customer_request"}),
    ]:
        await c.call("booking", Role.MEMBER, method, path, subject=bruno, json=body, expect=404)
    await c.call("booking", Role.MEMBER, "GET", "/bookings", subject=bruno,
                 params={"customer_id": str(alba)}, expect=403)
    assert (await c.call("booking", Role.MEMBER, "GET", "/bookings", subject=bruno,
                         expect=200)).json() == []
    await c.call("booking", Role.MEMBER, "POST", "/bookings", subject=bruno, expect=403, json={
        "resource_id": court["id"], "service_code": code, "customer_id": str(alba),
        "starts_at": (_next_morning() + timedelta(hours=4)).isoformat()})
    still = (await c.call("booking", Role.MEMBER, "GET", mine, subject=alba, expect=200)).json()
    assert (still["status"], still["starts_at"]) == ("booked", booking["starts_at"])

    # --- reception: Alba walks in and is served; Bruno sees neither her visit nor its notes
    await c.call("hr", Role.HR_ADMIN, "POST", "/staff", expect=201, json={
        "display_name": "Host", "role": "attendant", "staff_id": str(host)})
    await wait_for(lambda: _known_to_reception(c, host), timeout=60,
                   what="reception learns of the new attendant from staff.hired")
    location = (await c.call("reception", Role.HEAD, "POST", "/locations", expect=201,
                             json={"name": f"Lounge {alba.hex[:6]}", "kind": "room"})).json()
    visit = (await c.call("reception", Role.ATTENDANT, "POST", "/visits/walk-in", expect=201,
                          json={"customer_id": str(alba), "location_id": location["location_id"],
                                "host_staff_id": str(host)})).json()
    at = f"/visits/{visit['visit_id']}"
    started = datetime.now(UTC)
    await c.call("reception", Role.ATTENDANT, "POST", f"{at}/services", expect=201, json={
        "service_code": code, "staff_id": str(host), "started_at": started.isoformat(),
        "ended_at": (started + timedelta(seconds=30)).isoformat(),
        "notes": "prefers the left court; knee injury"})
    await c.call("reception", Role.ATTENDANT, "POST", f"{at}/complete", expect=200)
    await c.call("reception", Role.MEMBER, "GET", at, subject=bruno, expect=404)
    others = await c.call("reception", Role.MEMBER, "GET", "/visits", subject=bruno,
                          params={"customer_id": str(alba)}, expect=200)
    assert others.json() == []  # a member's list is their own, whatever they ask for
    own = (await c.call("reception", Role.MEMBER, "GET", at, subject=alba, expect=200)).json()
    assert own["customer_id"] == str(alba)
    assert "knee injury" not in str(own)  # internal notes are not the member's to read
    staff_view = (await c.call("reception", Role.ATTENDANT, "GET", at, expect=200)).json()
    assert "knee injury" in str(staff_view)

    # --- crm: Alba's complaint and survey invitation are hers alone
    await c.call("crm", Role.ATTENDANT, "POST", "/customers", expect=201, json={
        "customer_id": str(alba), "full_name": "Alba Rossi", "phone": "+39 333 123 4567",
        "email": f"alba-{alba.hex[:6]}@example.org"})
    complaint = (await c.call("crm", Role.MEMBER, "POST", "/complaints", subject=alba,
                              expect=201, json={"category": "service", "severity": "low",
                                                "channel": "app",
                                                "description": "The court was not swept."})
                 ).json()
    it = f"/complaints/{complaint['complaint_id']}"
    await c.call("crm", Role.MEMBER, "GET", it, subject=alba, expect=200)
    await c.call("crm", Role.MEMBER, "GET", it, subject=bruno, expect=404)
    listed = await c.call("crm", Role.MEMBER, "GET", "/complaints", subject=bruno,
                          params={"customer_id": str(alba)}, expect=200)
    assert listed.json() == []
    await c.call("crm", Role.MEMBER, "POST", "/complaints", subject=bruno, expect=403, json={
        "customer_id": str(alba), "category": "service", "severity": "low", "channel": "app",
        "description": "Opened in someone else's name."})
    await c.call("crm", Role.MEMBER, "GET", f"/customers/{alba}", subject=bruno, expect=403)
    await c.call("crm", Role.MEMBER, "GET", "/customers/me", subject=bruno, expect=404)
    me = (await c.call("crm", Role.MEMBER, "GET", "/customers/me", subject=alba,
                       expect=200)).json()
    assert me["full_name"] == "Alba Rossi"

    async def invited() -> list:
        found = await c.call("crm", Role.MEMBER, "GET", "/surveys/invitations", subject=alba,
                             expect=200)
        return [i for i in found.json() if i["visit_id"] == visit["visit_id"]]

    await wait_for(invited, timeout=60, what="the CRM invites Alba after visit.completed")
    brunos = (await c.call("crm", Role.MEMBER, "GET", "/surveys/invitations", subject=bruno,
                           params={"customer_id": str(alba), "visit_id": visit["visit_id"]},
                           expect=200)).json()
    assert brunos == []


async def _known_to_reception(c: Club, staff_id: UUID) -> bool:
    found = await c.call("reception", Role.HEAD, "GET", f"/staff/{staff_id}")
    return found.status_code == 200


async def test_staff_see_only_their_own_hr_records(club, token, subjects):
    c = Club(club, token, subjects)
    cai, dan = uuid4(), uuid4()
    for who, name in ((cai, "Cai"), (dan, "Dan")):
        await c.call("hr", Role.HR_ADMIN, "POST", "/staff", expect=201, json={
            "display_name": name, "role": "attendant", "staff_id": str(who)})
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    shift = (await c.call("hr", Role.HEAD, "POST", "/shifts", expect=201, json={
        "staff_id": str(dan), "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=8)).isoformat()})).json()
    dans = f"/shifts/{shift['shift_id']}"
    await c.call("hr", Role.ATTENDANT, "GET", dans, subject=dan, expect=200)
    await c.call("hr", Role.ATTENDANT, "GET", f"/staff/{dan}", subject=dan, expect=200)
    for path, params in [(dans, None), (f"/staff/{dan}", None), ("/shifts", {"staff_id": dan}),
                         ("/attendance/clockings", {"staff_id": dan}),
                         ("/assessments", {"staff_id": dan}), ("/gifts", {"staff_id": dan}),
                         ("/discipline/cases", {"staff_id": dan}),
                         ("/kpi-facts", {"staff_id": dan})]:
        await c.call("hr", Role.ATTENDANT, "GET", path, subject=cai, params=params, expect=403)
    assert (await c.call("hr", Role.ATTENDANT, "GET", "/shifts", subject=cai,
                         expect=200)).json() == []
    # nor act in a colleague's name
    await c.call("hr", Role.ATTENDANT, "POST", "/gifts", subject=cai, expect=403, json={
        "staff_id": str(dan), "description": "A bottle of wine", "disposition": "refused",
        "received_at": datetime.now(UTC).isoformat()})


async def test_a_specialists_read_of_personal_data_is_in_the_heads_audit(club, token,
                                                                         subjects):
    c = Club(club, token, subjects)
    customer = uuid4()
    specialist, attendant = uuid4(), uuid4()
    await c.call("crm", Role.ATTENDANT, "POST", "/customers", subject=attendant, expect=201,
                 json={"customer_id": str(customer), "full_name": "Chen Wei",
                       "email": f"chen-{customer.hex[:6]}@example.org"})
    record = f"/customers/{customer}"
    # refused reads read nothing, so they leave no trace as reads
    await c.call("crm", Role.ATTENDANT, "GET", record, subject=attendant, expect=403,
                 headers={"X-Access-Purpose": "customer_request"})
    no_purpose = await c.call("crm", Role.CRM_SPECIALIST, "GET", record, subject=specialist)
    assert (no_purpose.status_code, no_purpose.json()["code"]) == (400, "purpose_required")
    read = await c.call("crm", Role.CRM_SPECIALIST, "GET", record, subject=specialist,
                        headers={"X-Access-Purpose": "complaint_handling"}, expect=200)
    assert read.json()["full_name"] == "Chen Wei"
    await c.call("crm", Role.CRM_SPECIALIST, "GET", f"{record}/notes", subject=specialist,
                 params={"purpose": "followup_call"}, expect=200)
    await c.call("crm", Role.MEMBER, "GET", "/customers/me", subject=customer, expect=200)

    for role in (Role.DEPUTY, Role.CRM_SPECIALIST, Role.ATTENDANT, Role.MEMBER):
        await c.call("crm", role, "GET", "/audit/pii-access", expect=403)
    log = (await c.call("crm", Role.HEAD, "GET", "/audit/pii-access", expect=200,
                        params={"customer_id": str(customer)})).json()
    seen = sorted((row["actor_id"], row["actor_role"], row["action"], row["purpose"])
                  for row in log)
    assert [s for s in seen if s[2] != "register"] == sorted([
        (str(specialist), "crm_specialist", "read_profile", "complaint_handling"),
        (str(specialist), "crm_specialist", "read_notes", "followup_call"),
        (str(customer), "member", "read_profile", "data_subject_access"),
    ])
    assert [s[:3] for s in seen if s[2] == "register"] == [
        (str(attendant), "attendant", "register")]
    by_actor = (await c.call("crm", Role.HEAD, "GET", "/audit/pii-access", expect=200,
                             params={"actor_id": str(specialist)})).json()
    assert {row["customer_id"] for row in by_actor} == {str(customer)}
