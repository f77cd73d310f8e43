"""Pure rules: the level a training proposes, and the task facts that do not depend on which of
`task.overdue` / `task.completed` arrives first."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from club_contracts import TaskCompleted, TaskOverdue

from club_hr.domain.facts import facts_from
from club_hr.domain.kpis import Observation, measure
from club_hr.domain.skills import proposed_level


@pytest.mark.parametrize(("current", "raise_by", "up_to", "expected"), [
    (0, 1, 4, 1), (1, 2, 4, 3), (3, 2, 4, 4), (2, 1, 2, None), (3, 1, 2, None), (4, 1, 4, None),
])
def test_a_training_raises_by_its_step_never_past_its_cap(current, raise_by, up_to, expected):
    assert proposed_level(current, raise_by, up_to) == expected


def test_an_overdue_task_done_late_is_the_same_single_fact_in_either_order():
    owner, task = uuid4(), uuid4()
    due = datetime(2026, 3, 2, 9, tzinfo=UTC)
    overdue = TaskOverdue(task_id=task, owner_id=owner, due_at=due, escalated_to_role="deputy",
                          overdue_at=due + timedelta(minutes=30))
    late = TaskCompleted(task_id=task, owner_id=owner, completed_by=owner, due_at=due,
                         completed_at=due + timedelta(hours=3), on_time=False)
    (a,), (b,) = facts_from(overdue), facts_from(late)
    assert a == b  # same kind, owner, task and due time: the second is not kept
    assert (a.kind, a.staff_id, a.subject_id, a.occurred_at, a.attrs) == (
        "task", owner, task, due, {"on_time": False})


def test_tasks_on_time_is_a_share_of_the_tasks_due():
    found = [Observation("task.completed", uuid4(), "task", datetime(2026, 3, 2, tzinfo=UTC),
                         attrs={"on_time": on_time}) for on_time in (True, False, True, False)]
    result = measure("tasks_on_time", found)
    assert (result.value, result.how) == (50, "100 × 2 / 4 tasks due, completed on time")
    assert measure("tasks_on_time", []).value is None  # no task due: not measured
