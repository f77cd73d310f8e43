"""Work the reception service does on a timer (each run one transaction under an advisory
lock, driven by the runtime's clock so tests move time instead of sleeping)."""

from __future__ import annotations

from club_platform.runtime import PeriodicJob

from club_reception.services import mark_overdue_tasks
from club_reception.settings import ReceptionSettings

TASKS_OVERDUE = "tasks_overdue"


def build_jobs(settings: ReceptionSettings) -> tuple[PeriodicJob, ...]:
    # A task past due and not done is escalated for follow-up, once (R2 §2.2).
    return (PeriodicJob(TASKS_OVERDUE, settings.task_check_seconds, mark_overdue_tasks),)
