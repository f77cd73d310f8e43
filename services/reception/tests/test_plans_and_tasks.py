"""Running the department's week over real HTTP, PostgreSQL and Kafka (R1 §2.2, §8.1;
R2 §2.2): the deputy plans a week with a daily briefing Monday to Friday and one-off tasks;
staff complete theirs (one late, some never); the follow-up job escalates what is overdue,
and the plan shows how the week went."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

from club_contracts import TaskAssigned, TaskCompleted, TaskOverdue

from club_reception.jobs import TASKS_OVERDUE


def _next_monday(after: datetime) -> datetime:
    day = after.date() + timedelta(days=8)
    while day.weekday() != 0:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=UTC)


async def _a_week_ahead(desk):
    """Move the shared clock forward to a Sunday noon, the day before the planned week (the
    tests' club runs on UTC), and hire the people in it."""
    monday = _next_monday(desk.clock.now())
    desk.clock.set(monday - timedelta(hours=12))
    deputy = await desk.hire("Dee", role="deputy")
    ana = await desk.hire("Ana", role="attendant")
    bo = await desk.hire("Bo", role="attendant")
    return monday, deputy, ana, bo


async def test_a_planned_week_with_a_routine_a_late_task_and_the_escalation(desk, kafka_tap):
    monday, deputy, ana, bo = await _a_week_ahead(desk)
    location_id = await desk.location()
    briefing = f"daily_briefing_{uuid4().hex[:6]}"
    planner = desk.as_role("deputy", deputy)
    async with kafka_tap("task.assigned", "task.completed", "task.overdue") as tap, planner:
        routine = await planner.post("/routines", json={
            "code": briefing, "title": "Daily briefing", "time_of_day": "09:00",
            "weekdays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "owner_id": str(ana), "location_id": str(location_id),
            "checklist": ["attendance", "today's bookings"]})
        assert routine.status_code == 201, routine.text
        week = {"title": "Week plan", "period_start": monday.date().isoformat(),
                "period_end": (monday + timedelta(days=6)).date().isoformat(),
                "routines": [briefing]}
        planned = await planner.post("/plans", json=week)
        assert planned.status_code == 201, planned.text
        plan = planned.json()
        occurrences = plan["tasks"]
        assert [t["due_at"] for t in occurrences] == [
            (monday + timedelta(days=d, hours=9)).isoformat().replace("+00:00", "Z")
            for d in range(5)]
        assert {(t["routine"], t["owner_id"], t["state"]) for t in occurrences} == {
            (briefing, str(ana), "open")}
        # planning the same week again adds no second briefing on any day
        again = await planner.post("/plans", json={**week, "title": "Week plan, again"})
        assert again.status_code == 201, again.text
        assert again.json()["tasks"] == []

        plan_id = plan["plan_id"]
        spa = await planner.post(f"/plans/{plan_id}/tasks", json={
            "title": "Deep-clean the sauna", "owner_id": str(bo),
            "due_at": (monday + timedelta(days=2, hours=18)).isoformat(),
            "checklist": ["benches", "stones"]})
        own = await planner.post(f"/plans/{plan_id}/tasks", json={
            "title": "Order towels", "owner_id": str(deputy),
            "due_at": (monday + timedelta(days=3, hours=12)).isoformat()})
        assert spa.status_code == 201, spa.text
        assert own.status_code == 201, own.text
        spa, own = spa.json(), own.json()

        assigned = await tap.wait_for(lambda s: isinstance(s.event, TaskAssigned)
                                      and str(s.event.plan_id) == plan_id, count=7)
        mine = [s.event for s in assigned]
        assert sorted((e.routine or "", str(e.owner_id)) for e in mine) == sorted(
            [(briefing, str(ana))] * 5 + [("", str(bo)), ("", str(deputy))])

        # Monday 08:30: Ana sees her day and holds the briefing on time
        desk.clock.set(monday + timedelta(hours=8, minutes=30))
        monday_task, tuesday_task = occurrences[0]["task_id"], occurrences[1]["task_id"]
        async with desk.as_role("attendant", ana) as http:
            today = await http.get("/tasks", params={"owner": "me",
                                                     "date": monday.date().isoformat()})
            assert [t["task_id"] for t in today.json()] == [monday_task]
            half = await http.post(f"/tasks/{monday_task}/complete",
                                   json={"ticked": ["attendance"]})
            assert half.status_code == 422
            assert half.json()["code"] == "checklist_incomplete"
            assert half.json()["missing"] == ["today's bookings"]
            done = await http.post(f"/tasks/{monday_task}/complete", json={
                "ticked": ["attendance", "today's bookings"], "note": "All present"})
            assert done.status_code == 200, done.text
            assert (done.json()["state"], done.json()["on_time"]) == ("done", True)
            repeat = await http.post(f"/tasks/{monday_task}/complete", json={
                "ticked": ["attendance", "today's bookings"], "note": "Said twice"})
            assert repeat.json() == done.json()
        (on_time,) = await tap.events(TaskCompleted, key=monday_task)
        assert (on_time.event.on_time, on_time.event.completed_by) == (True, ana)

        # Tuesday 10:00: nobody held Tuesday's briefing; the follow-up escalates it once
        desk.clock.set(monday + timedelta(days=1, hours=10))
        assert await desk.runtime.run_job(TASKS_OVERDUE) >= 1
        assert await desk.runtime.run_job(TASKS_OVERDUE) == 0
        (overdue,) = await tap.events(TaskOverdue, key=tuesday_task)
        assert overdue.event.escalated_to_role == "deputy"
        assert overdue.event.owner_id == ana
        overdue_now = await planner.get("/tasks", params={"state": "overdue",
                                                          "plan_id": plan_id})
        assert [t["task_id"] for t in overdue_now.json()] == [tuesday_task]

        # Ana holds it late: it still counts, as late
        async with desk.as_role("attendant", ana) as http:
            late = await http.post(f"/tasks/{tuesday_task}/complete", json={
                "ticked": ["today's bookings", "attendance"]})
        assert late.status_code == 200, late.text
        assert (late.json()["state"], late.json()["on_time"]) == ("done", False)
        (late_event,) = await tap.events(TaskCompleted, key=tuesday_task)
        assert late_event.event.on_time is False

        # Saturday: the rest of the week was never done
        desk.clock.set(monday + timedelta(days=5, hours=10))
        assert await desk.runtime.run_job(TASKS_OVERDUE) >= 5
        (deputys,) = await tap.events(TaskOverdue, key=own["task_id"])
        assert deputys.event.escalated_to_role == "head"  # the deputy's own goes up
        (bos,) = await tap.events(TaskOverdue, key=spa["task_id"])
        assert bos.event.escalated_to_role == "deputy"

        week_now = await planner.get(f"/plans/{plan_id}")
        # the deputy's list of plans: this week's, with the same figures, found by any of
        # its days; the week after has none
        wednesday = await planner.get("/plans", params={
            "date": (monday + timedelta(days=2)).date().isoformat()})
        next_week = await planner.get("/plans", params={
            "date": (monday + timedelta(days=7)).date().isoformat()})
        async with desk.as_role("attendant", ana) as http:
            not_hers = await http.get("/plans")
    assert week_now.status_code == 200, week_now.text
    body = week_now.json()
    assert body["counts"] == {"total": 7, "done_on_time": 1, "done_late": 1, "overdue": 5,
                              "open": 0}
    assert body["completion_share"] == round(2 / 7, 4)
    assert wednesday.status_code == 200, wednesday.text
    listed = {p["plan_id"]: p for p in wednesday.json()}
    assert plan_id in listed and "tasks" not in listed[plan_id]
    assert (listed[plan_id]["counts"], listed[plan_id]["completion_share"]) == (
        body["counts"], body["completion_share"])
    assert plan_id not in {p["plan_id"] for p in next_week.json()}
    assert not_hers.status_code == 403, not_hers.text
    assert [s for s in tap.seen if isinstance(s.event, TaskOverdue)
            and str(s.event.task_id) == tuesday_task] == [overdue]  # escalated once


async def test_staff_and_members_are_refused_what_is_not_theirs(desk):
    monday, deputy, ana, bo = await _a_week_ahead(desk)
    async with desk.as_role("deputy", deputy) as planner:
        plan = (await planner.post("/plans", json={
            "title": "Monday", "period_start": monday.date().isoformat(),
            "period_end": monday.date().isoformat()})).json()
        task = (await planner.post(f"/plans/{plan['plan_id']}/tasks", json={
            "title": "Open the lounge", "owner_id": str(ana),
            "due_at": (monday + timedelta(hours=9)).isoformat()})).json()
    async with desk.as_role("attendant", bo) as http:
        theirs = await http.post(f"/tasks/{task['task_id']}/complete", json={})
        peek = await http.get(f"/tasks/{task['task_id']}")
        others = await http.get("/tasks", params={"owner": str(ana)})
        mine = await http.get("/tasks")
        plan_view = await http.get(f"/plans/{plan['plan_id']}")
        planning = await http.post("/plans", json={
            "title": "Mine", "period_start": monday.date().isoformat(),
            "period_end": monday.date().isoformat()})
    assert (theirs.status_code, theirs.json()["code"]) == (403, "not_your_task")
    assert peek.status_code == 403
    assert others.status_code == 403
    assert mine.status_code == 200 and mine.json() == []
    assert plan_view.status_code == 403
    assert planning.status_code == 403
    async with desk.as_role("member") as http:
        assert (await http.get("/tasks")).status_code == 403
        assert (await http.post(f"/tasks/{task['task_id']}/complete")).status_code == 403
    async with desk.as_role("head") as head:  # a supervisor completes on the owner's behalf
        done = await head.post(f"/tasks/{task['task_id']}/complete", json={})
    assert (done.status_code, done.json()["state"]) == (200, "done")


async def test_bad_plans_and_tasks_are_refused_with_a_reason(desk):
    monday, _deputy, ana, _bo = await _a_week_ahead(desk)
    day = monday.date().isoformat()
    async with desk.as_role("head") as head:
        backwards = await head.post("/plans", json={
            "title": "Oops", "period_start": day,
            "period_end": (monday - timedelta(days=1)).date().isoformat()})
        too_long = await head.post("/plans", json={
            "title": "Quarter", "period_start": day,
            "period_end": (monday + timedelta(days=90)).date().isoformat()})
        unknown_routine = await head.post("/plans", json={
            "title": "Week", "period_start": day, "period_end": day, "routines": ["nope"]})
        bad_code = await head.post("/routines", json={
            "code": "Opening!", "title": "Opening", "time_of_day": "08:00",
            "weekdays": ["monday"], "owner_id": str(ana)})
        bad_day = await head.post("/routines", json={
            "code": "opening_x", "title": "Opening", "time_of_day": "08:00",
            "weekdays": ["someday"], "owner_id": str(ana)})
        stranger = await head.post("/routines", json={
            "code": f"opening_{uuid4().hex[:6]}", "title": "Opening", "time_of_day": "08:00",
            "weekdays": ["monday"], "owner_id": str(uuid4())})
        plan = (await head.post("/plans", json={
            "title": "Monday", "period_start": day, "period_end": day})).json()
        outside = await head.post(f"/plans/{plan['plan_id']}/tasks", json={
            "title": "Later", "owner_id": str(ana),
            "due_at": (monday + timedelta(days=2)).isoformat()})
        naive = await head.post(f"/plans/{plan['plan_id']}/tasks", json={
            "title": "Later", "owner_id": str(ana), "due_at": f"{day}T09:00:00"})
        no_plan = await head.post(f"/plans/{uuid4()}/tasks", json={
            "title": "Later", "owner_id": str(ana),
            "due_at": (monday + timedelta(hours=9)).isoformat()})
        twice = await head.post(f"/plans/{plan['plan_id']}/tasks", json={
            "title": "Later", "owner_id": str(ana), "checklist": ["a", "a"],
            "due_at": (monday + timedelta(hours=9)).isoformat()})
        no_task = await head.post(f"/tasks/{uuid4()}/complete", json={})
        bad_owner = await head.get("/tasks", params={"owner": "someone"})
    for answer, status in ((backwards, 422), (too_long, 422), (unknown_routine, 422),
                           (bad_code, 422), (bad_day, 422), (stranger, 422), (outside, 422),
                           (naive, 422), (no_plan, 404), (twice, 422), (no_task, 404),
                           (bad_owner, 422)):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert "before it starts" in backwards.json()["detail"]
    assert "at most 31 days" in too_long.json()["detail"]
    assert unknown_routine.json()["routines"] == ["nope"]
    assert stranger.json()["code"] == "staff_not_assignable"
    assert "outside the plan's period" in outside.json()["detail"]
