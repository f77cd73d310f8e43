"""Notifications: the outbox of messages to customers and staff and its delivery log, the
customers' message preferences and the staff's work contacts.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.UUID(), primary_key=True),
        sa.Column("dedupe_key", sa.Text(), nullable=False, unique=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("recipient_id", sa.UUID(), nullable=False),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.Column("booking_id", sa.UUID()),
        sa.Column("source_event_id", sa.UUID(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("due_at", Time, nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text()),
        sa.Column("language", sa.Text()),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", Time),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("sent_at", Time),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_index("notifications_due", "notifications", ["due_at"],
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_index("notifications_recipient", "notifications", ["recipient_id", "created_at"])
    op.create_index("notifications_booking", "notifications", ["booking_id"],
                    postgresql_where=sa.text("booking_id IS NOT NULL"))
    op.create_table(
        "notification_preferences",
        sa.Column("customer_id", sa.UUID(), primary_key=True),
        sa.Column("channel", sa.Text(), server_default="email", nullable=False),
        sa.Column("unsubscribed_at", Time),
        sa.Column("undeliverable_lookup", sa.Text()),
        sa.Column("undeliverable_reason", sa.Text()),
        sa.Column("updated_at", Time, nullable=False),
    )
    op.create_table(
        "staff_contacts",
        sa.Column("staff_id", sa.UUID(), primary_key=True),
        sa.Column("email_enc", sa.Text()),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("undeliverable_reason", sa.Text()),
        sa.Column("updated_at", Time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_contacts")
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
