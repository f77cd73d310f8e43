"""Work the hr service does on a timer (each run one transaction under an advisory lock)."""

from __future__ import annotations

from club_platform.runtime import PeriodicJob

from club_hr.services import staff
from club_hr.settings import HrSettings


def build_jobs(settings: HrSettings) -> tuple[PeriodicJob, ...]:
    return (
        # A suspension with an end date lifts itself (R2 §8.2).
        PeriodicJob("end_suspensions", settings.suspension_check_seconds,
                    staff.end_suspensions),
    )
