"""Work plans and tasks (R1 §2.2, §8.1; R2 §2.2): the head or deputy plans a period, routines
recur on days of the week, and each task carries an owner, a due time and a checklist.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "routines",
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
    op.create_table(
        "plans",
        sa.Column("plan_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("created_by", UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.CheckConstraint("period_end >= period_start", name="period_ordered"),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("plan_id", UUID(as_uuid=True), sa.ForeignKey("plans.plan_id"),
                  nullable=False),
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
        sa.CheckConstraint("(routine IS NULL) = (occurs_on IS NULL)",
                           name="occurrence_has_a_day"),
        sa.CheckConstraint("escalated_to IS NULL OR escalated_to IN ('deputy', 'head')",
                           name="escalated_to_known"),
    )
    op.create_index("tasks_plan", "tasks", ["plan_id"])
    op.create_index("tasks_owner_due", "tasks", ["owner_id", "due_at"])
    op.create_index("tasks_due", "tasks", ["due_at"])
    # One occurrence of a routine per day, whichever plan made it: planning again is harmless.
    op.create_index("tasks_routine_day", "tasks", ["routine", "occurs_on"], unique=True,
                    postgresql_where=sa.text("routine IS NOT NULL"))
    # What the overdue sweep reads: only tasks still waiting.
    op.create_index("tasks_waiting", "tasks", ["due_at"],
                    postgresql_where=sa.text("completed_at IS NULL AND overdue_at IS NULL"))


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_table("plans")
    op.drop_table("routines")
