"""Replay (docs/reliability.md): rebuilding HR's KPI facts from the topics, from offset 0,
into an empty database gives exactly the live result, and so do the assessments computed from them.

The live service builds facts and an assessment from events this test publishes. Then a second
instance starts on a fresh, empty database with a new consumer group that reads every topic
from the beginning (and publishes nothing: its relay is off, it is a rebuild). The topics also
hold every other test's events, so only the rows about this test's staff are compared.
HR's own records (the register and the schedule) are not on the bus; they are entered into the
rebuilt instance again through its API, as they would be restored from HR's backup.
"""

from datetime import UTC, datetime, time, timedelta
from uuid import UUID, uuid4

from club_platform.envelope import envelope_for


def comparable_assessment(assessment: dict) -> dict:
    kpis = []
    for kpi in assessment["kpis"]:
        kpi = dict(kpi)
        if kpi["code"] in ("punctuality", "shifts_attended"):
            # Shifts are HR's own records, entered again with new ids: compare what they say.
            kpi["counted"] = sorted(
                (c["occurred_at"], c["value"], c["attrs"]["late_minutes"],
                 c["attrs"]["arrival_event_id"])
                for c in kpi["counted"])
            kpi.pop("counted_ids")
        else:
            kpi["counted_ids"] = sorted(kpi["counted_ids"])
            kpi["counted"] = sorted(kpi["counted"], key=lambda c: c["source_id"])
        kpis.append(kpi)
    return {"staff_id": assessment["staff_id"], "role": assessment["role"],
            "period_start": assessment["period_start"], "period_end": assessment["period_end"],
            "total_score": assessment["total_score"], "rating": assessment["rating"],
            "kpis": kpis}


def comparable_clockings(found: list[dict]) -> list[tuple]:
    return sorted((c["staff_id"], c["direction"], c["at"], c["device_id"], c["source_event_id"])
                  for c in found if c["source"] == "door")


async def test_a_replay_from_offset_zero_into_an_empty_database_gives_the_same_result(
        hr, events, event_publisher, hr_caught_up, another_hr):
    # --- the live service, from events this test publishes
    anna = UUID((await hr.hire("attendant"))["staff_id"])
    li = UUID((await hr.hire("crm_specialist"))["staff_id"])
    colleague = uuid4()
    first = hr.today() - timedelta(days=20)
    last = first + timedelta(days=4)

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(first + timedelta(days=day), time(hour, minute), UTC)

    shift_starts = [at(day, 9) for day in range(4)]
    for start in shift_starts:
        await hr.shift(anna, start)
    complaint = events.complaint_opened([anna], at(1, 10))
    batch = [
        events.visit(anna, at(0, 11)), events.visit(colleague, at(1, 12), staff_ids=[anna]),
        events.visit(anna, at(2, 15), served_by=[anna, colleague]),
        events.visit(anna, at(9, 9)),  # after the period: a fact, not counted
        events.survey([anna], 5, at(0, 13)), events.survey([anna, colleague], 3, at(2, 17)),
        # resolved before it was opened, as far as the bus is concerned
        events.complaint_resolved([anna], upheld=True, at=at(3, 10), handled_by=li, hours=26),
        complaint,
        events.complaint_resolved([colleague], upheld=False, at=at(3, 11), handled_by=li,
                                  hours=4),
        events.followup(li, due_at=at(2, 12), completed_at=at(2, 11), reason="post_complaint"),
        events.followup(li, due_at=at(2, 12), completed_at=at(2, 13)),
        events.incident(anna, at(2, 16)),
        events.door(anna, "in", at(0, 8, 55)), events.door(anna, "in", at(1, 9, 25)),
        events.door(anna, "in", at(2, 9, 2)), events.door(anna, "in", at(3, 8, 59)),
        events.door(anna, "out", at(3, 16, 10)),
    ]
    for event in batch:
        envelope = envelope_for(event)
        await event_publisher.publish(event, envelope=envelope)
        if event is complaint:
            await event_publisher.publish(event, envelope=envelope)  # delivered twice
    await hr_caught_up()
    period = {"period_start": first.isoformat(), "period_end": last.isoformat()}
    live = {}
    for member in (anna, li):
        made = await hr.call("head", "POST", "/assessments", expect=201,
                             json={"staff_id": str(member), **period})
        live[member] = (await hr.call("head", "GET",
                                      f"/assessments/{made.json()['assessment_id']}/evidence",
                                      expect=200)).json()

    async def facts_of(service, member: UUID) -> list[dict]:
        return (await service.call("head", "GET", "/kpi-facts", expect=200,
                                   params={"staff_id": str(member)})).json()

    async def clockings_of(service, member: UUID) -> list[tuple]:
        return comparable_clockings((await service.call(
            "head", "GET", "/attendance/clockings", expect=200,
            params={"staff_id": str(member)})).json())

    live_facts = {m: await facts_of(hr, m) for m in (anna, li)}
    live_clockings = await clockings_of(hr, anna)
    assert len(live_facts[anna]) == 8 and len(live_facts[li]) == 4
    assert len(live_clockings) == 5

    # --- a second instance: empty database, new group, every topic from offset 0
    rebuilt, settings = await another_hr(run_relay=False)
    await hr_caught_up(settings.group_id, timeout=150)
    for member in (anna, li):
        assert await facts_of(rebuilt, member) == live_facts[member]
    assert await clockings_of(rebuilt, anna) == live_clockings

    # HR's own records, restored: the register and the schedule.
    for member, role in ((anna, "attendant"), (li, "crm_specialist")):
        await rebuilt.call("hr_admin", "POST", "/staff", expect=201, json={
            "staff_id": str(member), "display_name": "restored", "role": role})
    for start in shift_starts:
        await rebuilt.shift(anna, start)
    for member in (anna, li):
        made = await rebuilt.call("head", "POST", "/assessments", expect=201,
                                  json={"staff_id": str(member), **period})
        replayed = (await rebuilt.call(
            "head", "GET", f"/assessments/{made.json()['assessment_id']}/evidence",
            expect=200)).json()
        assert comparable_assessment(replayed) == comparable_assessment(live[member])
    ready = await rebuilt.call("head", "GET", "/health/ready")
    assert ready.status_code == 200
