"""Reception's tables: locations, visits, service records, incidents and their actions, and
the copies kept from events (expected arrivals, the staff directory).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("location_id", sa.UUID(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("updated_at", Time, nullable=False),
        sa.CheckConstraint(
            "kind IN ('room', 'area', 'court', 'table', 'lounge', 'desk', 'other')",
            name="kind_known",
        ),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 1", name="capacity_positive"),
    )
    op.create_index("locations_name_unique", "locations", [sa.literal_column("lower(name)")],
                    unique=True)

    op.create_table(
        "visits",
        sa.Column("visit_id", sa.UUID(), primary_key=True),
        sa.Column("booking_id", sa.UUID(), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.UUID(), sa.ForeignKey("locations.location_id"),
                  nullable=False),
        sa.Column("host_staff_id", sa.UUID(), nullable=False),
        sa.Column("checked_in_at", Time, nullable=False),
        sa.Column("checked_in_by", sa.UUID(), nullable=False),
        sa.Column("completed_at", Time, nullable=True),
        sa.Column("completed_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("party_size >= 1", name="party_size_positive"),
        sa.CheckConstraint("walk_in = (booking_id IS NULL)", name="walk_in_has_no_booking"),
    )
    op.create_index("visits_booking_unique", "visits", ["booking_id"], unique=True,
                    postgresql_where=sa.text("booking_id IS NOT NULL"))
    op.create_index("visits_customer_on_floor", "visits", ["customer_id"], unique=True,
                    postgresql_where=sa.text("completed_at IS NULL"))
    op.create_index("visits_checked_in_at", "visits", ["checked_in_at"])

    op.create_table(
        "service_records",
        sa.Column("record_id", sa.UUID(), primary_key=True),
        sa.Column("visit_id", sa.UUID(), sa.ForeignKey("visits.visit_id"), nullable=False),
        sa.Column("service_code", sa.Text(), nullable=False),
        sa.Column("staff_id", sa.UUID(), nullable=False),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("ended_at", Time, nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("notes_erased_at", Time, nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=False),
        sa.Column("recorded_at", Time, nullable=False),
        sa.CheckConstraint("ended_at > started_at", name="ends_after_start"),
    )
    op.create_index("ix_service_records_visit_id", "service_records", ["visit_id"])

    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.UUID(), primary_key=True),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("location_id", sa.UUID(), sa.ForeignKey("locations.location_id"),
                  nullable=False),
        sa.Column("visit_id", sa.UUID(), sa.ForeignKey("visits.visit_id"), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.UUID(), nullable=False),
        sa.Column("occurred_at", Time, nullable=False),
        sa.Column("reported_at", Time, nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=True),
        sa.Column("root_cause_by", sa.UUID(), nullable=True),
        sa.Column("root_cause_at", Time, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("closed_by", sa.UUID(), nullable=True),
        sa.Column("closed_at", Time, nullable=True),
        sa.CheckConstraint("category IN ('safety', 'facility', 'security', 'other')",
                           name="category_known"),
        sa.CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')",
                           name="severity_known"),
    )
    op.create_index("ix_incidents_reported_at", "incidents", ["reported_at"])

    op.create_table(
        "incident_actions",
        sa.Column("action_id", sa.UUID(), primary_key=True),
        sa.Column("incident_id", sa.UUID(), sa.ForeignKey("incidents.incident_id"),
                  nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("assigned_to", sa.UUID(), nullable=True),
        sa.Column("due_at", Time, nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=False),
        sa.Column("recorded_at", Time, nullable=False),
        sa.Column("done_at", Time, nullable=True),
        sa.Column("done_by", sa.UUID(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
    )
    op.create_index("ix_incident_actions_incident_id", "incident_actions", ["incident_id"])

    # Copies kept from events (projections; see schema.py).
    op.create_table(
        "expected_arrivals",
        sa.Column("booking_id", sa.UUID(), primary_key=True),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("service_code", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.UUID(), nullable=True),
        sa.Column("booked_at", Time, nullable=True),
        sa.Column("resource_id", sa.UUID(), nullable=True),
        sa.Column("starts_at", Time, nullable=True),
        sa.Column("ends_at", Time, nullable=True),
        sa.Column("scheduled_at", Time, nullable=True),
        sa.Column("cancelled_at", Time, nullable=True),
        sa.Column("cancelled_late", sa.Boolean(), nullable=True),
        sa.Column("customer_disputed", sa.Boolean(), server_default=sa.text("false"),
                  nullable=False),
    )
    op.create_index("expected_arrivals_starts_at", "expected_arrivals", ["starts_at"])

    op.create_table(
        "staff",
        sa.Column("staff_id", sa.UUID(), primary_key=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("hired_at", Time, nullable=True),
    )
    op.create_table(
        "staff_standings",
        sa.Column("staff_id", sa.UUID(), primary_key=True),
        sa.Column("effective_at", Time, primary_key=True),
        sa.Column("status", sa.Text(), primary_key=True),
        sa.Column("role", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('active', 'suspended', 'offboarded')",
                           name="status_known"),
    )


def downgrade() -> None:
    for table in ("staff_standings", "staff", "expected_arrivals", "incident_actions",
                  "incidents", "service_records", "visits", "locations"):
        op.drop_table(table)
