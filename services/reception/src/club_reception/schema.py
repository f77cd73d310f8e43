"""The reception service's tables. Alembic migrations in `migrations/` create them.

Two kinds of data live here:

- reception's own records: locations (R1 §3.2), visits and their service records
  (R1 §3.2–3.4), incidents and their follow-up actions (R2 §6.4, §7.2);
- copies kept from other services' events (docs/events.md): the expected arrivals (from
  `booking.*`) and the staff directory (from `staff.*`). These are projections: functions of
  the events alone, so they can be rebuilt from the topics (docs/reliability.md, "Replay").
"""

from __future__ import annotations

import sqlalchemy as sa
from club_platform.db import add_platform_tables
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()
add_platform_tables(metadata)

Time = sa.DateTime(timezone=True)


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


LOCATION_KINDS = ("room", "area", "court", "table", "lounge", "desk", "other")
INCIDENT_CATEGORIES = ("safety", "facility", "security", "other")
INCIDENT_SEVERITIES = ("low", "medium", "high", "critical")
STAFF_STATUSES = ("active", "suspended", "offboarded")


# ---------------------------------------------------------------- reception's own data

# Rooms and areas guests are guided to (R1 §3.2). Managed by the head and the deputy.
locations = sa.Table(
    "locations",
    metadata,
    sa.Column("location_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("updated_at", Time, nullable=False),
    _one_of("kind", LOCATION_KINDS),
    sa.CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
)
sa.Index("locations_name_unique", sa.func.lower(locations.c.name), unique=True)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("visit_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("booking_id", UUID(as_uuid=True), nullable=True),
    sa.Column("customer_id", UUID(as_uuid=True), nullable=False),
    sa.Column("walk_in", sa.Boolean, nullable=False),
    sa.Column("party_size", sa.Integer, nullable=False),
    sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("locations.location_id"),
              nullable=False),
    sa.Column("host_staff_id", UUID(as_uuid=True), nullable=False),
    sa.Column("checked_in_at", Time, nullable=False),
    sa.Column("checked_in_by", UUID(as_uuid=True), nullable=False),
    sa.Column("completed_at", Time, nullable=True),
    sa.Column("completed_by", UUID(as_uuid=True), nullable=True),
    sa.CheckConstraint("walk_in = (booking_id IS NULL)", name="walk_in_has_no_booking"),
    sa.CheckConstraint("party_size >= 1", name="party_size_positive"),
)
# One visit per booking, and a customer is on the floor at most once at a time.
sa.Index("visits_booking_unique", visits.c.booking_id, unique=True,
         postgresql_where=visits.c.booking_id.isnot(None))
sa.Index("visits_customer_on_floor", visits.c.customer_id, unique=True,
         postgresql_where=visits.c.completed_at.is_(None))
sa.Index("visits_checked_in_at", visits.c.checked_in_at)
# Who is still at a place: read under the place's lock at every check-in (R1 §3.2), so it must
# not grow with the place's history.
sa.Index("visits_open_at_location", visits.c.location_id,
         postgresql_where=visits.c.completed_at.is_(None))

# Each service delivered in a visit (R1 §3.4): what, by whom, from when to when, and notes.
# The notes are internal and never leave this service (docs/events.md, no personal data).
service_records = sa.Table(
    "service_records",
    metadata,
    sa.Column("record_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("visit_id", UUID(as_uuid=True), sa.ForeignKey("visits.visit_id"), nullable=False,
              index=True),
    sa.Column("service_code", sa.Text, nullable=False),
    sa.Column("staff_id", UUID(as_uuid=True), nullable=False),
    sa.Column("started_at", Time, nullable=False),
    sa.Column("ended_at", Time, nullable=False),
    sa.Column("notes", sa.Text, nullable=True),
    sa.Column("notes_erased_at", Time, nullable=True),
    sa.Column("recorded_by", UUID(as_uuid=True), nullable=False),
    sa.Column("recorded_at", Time, nullable=False),
    sa.CheckConstraint("ended_at > started_at", name="ends_after_start"),
)

# Safety incidents and facility reports (R2 §6.4, §7.2).
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("incident_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("locations.location_id"),
              nullable=False),
    sa.Column("visit_id", UUID(as_uuid=True), sa.ForeignKey("visits.visit_id"), nullable=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("reported_by", UUID(as_uuid=True), nullable=False),
    sa.Column("occurred_at", Time, nullable=False),
    sa.Column("reported_at", Time, nullable=False, index=True),
    sa.Column("root_cause", sa.Text, nullable=True),
    sa.Column("root_cause_by", UUID(as_uuid=True), nullable=True),
    sa.Column("root_cause_at", Time, nullable=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Column("closed_by", UUID(as_uuid=True), nullable=True),
    sa.Column("closed_at", Time, nullable=True),
    _one_of("category", INCIDENT_CATEGORIES),
    _one_of("severity", INCIDENT_SEVERITIES),
)

incident_actions = sa.Table(
    "incident_actions",
    metadata,
    sa.Column("action_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("incident_id", UUID(as_uuid=True), sa.ForeignKey("incidents.incident_id"),
              nullable=False, index=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("assigned_to", UUID(as_uuid=True), nullable=True),
    sa.Column("due_at", Time, nullable=True),
    sa.Column("recorded_by", UUID(as_uuid=True), nullable=False),
    sa.Column("recorded_at", Time, nullable=False),
    sa.Column("done_at", Time, nullable=True),
    sa.Column("done_by", UUID(as_uuid=True), nullable=True),
    sa.Column("outcome", sa.Text, nullable=True),
)


# ---------------------------------------------------------------- copies from events

# Expected arrivals, from booking.created / rescheduled / cancelled. One row per booking,
# whatever arrived first; a cancelled booking keeps its row as a tombstone (cancelled_at set)
# so a late booking.created cannot bring it back. Only event data is stored here (no time of
# receipt), so a replay from the topics yields the same rows.
expected_arrivals = sa.Table(
    "expected_arrivals",
    metadata,
    sa.Column("booking_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", UUID(as_uuid=True), nullable=False),
    # Known once booking.created arrived.
    sa.Column("service_code", sa.Text, nullable=True),
    sa.Column("channel", sa.Text, nullable=True),
    sa.Column("party_size", sa.Integer, nullable=True),
    sa.Column("staff_id", UUID(as_uuid=True), nullable=True),
    sa.Column("booked_at", Time, nullable=True),
    # The schedule: from booking.created, replaced by a newer booking.rescheduled.
    sa.Column("resource_id", UUID(as_uuid=True), nullable=True),
    sa.Column("starts_at", Time, nullable=True),
    sa.Column("ends_at", Time, nullable=True),
    sa.Column("scheduled_at", Time, nullable=True),
    # The tombstone.
    sa.Column("cancelled_at", Time, nullable=True),
    sa.Column("cancelled_late", sa.Boolean, nullable=True),
    # Events about this booking named different customers (see domain/arrivals.py).
    sa.Column("customer_disputed", sa.Boolean, nullable=False, server_default=sa.false()),
)
sa.Index("expected_arrivals_starts_at", expected_arrivals.c.starts_at)

# The staff directory, from staff.hired (who they are) ...
staff = sa.Table(
    "staff",
    metadata,
    sa.Column("staff_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("display_name", sa.Text, nullable=True),
    sa.Column("department", sa.Text, nullable=True),
    sa.Column("hired_at", Time, nullable=True),
)

# ... and their standing over time, one fact per change (staff.hired, staff.changed,
# staff.offboarded). The standing at a moment is read from the facts in effect then, so the
# order in which the events arrived does not matter.
staff_standings = sa.Table(
    "staff_standings",
    metadata,
    sa.Column("staff_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("effective_at", Time, primary_key=True),
    sa.Column("status", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=True),
    _one_of("status", STAFF_STATUSES),
)


# ---------------------------------------------------------------- safety rounds (R2 §7.1, §7.2)

# Each area's checklist (fire_exits, wet_floors, …): its items in order, each with the wording
# staff read. Kept here only: the bus carries the codes (docs/events.md).
safety_checklist_items = sa.Table(
    "safety_checklist_items",
    metadata,
    sa.Column("area", sa.Text, primary_key=True),
    sa.Column("item", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("wording", sa.Text, nullable=False),
    sa.Column("updated_by", UUID(as_uuid=True), nullable=True),  # none: seeded
    sa.Column("updated_at", Time, nullable=False),
)

# A round scheduled by a supervisor (or called for by an incident); completed once.
safety_rounds = sa.Table(
    "safety_rounds",
    metadata,
    sa.Column("round_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("area", sa.Text, nullable=False),
    sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("locations.location_id"),
              nullable=True),
    sa.Column("walker_id", UUID(as_uuid=True), nullable=False),
    sa.Column("scheduled_for", Time, nullable=False),
    sa.Column("scheduled_by", UUID(as_uuid=True), nullable=False),
    sa.Column("scheduled_at", Time, nullable=False),
    sa.Column("incident_id", UUID(as_uuid=True), sa.ForeignKey("incidents.incident_id"),
              nullable=True),
    sa.Column("completed_at", Time, nullable=True),
    sa.Column("completed_by", UUID(as_uuid=True), nullable=True),
)
sa.Index("safety_rounds_scheduled_for", safety_rounds.c.scheduled_for)

# The checklist as it stood when the round was scheduled, and each item's answer: a later
# change of the checklist does not change what a round asked.
safety_round_items = sa.Table(
    "safety_round_items",
    metadata,
    sa.Column("round_id", UUID(as_uuid=True), sa.ForeignKey("safety_rounds.round_id"),
              primary_key=True),
    sa.Column("item", sa.Text, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("wording", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.CheckConstraint("result IS NULL OR result IN ('pass', 'fail')", name="result_known"),
)

# A failed item, with its owner and due date, escalated once when past due, closed with
# evidence. The note and evidence stay here.
safety_findings = sa.Table(
    "safety_findings",
    metadata,
    sa.Column("finding_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("round_id", UUID(as_uuid=True), sa.ForeignKey("safety_rounds.round_id"),
              nullable=False, index=True),
    sa.Column("area", sa.Text, nullable=False),
    sa.Column("item", sa.Text, nullable=False),
    sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("locations.location_id"),
              nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("incident_id", UUID(as_uuid=True), sa.ForeignKey("incidents.incident_id"),
              nullable=True),
    sa.Column("overdue_at", Time, nullable=True),
    sa.Column("escalated_to_role", sa.Text, nullable=True),
    sa.Column("closed_at", Time, nullable=True),
    sa.Column("closed_by", UUID(as_uuid=True), nullable=True),
    sa.Column("evidence", sa.Text, nullable=True),
    sa.CheckConstraint("escalated_to_role IS NULL OR escalated_to_role IN ('deputy', 'head')",
                       name="escalated_to_role_known"),
)
# What the escalation job scans: the findings still open.
sa.Index("safety_findings_open_due", safety_findings.c.due_at,
         postgresql_where=safety_findings.c.closed_at.is_(None))
# ---------------------------------------------------------------- plans and tasks
# (R1 §2.2, §8.1: the head makes and executes work plans; R2 §2.2: the deputy follows up.)
# Titles, checklists and notes are written by people and stay here: the task events carry
# codes, ids and times only (docs/events.md).

# A recurring duty (opening, closing, the daily briefing): at a time of day in the club's
# zone, on ISO weekdays (1 = Monday … 7 = Sunday).
routines = sa.Table(
    "routines",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("time_of_day", sa.Time, nullable=False),
    sa.Column("weekdays", ARRAY(sa.SmallInteger), nullable=False),
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("locations.location_id"),
              nullable=True),
    sa.Column("checklist", JSONB, nullable=False),
    sa.Column("created_by", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", Time, nullable=False),
)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("plan_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("period_end", sa.Date, nullable=False),
    sa.Column("created_by", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.CheckConstraint("period_end >= period_start", name="period_ordered"),
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("plan_id", UUID(as_uuid=True), sa.ForeignKey("plans.plan_id"), nullable=False),
    # An occurrence of a routine names it and its day; a one-off has neither.
    sa.Column("routine", sa.Text, sa.ForeignKey("routines.code"), nullable=True),
    sa.Column("occurs_on", sa.Date, nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("owner_id", UUID(as_uuid=True), nullable=False),
    sa.Column("location_id", UUID(as_uuid=True), sa.ForeignKey("locations.location_id"),
              nullable=True),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("checklist", JSONB, nullable=False),
    sa.Column("assigned_by", UUID(as_uuid=True), nullable=False),
    sa.Column("assigned_at", Time, nullable=False),
    sa.Column("completed_at", Time, nullable=True),
    sa.Column("completed_by", UUID(as_uuid=True), nullable=True),
    sa.Column("ticked", JSONB, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("overdue_at", Time, nullable=True),
    sa.Column("escalated_to", sa.Text, nullable=True),
    sa.CheckConstraint("(routine IS NULL) = (occurs_on IS NULL)", name="occurrence_has_a_day"),
    sa.CheckConstraint("escalated_to IS NULL OR escalated_to IN ('deputy', 'head')",
                       name="escalated_to_known"),
)
sa.Index("tasks_plan", tasks.c.plan_id)
sa.Index("tasks_owner_due", tasks.c.owner_id, tasks.c.due_at)
sa.Index("tasks_due", tasks.c.due_at)
sa.Index("tasks_routine_day", tasks.c.routine, tasks.c.occurs_on, unique=True,
         postgresql_where=tasks.c.routine.isnot(None))
sa.Index("tasks_waiting", tasks.c.due_at,
         postgresql_where=sa.and_(tasks.c.completed_at.is_(None), tasks.c.overdue_at.is_(None)))
