"""The crm service's tables. Alembic migrations in `migrations/` create them.

Columns ending in `_enc` hold personal data sealed by `fieldcrypt` (never plaintext);
`*_lookup` columns hold keyed hashes for exact-match search. Tables filled from other
services' events (staff, visits, no_shows) keep only ids and times, never a foreign key to
`customers`: events arrive in any order (docs/events.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from club_platform.db import add_platform_tables
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

metadata = sa.MetaData()
add_platform_tables(metadata)

Uuid = PG_UUID(as_uuid=True)
Time = sa.DateTime(timezone=True)

# ------------------------------------------------------------------ customers (R1 §6)

customers = sa.Table(
    "customers", metadata,
    sa.Column("customer_id", Uuid, primary_key=True),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("registered_at", Time, nullable=False),
    sa.Column("registered_by", Uuid, nullable=False),
    sa.Column("full_name_enc", sa.Text),
    sa.Column("phone_enc", sa.Text),
    sa.Column("email_enc", sa.Text),
    sa.Column("preferences_enc", sa.Text),
    sa.Column("email_lookup", sa.Text),
    sa.Column("phone_lookup", sa.Text),
    sa.Column("updated_at", Time, nullable=False),
    # A tombstone after erasure: the id stays so late events about it change nothing.
    sa.Column("erased_at", Time),
    sa.Column("erased_by", Uuid),
)
sa.Index("customers_email_lookup", customers.c.email_lookup, unique=True,
         postgresql_where=customers.c.email_lookup.isnot(None))
sa.Index("customers_phone_lookup", customers.c.phone_lookup,
         postgresql_where=customers.c.phone_lookup.isnot(None))

customer_notes = sa.Table(
    "customer_notes", metadata,
    sa.Column("note_id", Uuid, primary_key=True),
    sa.Column("customer_id", Uuid, sa.ForeignKey("customers.customer_id"), nullable=False,
              index=True),
    sa.Column("body_enc", sa.Text, nullable=False),
    sa.Column("written_by", Uuid, nullable=False),
    sa.Column("written_by_role", sa.Text, nullable=False),
    sa.Column("written_at", Time, nullable=False),
    sa.Column("followup_id", Uuid),
)

# Every read (and change) of personal data: who, when, which customer, why (docs/authorization.md).
# Holds ids and codes only, so it keeps nothing personal after an erasure.
pii_access_log = sa.Table(
    "pii_access_log", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor_id", Uuid, nullable=False),
    sa.Column("actor_role", sa.Text, nullable=False),
    sa.Column("customer_id", Uuid, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text),
    sa.Column("record_id", Uuid),   # the complaint or note read, when it is one
)
sa.Index("pii_access_log_customer", pii_access_log.c.customer_id, pii_access_log.c.at)
sa.Index("pii_access_log_actor", pii_access_log.c.actor_id, pii_access_log.c.at)
sa.Index("pii_access_log_at", pii_access_log.c.at)

no_shows = sa.Table(
    "no_shows", metadata,
    sa.Column("booking_id", Uuid, primary_key=True),
    sa.Column("customer_id", Uuid, nullable=False, index=True),
    sa.Column("resource_id", Uuid, nullable=False),
    sa.Column("starts_at", Time, nullable=False),
    sa.Column("marked_at", Time, nullable=False),
)

# ------------------------------------------------------------------ from other services

# The staff directory, from staff.hired / staff.changed / staff.offboarded: latest wins by
# effective time, so the order events arrive in does not matter.
staff = sa.Table(
    "staff", metadata,
    sa.Column("staff_id", Uuid, primary_key=True),
    sa.Column("display_name", sa.Text),
    sa.Column("department", sa.Text),
    sa.Column("role", sa.Text),   # unknown while only staff.offboarded has arrived
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("status_at", Time, nullable=False),
    sa.Column("hired_at", Time),
    sa.Column("last_assigned_at", Time),
)

visits = sa.Table(
    "visits", metadata,
    sa.Column("visit_id", Uuid, primary_key=True),
    sa.Column("customer_id", Uuid, nullable=False, index=True),
    sa.Column("booking_id", Uuid),
    sa.Column("host_staff_id", Uuid, nullable=False),
    sa.Column("staff_ids", ARRAY(Uuid), nullable=False),
    sa.Column("service_codes", ARRAY(sa.Text), nullable=False),
    sa.Column("checked_in_at", Time, nullable=False),
    sa.Column("completed_at", Time, nullable=False),
)

# ------------------------------------------------------------------ complaints (R2 §3.3–3.4)

complaints = sa.Table(
    "complaints", metadata,
    sa.Column("complaint_id", Uuid, primary_key=True),
    sa.Column("customer_id", Uuid, nullable=False, index=True),
    sa.Column("visit_id", Uuid),
    sa.Column("subject_staff_ids", ARRAY(Uuid), nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("description_enc", sa.Text),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("assigned_to", Uuid, index=True),
    sa.Column("opened_by", Uuid, nullable=False),
    sa.Column("opened_by_role", sa.Text, nullable=False),
    sa.Column("opened_at", Time, nullable=False),
    sa.Column("first_response_due_at", Time, nullable=False),
    sa.Column("resolution_due_at", Time, nullable=False),
    sa.Column("acknowledged_at", Time),
    sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
    sa.Column("escalated_to_role", sa.Text),
    sa.Column("last_escalated_at", Time),
    sa.Column("resolved_at", Time),
    sa.Column("handled_by", Uuid),
    # The explanation given to the customer (with the customer's own identifiers redacted),
    # read over the API; only its code travels, in complaint.resolved v2 (and its standard
    # wording in v1 while v1 is still published).
    sa.Column("resolution", sa.Text),
    sa.Column("resolution_code", sa.Text),
    sa.Column("compensation_kind", sa.Text),
    sa.Column("compensation_amount", sa.Numeric(14, 2)),
    sa.Column("compensation_currency", sa.Text),
    sa.Column("upheld", sa.Boolean),
    sa.Column("within_sla", sa.Boolean),
    sa.Column("closed_at", Time),
    sa.Column("reopened_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", Time, nullable=False),
)
sa.Index("complaints_active", complaints.c.resolution_due_at,
         postgresql_where=complaints.c.state.in_(["open", "acknowledged", "in_progress"]))

complaint_history = sa.Table(
    "complaint_history", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("complaint_id", Uuid, sa.ForeignKey("complaints.complaint_id"), nullable=False,
              index=True),
    sa.Column("at", Time, nullable=False),
    sa.Column("actor_id", Uuid),             # None: the SLA job
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text),
    sa.Column("escalation_level", sa.Integer),
    sa.Column("escalated_to_role", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("assigned_to", Uuid),
)

# Coordination with other departments on a complaint (R2 §3.3).
complaint_tasks = sa.Table(
    "complaint_tasks", metadata,
    sa.Column("task_id", Uuid, primary_key=True),
    sa.Column("complaint_id", Uuid, sa.ForeignKey("complaints.complaint_id"), nullable=False,
              index=True),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("description_enc", sa.Text),
    sa.Column("due_at", Time),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("outcome_enc", sa.Text),
    sa.Column("created_by", Uuid, nullable=False),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("completed_by", Uuid),
    sa.Column("completed_at", Time),
)

# ------------------------------------------------------------------ follow-ups (R1 §3.5, §5.4)

followups = sa.Table(
    "followups", metadata,
    sa.Column("followup_id", Uuid, primary_key=True),
    sa.Column("customer_id", Uuid, nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("visit_id", Uuid),
    sa.Column("complaint_id", Uuid),
    sa.Column("assigned_to", Uuid, index=True),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("completed_by", Uuid),
    sa.Column("completed_at", Time),
    sa.Column("cancelled_at", Time),
    sa.Column("cancel_reason", sa.Text),
)
# One call per visit, and at most one open call per complaint.
sa.Index("followups_one_per_visit", followups.c.visit_id, unique=True,
         postgresql_where=followups.c.reason == "post_visit")
sa.Index("followups_one_open_per_complaint", followups.c.complaint_id, unique=True,
         postgresql_where=sa.and_(followups.c.reason == "post_complaint",
                                  followups.c.state == "open"))

# ------------------------------------------------------------------ surveys (R2 §3.5)

survey_invitations = sa.Table(
    "survey_invitations", metadata,
    sa.Column("invitation_id", Uuid, primary_key=True),
    sa.Column("visit_id", Uuid, nullable=False, unique=True),
    sa.Column("customer_id", Uuid, nullable=False, index=True),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("expires_at", Time, nullable=False),
    sa.Column("responded_at", Time),
)

survey_responses = sa.Table(
    "survey_responses", metadata,
    sa.Column("response_id", Uuid, primary_key=True),
    sa.Column("invitation_id", Uuid, sa.ForeignKey("survey_invitations.invitation_id"),
              nullable=False, unique=True),
    sa.Column("visit_id", Uuid, nullable=False),
    sa.Column("customer_id", Uuid, nullable=False, index=True),
    sa.Column("csat", sa.SmallInteger, nullable=False),
    sa.Column("nps", sa.SmallInteger),
    sa.Column("comment_enc", sa.Text),
    sa.Column("staff_ids", ARRAY(Uuid), nullable=False),
    sa.Column("submitted_at", Time, nullable=False),
    sa.CheckConstraint("csat BETWEEN 1 AND 5", name="survey_csat_range"),
    sa.CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="survey_nps_range"),
)

# ------------------------------------------------------------------ notifications

# The outbox of messages to people and, once sent, their delivery log. A row is written in
# the transaction that decides to send it (the consumer's, with the event in the inbox), so
# none is lost; `dedupe_key` (event, recipient, kind) makes a repeated event write nothing.
# No address is ever stored here: the sender reads it from its owner when it sends, so an
# erased customer's log keeps none.
notifications = sa.Table(
    "notifications", metadata,
    sa.Column("notification_id", Uuid, primary_key=True),
    sa.Column("dedupe_key", sa.Text, nullable=False, unique=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),        # customer | staff
    sa.Column("recipient_id", Uuid, nullable=False),
    sa.Column("essential", sa.Boolean, nullable=False),
    sa.Column("booking_id", Uuid),                          # reminders are withdrawn by it
    sa.Column("source_event_id", Uuid, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("state", sa.Text, nullable=False),            # pending|sent|failed|bounced|...
    sa.Column("channel", sa.Text),                          # email | sms, once tried
    sa.Column("language", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Time),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Time, nullable=False),
    sa.Column("sent_at", Time),
    sa.Column("updated_at", Time, nullable=False),
)
sa.Index("notifications_due", notifications.c.due_at,
         postgresql_where=notifications.c.state == "pending")
sa.Index("notifications_recipient", notifications.c.recipient_id, notifications.c.created_at)
sa.Index("notifications_booking", notifications.c.booking_id,
         postgresql_where=notifications.c.booking_id.isnot(None))

# A customer's choices about messages: the channel, and whether non-essential messages may
# come at all (the unsubscribe link sets it). A bounce marks the address undeliverable by its
# keyed hash, so a new address clears it by itself.
notification_preferences = sa.Table(
    "notification_preferences", metadata,
    sa.Column("customer_id", Uuid, primary_key=True),
    sa.Column("channel", sa.Text, nullable=False, server_default="email"),
    sa.Column("unsubscribed_at", Time),
    sa.Column("undeliverable_lookup", sa.Text),
    sa.Column("undeliverable_reason", sa.Text),
    sa.Column("updated_at", Time, nullable=False),
)

# Staff members' work e-mail and language for their messages (HR's events carry no contact
# details, and none travel on the bus), sealed like the customers' personal data.
staff_contacts = sa.Table(
    "staff_contacts", metadata,
    sa.Column("staff_id", Uuid, primary_key=True),
    sa.Column("email_enc", sa.Text),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("undeliverable_reason", sa.Text),
    sa.Column("updated_at", Time, nullable=False),
)

# Where personal data is sealed: table → (primary key, sealed columns). Re-encryption and
# erasure walk this list, so a new sealed column is added here too.
# ------------------------------------------------------------------ running the department
# (R2 §9.1, R1 §5.3): what the service meetings' agendas count from other services, and the
# meetings and their improvement actions.

# From incident.reported: ids, codes and times (no description travels; it stays in reception).
incidents_seen = sa.Table(
    "incidents_seen", metadata,
    sa.Column("incident_id", Uuid, primary_key=True),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("location_id", Uuid, nullable=False),
    sa.Column("visit_id", Uuid),
    sa.Column("occurred_at", Time, nullable=False),
    sa.Column("reported_at", Time, nullable=False),
)
sa.Index("incidents_seen_reported", incidents_seen.c.reported_at)

# From safety.finding_opened / overdue / closed, converging in any order: closed beats
# overdue beats open (domain.meetings.finding_state); area and item come only with "opened".
safety_findings = sa.Table(
    "safety_findings", metadata,
    sa.Column("finding_id", Uuid, primary_key=True),
    sa.Column("area", sa.Text),
    sa.Column("item", sa.Text),
    sa.Column("owner_id", Uuid, nullable=False),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("opened_at", Time),
    sa.Column("overdue_at", Time),
    sa.Column("escalated_to_role", sa.Text),
    sa.Column("closed_at", Time),
    sa.Column("on_time", sa.Boolean),
)

service_meetings = sa.Table(
    "service_meetings", metadata,
    sa.Column("meeting_id", Uuid, primary_key=True),
    sa.Column("period_from", Time, nullable=False),     # the period it reviews, [from, until)
    sa.Column("period_until", Time, nullable=False),
    sa.Column("scheduled_for", Time, nullable=False),
    sa.Column("attendee_ids", ARRAY(Uuid), nullable=False),
    sa.Column("scheduled_by", Uuid, nullable=False),
    sa.Column("scheduled_at", Time, nullable=False),
    # Minutes may name customers, so they are sealed like every other free text here.
    sa.Column("minutes_enc", sa.Text),
    sa.Column("attended_ids", ARRAY(Uuid)),
    sa.Column("minutes_by", Uuid),
    sa.Column("minutes_at", Time),
    sa.Column("held_by", Uuid),
    sa.Column("held_at", Time),
)

improvement_actions = sa.Table(
    "improvement_actions", metadata,
    sa.Column("action_id", Uuid, primary_key=True),
    sa.Column("meeting_id", Uuid, sa.ForeignKey("service_meetings.meeting_id"), nullable=False,
              index=True),
    sa.Column("text_enc", sa.Text, nullable=False),
    sa.Column("owner_id", Uuid, nullable=False, index=True),
    sa.Column("due_at", Time, nullable=False),
    sa.Column("complaint_ids", ARRAY(Uuid), nullable=False),
    sa.Column("incident_ids", ARRAY(Uuid), nullable=False),
    sa.Column("assigned_by", Uuid, nullable=False),
    sa.Column("assigned_at", Time, nullable=False),
    sa.Column("completed_by", Uuid),
    sa.Column("completed_at", Time),
    sa.Column("completion_note_enc", sa.Text),
    sa.Column("on_time", sa.Boolean),
)
# GET /complaints/{id} finds the actions citing it.
sa.Index("improvement_actions_complaints", improvement_actions.c.complaint_ids,
         postgresql_using="gin")

SEALED: dict[str, tuple[str, tuple[str, ...]]] = {
    "customers": ("customer_id", ("full_name_enc", "phone_enc", "email_enc", "preferences_enc")),
    "customer_notes": ("note_id", ("body_enc",)),
    "complaints": ("complaint_id", ("description_enc",)),
    "complaint_tasks": ("task_id", ("description_enc", "outcome_enc")),
    "survey_responses": ("response_id", ("comment_enc",)),
    "staff_contacts": ("staff_id", ("email_enc",)),
    "service_meetings": ("meeting_id", ("minutes_enc",)),
    "improvement_actions": ("action_id", ("text_enc", "completion_note_enc")),
}


def place(table: str, column: str, row_id: object) -> str:
    """The associated data binding a sealed value to its table, column and row."""
    return f"{table}.{column}:{row_id}"
