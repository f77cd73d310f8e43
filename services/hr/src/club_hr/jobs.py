"""Work the hr service does on a timer (each run one transaction under an advisory lock)."""

from __future__ import annotations

from datetime import timedelta

from club_platform.runtime import PeriodicJob

from club_hr.services import attendance, staff
from club_hr.settings import HrSettings


def build_jobs(settings: HrSettings) -> tuple[PeriodicJob, ...]:
    grace = timedelta(minutes=settings.attendance_grace_minutes)
    return (
        # A suspension with an end date lifts itself (R2 §8.2).
        PeriodicJob("end_suspensions", settings.suspension_check_seconds,
                    staff.end_suspensions),
        # A shift that ended with nobody clocked in and no leave is an absence (R2 §6.1).
        PeriodicJob("detect_absences", settings.absence_check_seconds,
                    lambda session, now: attendance.detect_absences(
                        session, now=now, grace=grace)),
    )
