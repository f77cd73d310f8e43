"""Service meetings and improvement actions (R2 §9.1, R1 §5.3), and the two small tables of
other services' facts their agendas count: incidents (incident.reported) and safety findings
(safety.finding_opened / overdue / closed). Ids, codes and times only in those two.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "incidents_seen",
        sa.Column("incident_id", sa.UUID(), primary_key=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("location_id", sa.UUID(), nullable=False),
        sa.Column("visit_id", sa.UUID()),
        sa.Column("occurred_at", Time, nullable=False),
        sa.Column("reported_at", Time, nullable=False),
    )
    op.create_index("incidents_seen_reported", "incidents_seen", ["reported_at"])
    op.create_table(
        "safety_findings",
        sa.Column("finding_id", sa.UUID(), primary_key=True),
        sa.Column("area", sa.Text()),
        sa.Column("item", sa.Text()),
        sa.Column("owner_id", sa.UUID(), nullable=False),
        sa.Column("due_at", Time, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("opened_at", Time),
        sa.Column("overdue_at", Time),
        sa.Column("escalated_to_role", sa.Text()),
        sa.Column("closed_at", Time),
        sa.Column("on_time", sa.Boolean()),
    )
    op.create_table(
        "service_meetings",
        sa.Column("meeting_id", sa.UUID(), primary_key=True),
        sa.Column("period_from", Time, nullable=False),
        sa.Column("period_until", Time, nullable=False),
        sa.Column("scheduled_for", Time, nullable=False),
        sa.Column("attendee_ids", ARRAY(sa.UUID()), nullable=False),
        sa.Column("scheduled_by", sa.UUID(), nullable=False),
        sa.Column("scheduled_at", Time, nullable=False),
        sa.Column("minutes_enc", sa.Text()),
        sa.Column("attended_ids", ARRAY(sa.UUID())),
        sa.Column("minutes_by", sa.UUID()),
        sa.Column("minutes_at", Time),
        sa.Column("held_by", sa.UUID()),
        sa.Column("held_at", Time),
    )
    op.create_table(
        "improvement_actions",
        sa.Column("action_id", sa.UUID(), primary_key=True),
        sa.Column("meeting_id", sa.UUID(), sa.ForeignKey("service_meetings.meeting_id"),
                  nullable=False, index=True),
        sa.Column("text_enc", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.UUID(), nullable=False, index=True),
        sa.Column("due_at", Time, nullable=False),
        sa.Column("complaint_ids", ARRAY(sa.UUID()), nullable=False),
        sa.Column("incident_ids", ARRAY(sa.UUID()), nullable=False),
        sa.Column("assigned_by", sa.UUID(), nullable=False),
        sa.Column("assigned_at", Time, nullable=False),
        sa.Column("completed_by", sa.UUID()),
        sa.Column("completed_at", Time),
        sa.Column("completion_note_enc", sa.Text()),
        sa.Column("on_time", sa.Boolean()),
    )
    op.create_index("improvement_actions_complaints", "improvement_actions", ["complaint_ids"],
                    postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("improvement_actions")
    op.drop_table("service_meetings")
    op.drop_table("safety_findings")
    op.drop_table("incidents_seen")
