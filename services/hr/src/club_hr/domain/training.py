"""Training (R2 §4.2: the department organises training regularly; R2 §4.3: attendants take
regular training on members' psychology; R1 §9.2: every revision of the rules comes with
training and explanation).

A session has required attendees. Attendance is recorded per person; completing the session
marks everyone required whose attendance was not recorded as absent. Team training
compliance (a KPI of the head and the deputy) is the share of required attendances at
sessions held that were attended.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from club_platform.errors import Conflict, Invalid

MAX_SESSION = timedelta(hours=12)

SCHEDULED, HELD, CANCELLED = "scheduled", "held", "cancelled"


def check_session(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Invalid("a training session must end after it starts")
    if ends_at - starts_at > MAX_SESSION:
        raise Invalid("a training session lasts at most 12 hours")


def check_can_record(status: str, starts_at: datetime, now: datetime) -> None:
    if status == CANCELLED:
        raise Conflict("the session was cancelled")
    if starts_at > now:
        raise Conflict("attendance is recorded once the session has started")


def check_can_complete(status: str, starts_at: datetime, now: datetime) -> None:
    if status != SCHEDULED:
        raise Conflict(f"the session is already {status}")
    if starts_at > now:
        raise Conflict("a session is completed once it has taken place")
