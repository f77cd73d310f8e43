"""Safety incidents and facility reports (R2 §6.4, §7.2): anyone on the staff reports what is
abnormal at once; the department follows up with actions, finds the root cause and closes.

An incident is closed only with its root cause recorded and every follow-up action done,
and a closed incident takes no more changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from club_platform.errors import Conflict, Invalid

from club_reception.domain.errors import IncidentClosed
from club_reception.domain.visits import CLOCK_SKEW


@dataclass(frozen=True)
class Incident:
    incident_id: UUID
    root_cause: str | None
    closed_at: datetime | None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None


def ensure_occurred(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + CLOCK_SKEW:
        raise Invalid(f"an incident cannot be reported before it happens "
                      f"(occurred_at {occurred_at.isoformat()} is in the future)")


def ensure_open(incident: Incident, doing: str) -> None:
    if incident.closed:
        raise IncidentClosed(f"incident {incident.incident_id} was closed at "
                             f"{incident.closed_at.isoformat()}; cannot {doing}")


def ensure_closable(incident: Incident, open_actions: int) -> None:
    ensure_open(incident, "close it again")
    if not incident.root_cause:
        raise Conflict(f"incident {incident.incident_id} has no root cause yet; record it "
                       "before closing")
    if open_actions:
        raise Conflict(f"incident {incident.incident_id} has {open_actions} follow-up "
                       f"action(s) not done; finish them before closing")
