"""The staff register (R1 §2, R2 §2): hiring, role changes, suspension and reinstatement are
published for the other services; only the right roles may change it."""

from datetime import timedelta
from uuid import uuid4

from club_contracts import StaffChanged, StaffHired


async def test_hiring_publishes_staff_hired_with_the_contract_fields(hr, kafka_tap):
    async with kafka_tap("staff.hired") as tap:
        member = await hr.hire("crm_specialist", display_name="Li Na", department="service")
        seen = await tap.events(StaffHired, key=member["staff_id"])
    event = seen[0].event
    assert str(event.staff_id) == member["staff_id"]
    assert (event.role, event.display_name, event.department) == (
        "crm_specialist", "Li Na", "service")
    assert seen[0].headers["ce_source"] == "club/hr"
    register = await hr.call("head", "GET", "/staff", params={"role": "crm_specialist"},
                             expect=200)
    assert member["staff_id"] in [m["staff_id"] for m in register.json()]


async def test_a_repeated_hire_with_the_same_idempotency_key_hires_once(hr, kafka_tap):
    body = {"display_name": "Wang Fang", "role": "attendant"}
    headers = {"Idempotency-Key": str(uuid4())}
    async with kafka_tap("staff.hired") as tap:
        first = await hr.call("hr_admin", "POST", "/staff", json=body, headers=headers,
                              subject=(admin := uuid4()), expect=201)
        again = await hr.call("hr_admin", "POST", "/staff", json=body, headers=headers,
                              subject=admin, expect=201)
        await tap.events(StaffHired, key=first.json()["staff_id"])
        seen = await tap.settle(1.0)
    assert again.json()["staff_id"] == first.json()["staff_id"]
    hires = [s for s in seen if isinstance(s.event, StaffHired)
             and s.event.display_name == "Wang Fang"]
    assert len(hires) == 1


async def test_registering_an_existing_id_twice_is_a_conflict(hr):
    staff_id = str(uuid4())
    await hr.hire("attendant", staff_id=staff_id)
    again = await hr.call("hr_admin", "POST", "/staff", expect=409,
                          json={"display_name": "Twin", "role": "attendant",
                                "staff_id": staff_id})
    assert staff_id in again.json()["detail"]


async def test_role_change_suspension_and_reinstatement_publish_staff_changed(hr, kafka_tap):
    member = await hr.hire("attendant")
    staff_id = member["staff_id"]
    async with kafka_tap("staff.changed") as tap:
        await hr.call("hr_admin", "POST", f"/staff/{staff_id}/role", json={"role": "deputy"},
                      expect=200)
        suspended = await hr.call("head", "POST", f"/staff/{staff_id}/suspension",
                                  json={"reason": "pending an investigation"}, expect=200)
        await hr.call("head", "POST", f"/staff/{staff_id}/reinstatement",
                      json={"reason": "investigation closed"}, expect=200)
        seen = await tap.events(StaffChanged, key=staff_id, count=3)
    assert [(s.event.role, s.event.status) for s in seen] == [
        ("deputy", "active"), ("deputy", "suspended"), ("deputy", "active")]
    assert suspended.json()["status"] == "suspended"


async def test_a_suspension_with_an_end_lifts_itself(hr, hr_app, kafka_tap):
    member = await hr.hire("attendant")
    staff_id = member["staff_id"]
    until = hr.clock.now() + timedelta(days=3)
    await hr.call("head", "POST", f"/staff/{staff_id}/suspension", expect=200,
                  json={"reason": "R2 §8.2", "until": until.isoformat()})
    runtime = hr_app.state.runtime
    await runtime.run_job("end_suspensions", until - timedelta(minutes=1))
    still = await hr.call("head", "GET", f"/staff/{staff_id}", expect=200)
    assert still.json()["status"] == "suspended"
    async with kafka_tap("staff.changed") as tap:
        await runtime.run_job("end_suspensions", until + timedelta(minutes=1))
        seen = await tap.events(StaffChanged, key=staff_id)
    assert seen[0].event.status == "active"
    after = await hr.call("head", "GET", f"/staff/{staff_id}", expect=200)
    assert after.json()["status"] == "active" and after.json()["suspended_until"] is None


async def test_only_the_hr_admin_hires_and_staff_see_only_themselves(hr):
    body = {"display_name": "Nobody", "role": "attendant"}
    refused = await hr.call("attendant", "POST", "/staff", json=body, expect=403)
    assert refused.json()["code"] == "forbidden"
    await hr.call("member", "GET", "/staff", expect=403)
    async with hr.as_("attendant") as http:
        http.headers.pop("Authorization")
        assert (await http.get("/staff")).status_code == 401
    member = await hr.hire("attendant")
    mine = await hr.call("attendant", "GET", f"/staff/{member['staff_id']}",
                         subject=member["staff_id"], expect=200)
    assert mine.json()["staff_id"] == member["staff_id"]
    await hr.call("attendant", "GET", f"/staff/{member['staff_id']}", expect=403)


async def test_bad_staff_input_is_a_clear_422(hr):
    wrong_role = await hr.call("hr_admin", "POST", "/staff", expect=422,
                               json={"display_name": "X", "role": "janitor"})
    assert "role" in wrong_role.json()["detail"]
    naive = await hr.call("hr_admin", "POST", "/staff", expect=422,
                          json={"display_name": "X", "role": "attendant",
                                "hired_at": "2026-01-01T09:00:00"})
    assert "hired_at" in naive.json()["detail"]
    typo = await hr.call("hr_admin", "POST", "/staff", expect=422,
                         json={"display_name": "X", "role": "attendant", "rol": "head"})
    assert "rol" in typo.json()["detail"]
    await hr.call("head", "GET", f"/staff/{uuid4()}", expect=404)
    member = await hr.hire("attendant")
    same = await hr.call("hr_admin", "POST", f"/staff/{member['staff_id']}/role",
                         json={"role": "attendant"}, expect=409)
    assert "already" in same.json()["detail"]
