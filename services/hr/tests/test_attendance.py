"""R2 §6.1 working hours over real HTTP and Kafka: shifts, clockings from the API and from door
systems (attendance.clocked), and late arrivals and early leaves beyond the grace period."""

from datetime import timedelta
from uuid import uuid4

from club_contracts import AttendanceClocked, ShiftChanged
from club_platform.envelope import envelope_for


def door(staff_id, direction, at):
    return AttendanceClocked(staff_id=staff_id, direction=direction, at=at, device_id=uuid4())


async def violations(hr, staff_id, **params):
    response = await hr.call("head", "GET", "/attendance/violations", expect=200,
                             params={"staff_id": staff_id, **params})
    return response.json()


async def test_a_late_door_clock_in_is_a_violation_citing_its_event(hr, event_publisher):
    member = await hr.hire("attendant")
    start = hr.clock.now().replace(microsecond=0) - timedelta(days=2)
    shift = await hr.shift(member["staff_id"], start)
    event = door(member["staff_id"], "in", start + timedelta(minutes=17, seconds=30))
    envelope = await event_publisher.publish(event)
    found = await hr.poll("head", "/attendance/violations", lambda v: v,
                          params={"staff_id": member["staff_id"]})
    assert len(found) == 1
    late = found[0]
    assert (late["kind"], late["minutes"], late["status"]) == ("late_arrival", 17, "active")
    assert late["shift_id"] == shift["shift_id"]
    assert late["source_event_id"] == str(envelope.id)
    verdict = await hr.call("head", "GET", f"/shifts/{shift['shift_id']}", expect=200)
    assert verdict.json()["attendance"]["late_minutes"] == 17
    assert verdict.json()["attendance"]["kept"] is False


async def test_a_door_event_delivered_twice_is_recorded_once(hr, event_publisher):
    member = await hr.hire("attendant")
    at = hr.clock.now() - timedelta(days=1)
    event = door(member["staff_id"], "in", at)
    envelope = envelope_for(event)
    await event_publisher.publish(event, envelope=envelope)
    await event_publisher.publish(event, envelope=envelope)
    marker = door(member["staff_id"], "out", at + timedelta(hours=8))
    await event_publisher.publish(marker)  # same key, so it arrives after both copies
    found = await hr.poll("head", "/attendance/clockings", lambda c: len(c) >= 2,
                          params={"staff_id": member["staff_id"]})
    assert [c["direction"] for c in found] == ["in", "out"]
    assert found[0]["source_event_id"] == str(envelope.id)


async def test_clocking_in_late_and_leaving_early_through_the_api(hr):
    member = await hr.hire("attendant")
    me = member["staff_id"]
    now = hr.clock.now()
    shift = await hr.shift(me, now - timedelta(minutes=20), hours=1)
    clocked = await hr.call("attendant", "POST", "/attendance/clockings", subject=me,
                            json={"direction": "in"}, expect=201)
    assert clocked.json()["at"].startswith(now.isoformat()[:19])
    hr.clock.advance(minutes=10)
    await hr.call("attendant", "POST", "/attendance/clockings", subject=me,
                  json={"direction": "out"}, expect=201)
    found = {v["kind"]: v for v in await violations(hr, me)}
    assert found["late_arrival"]["minutes"] == 20
    assert found["early_leave"]["minutes"] == 30
    assert found["late_arrival"]["source_event_id"] is None
    mine = await hr.call("attendant", "GET", "/shifts", subject=me, expect=200)
    assert [s["shift_id"] for s in mine.json()] == [shift["shift_id"]]


async def test_an_earlier_clock_in_that_arrives_later_withdraws_the_violation(
        hr, event_publisher):
    member = await hr.hire("attendant")
    start = hr.clock.now().replace(microsecond=0) - timedelta(days=3)
    await hr.shift(member["staff_id"], start)
    await event_publisher.publish(door(member["staff_id"], "in", start + timedelta(minutes=40)))
    await hr.poll("head", "/attendance/violations", lambda v: v,
                  params={"staff_id": member["staff_id"], "status": "active"})
    # The badge reader at the staff entrance was offline; the supervisor records the real
    # arrival, which was on time.
    await hr.call("head", "POST", "/attendance/clockings", expect=201,
                  json={"direction": "in", "staff_id": member["staff_id"],
                        "at": (start - timedelta(minutes=3)).isoformat()})
    found = await violations(hr, member["staff_id"])
    assert [(v["kind"], v["status"]) for v in found] == [("late_arrival", "withdrawn")]


async def test_a_shift_scheduled_after_the_door_reported_is_judged_at_once(hr, event_publisher):
    member = await hr.hire("attendant")
    start = hr.clock.now().replace(microsecond=0) - timedelta(days=4)
    await event_publisher.publish(door(member["staff_id"], "out",
                                       start + timedelta(hours=7, minutes=45)))
    await hr.poll("head", "/attendance/clockings", lambda c: c,
                  params={"staff_id": member["staff_id"]})
    assert await violations(hr, member["staff_id"]) == []
    await hr.shift(member["staff_id"], start)
    found = await violations(hr, member["staff_id"])
    assert [(v["kind"], v["minutes"]) for v in found] == [("early_leave", 15)]


async def test_cancelling_a_shift_withdraws_its_violations(hr):
    member = await hr.hire("attendant")
    start = hr.clock.now() - timedelta(days=5)
    shift = await hr.shift(member["staff_id"], start)
    await hr.call("head", "POST", "/attendance/clockings", expect=201,
                  json={"direction": "in", "staff_id": member["staff_id"],
                        "at": (start + timedelta(minutes=30)).isoformat()})
    assert [v["status"] for v in await violations(hr, member["staff_id"])] == ["active"]
    cancelled = await hr.call("head", "POST", f"/shifts/{shift['shift_id']}/cancellation",
                              expect=200)
    assert cancelled.json()["status"] == "cancelled"
    assert [v["status"] for v in await violations(hr, member["staff_id"])] == ["withdrawn"]


async def test_scheduling_and_cancelling_a_shift_tells_the_staff_member(hr, kafka_tap):
    """Each change to someone's rota is published (`shift.changed`), in the transaction that
    made it, so the staff member hears of it."""
    member = await hr.hire("attendant")
    start = hr.clock.now().replace(microsecond=0) + timedelta(days=2)
    async with kafka_tap("shift.changed") as tap:
        shift = await hr.shift(member["staff_id"], start)
        await hr.call("head", "POST", f"/shifts/{shift['shift_id']}/cancellation", expect=200)
        seen = await tap.events(ShiftChanged, key=shift["shift_id"], count=2)
    assert [(s.event.change, str(s.event.staff_id), s.event.starts_at, s.event.ends_at)
            for s in seen] == [
        ("scheduled", member["staff_id"], start, start + timedelta(hours=8)),
        ("cancelled", member["staff_id"], start, start + timedelta(hours=8))]
    assert all(s.event.changed_at == hr.clock.now() and s.event.changed_by for s in seen)


async def test_someone_hr_does_not_know_yet_is_still_recorded(hr, event_publisher):
    stranger = uuid4()
    await event_publisher.publish(door(stranger, "in", hr.clock.now() - timedelta(hours=1)))
    found = await hr.poll("hr_admin", "/attendance/clockings", lambda c: c,
                          params={"staff_id": str(stranger)})
    assert found[0]["source"] == "door"


async def test_bad_shifts_and_clockings_are_refused_clearly(hr):
    member = await hr.hire("attendant")
    start = hr.clock.now() + timedelta(days=10)
    backwards = await hr.call("head", "POST", "/shifts", expect=422, json={
        "staff_id": member["staff_id"], "starts_at": start.isoformat(),
        "ends_at": (start - timedelta(hours=1)).isoformat()})
    assert "end after it starts" in backwards.json()["detail"]
    await hr.shift(member["staff_id"], start)
    overlap = await hr.call("head", "POST", "/shifts", expect=409, json={
        "staff_id": member["staff_id"], "starts_at": (start + timedelta(hours=2)).isoformat(),
        "ends_at": (start + timedelta(hours=9)).isoformat()})
    assert "already has a shift" in overlap.json()["detail"]
    await hr.call("head", "POST", "/shifts", expect=404, json={
        "staff_id": str(uuid4()), "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat()})
    backdated = await hr.call("attendant", "POST", "/attendance/clockings", expect=422,
                              subject=member["staff_id"],
                              json={"direction": "in", "at": start.isoformat()})
    assert "current time" in backdated.json()["detail"]
    await hr.call("attendant", "POST", "/attendance/clockings", expect=403,
                  json={"direction": "in", "staff_id": member["staff_id"],
                        "at": hr.clock.now().isoformat()})
    await hr.call("attendant", "POST", "/shifts", expect=403, json={
        "staff_id": member["staff_id"], "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat()})
    await hr.call("attendant", "GET", "/attendance/violations", expect=403,
                  params={"staff_id": member["staff_id"]})


async def test_a_door_clocking_from_the_future_is_dead_lettered_with_the_reason(
        hr, event_publisher, kafka_tap, hr_settings):
    member = await hr.hire("attendant")
    wrong = door(member["staff_id"], "in", hr.clock.now() + timedelta(days=2))
    async with kafka_tap(hr_settings.dead_letter_topic) as tap:
        envelope = await event_publisher.publish(wrong)
        (dead,) = await tap.wait_for(lambda s: s.headers.get("ce_id") == str(envelope.id))
    assert dead.headers["dlq_reason"] == "unprocessable"
    assert "ahead of HR's clock" in dead.headers["dlq_error"]
    clockings = await hr.call("head", "GET", "/attendance/clockings", expect=200,
                              params={"staff_id": member["staff_id"]})
    assert clockings.json() == []
