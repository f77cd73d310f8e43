"""What faults 1 and 5 share: a stream of the events HR turns into KPI facts, door clockings
and discipline cases, and the exact tally of what HR keeps of them, worked out from the
events themselves (not from HR's code), against which its database is counted."""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass
from uuid import UUID, uuid4

from club_contracts import (
    ComplaintOpened,
    ComplaintResolved,
    Event,
    FollowupCompleted,
    IncidentReported,
    SurveySubmitted,
    VisitCompleted,
)
from sqlalchemy import text

from .traffic import Record, ServiceData, record_of, valid_event

# The topics HR consumes for its KPI facts and attendance, in the proportions of a day.
# The stream's size (CLUB_FAULT_HR_EVENTS), and a read the health watch makes while the fault
# goes on (a staff member with no facts: cheap).
EVENTS = int(os.environ.get("CLUB_FAULT_HR_EVENTS", "10000"))
READ = f"/kpi-facts?staff_id={uuid4()}"
MIX = {"visit.completed": 30, "survey.submitted": 12, "complaint.opened": 8,
       "complaint.resolved": 8, "followup.completed": 10, "incident.reported": 4,
       "attendance.clocked": 28}


def hr_stream(count: int, seed: int, team_size: int = 40) -> list[Record]:
    """`count` valid events of HR's topics in random order, each about its own aggregate."""
    rng = random.Random(seed)
    team = [uuid4() for _ in range(team_size)]
    topics = rng.choices(list(MIX), weights=list(MIX.values()), k=count)
    return [record_of(valid_event(topic, rng, team)) for topic in topics]


def _distinct(ids: list[UUID]) -> int:
    return len(set(ids))


def facts_expected(event: Event) -> Counter:
    """The KPI facts an event must leave, by kind (docs: services/hr/src/club_hr/domain/
    facts.py, "one fact per event and staff member")."""
    match event:
        case VisitCompleted():
            return Counter(visit=1, visit_served=_distinct(
                [event.host_staff_id, *event.staff_ids, *(s.staff_id for s in event.services)]))
        case SurveySubmitted():
            return Counter(survey=1, survey_rating=_distinct(event.staff_ids))
        case ComplaintOpened():
            return Counter(complaint=1)
        case ComplaintResolved():
            upheld = _distinct(event.subject_staff_ids) if event.upheld else 0
            return Counter(complaint_resolved=1, upheld_complaint=upheld)
        case FollowupCompleted():
            return Counter(followup=1)
        case IncidentReported():
            return Counter(incident_reported=1)
    return Counter()


@dataclass
class Tally:
    """Expected and found, per thing HR keeps: lost is what is missing, duplicated what is
    there more than once (or more often than sent)."""

    expected: Counter
    found: Counter

    @property
    def lost(self) -> int:
        return sum(max(0, self.expected[k] - self.found[k]) for k in self.expected)

    @property
    def duplicated(self) -> int:
        return sum(max(0, self.found[k] - self.expected[k]) for k in self.found)


async def hr_tally(data: ServiceData, records: list[Record]) -> Tally:
    """Count what HR's database holds of `records` against what the events call for: the
    inbox per topic, KPI facts per kind, door clockings, and cases for upheld complaints."""
    events = [r.envelope.id for r in records]
    expected: Counter = Counter()
    for record in records:
        expected[f"inbox {record.topic}"] += 1
        expected.update({f"fact {k}": n for k, n in facts_expected(record.event).items() if n})
        if record.topic == "attendance.clocked":
            expected["door clockings"] += 1
        if isinstance(record.event, ComplaintResolved) and record.event.upheld:
            expected["cases for upheld complaints"] += _distinct(record.event.subject_staff_ids)
    found: Counter = Counter()
    async with data.database.transaction() as session:
        for topic, n in await session.execute(text(
                "SELECT topic, count(*) FROM inbox WHERE consumer = 'hr' "
                "AND event_id = ANY(:events) GROUP BY topic"), {"events": events}):
            found[f"inbox {topic}"] = n
        # Every (event, kind, staff member) once at most: a second row for one is a duplicate.
        for kind, rows, distinct in await session.execute(text(
                "SELECT kind, count(*), count(DISTINCT (source_event_id, staff_id)) "
                "FROM kpi_facts WHERE source_event_id = ANY(:events) GROUP BY kind"),
                {"events": events}):
            found[f"fact {kind}"] = rows
            found["duplicate fact rows"] += rows - distinct
        found["door clockings"] = await session.scalar(text(
            "SELECT count(*) FROM clockings WHERE source_event_id = ANY(:events)"),
            {"events": events})
        found["cases for upheld complaints"] = await session.scalar(text(
            "SELECT count(*) FROM discipline_cases WHERE origin = 'complaint' "
            "AND source_event_id = ANY(:events)"), {"events": events})
    return Tally(expected, found)
