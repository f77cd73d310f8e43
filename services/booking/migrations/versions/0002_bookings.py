"""Resources, opening hours, closures, the service catalogue, bookings and erased customers.

Revision ID: 0002
Revises: 0001

No double booking is the database's job (R1 §3.1): an exclusion constraint over
(resource_id WITH =, tstzrange(held_from, held_until) WITH &&) for every booking that still
holds its resource (any status but cancelled). btree_gist gives GiST the `=` on uuid; the
test database factory and the local infrastructure create it as superuser, and it is a
trusted extension from PostgreSQL 13, so the database owner may create it too.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")

    op.create_table(
        "resources",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("capacity BETWEEN 1 AND 1000", name="resources_capacity"),
        sa.CheckConstraint("kind ~ '^[a-z][a-z0-9_]{0,39}$'", name="resources_kind"),
    )

    op.create_table(
        "opening_hours",
        sa.Column("resource_id", UUID, sa.ForeignKey("resources.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("weekday", sa.SmallInteger, primary_key=True),
        sa.Column("opens_minute", sa.SmallInteger, primary_key=True),
        sa.Column("closes_minute", sa.SmallInteger, nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="opening_hours_weekday"),
        sa.CheckConstraint(
            "opens_minute >= 0 AND closes_minute <= 1440 AND closes_minute > opens_minute",
            name="opening_hours_order"),
    )
    op.execute(
        "ALTER TABLE opening_hours ADD CONSTRAINT opening_hours_no_overlap EXCLUDE USING gist "
        "(resource_id WITH =, weekday WITH =, int4range(opens_minute, closes_minute) WITH &&)"
    )

    op.create_table(
        "closures",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("resource_id", UUID, sa.ForeignKey("resources.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", UUID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="closures_order"),
    )
    op.create_index("ix_closures_resource_id", "closures", ["resource_id"])

    op.create_table(
        "service_catalogue",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("buffer_after_minutes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("resource_kinds", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="service_duration"),
        sa.CheckConstraint("buffer_before_minutes BETWEEN 0 AND 240 "
                           "AND buffer_after_minutes BETWEEN 0 AND 240", name="service_buffers"),
        sa.CheckConstraint("cardinality(resource_kinds) >= 1", name="service_resource_kinds"),
    )

    op.create_table(
        "bookings",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("resource_id", UUID, sa.ForeignKey("resources.id"), nullable=False),
        sa.Column("service_code", sa.Text, sa.ForeignKey("service_catalogue.code"),
                  nullable=False),
        sa.Column("customer_id", UUID, nullable=True),
        sa.Column("customer_erased_at", TIME, nullable=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("offline_channel", sa.Text, nullable=True),
        sa.Column("party_size", sa.Integer, nullable=False),
        sa.Column("staff_id", UUID, nullable=True),
        sa.Column("starts_at", TIME, nullable=False),
        sa.Column("ends_at", TIME, nullable=False),
        sa.Column("held_from", TIME, nullable=False),
        sa.Column("held_until", TIME, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_by", UUID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("cancelled_at", TIME, nullable=True),
        sa.Column("cancelled_by", UUID, nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("cancelled_late", sa.Boolean, nullable=True),
        sa.Column("no_show_at", TIME, nullable=True),
        sa.Column("no_show_by", UUID, nullable=True),
        sa.Column("visit_id", UUID, nullable=True),
        sa.Column("checked_in_at", TIME, nullable=True),
        sa.CheckConstraint("status IN ('booked', 'fulfilled', 'cancelled', 'no_show')",
                           name="bookings_status"),
        sa.CheckConstraint("channel IN ('online', 'offline')", name="bookings_channel"),
        sa.CheckConstraint(
            "(channel = 'online' AND offline_channel IS NULL) OR "
            "(channel = 'offline' AND offline_channel IN ('phone', 'desk', 'walk_in'))",
            name="bookings_offline_channel",
        ),
        sa.CheckConstraint("customer_id IS NOT NULL OR customer_erased_at IS NOT NULL",
                           name="bookings_customer"),
        sa.CheckConstraint("party_size >= 1", name="bookings_party_size"),
        sa.CheckConstraint(
            "ends_at > starts_at AND held_from <= starts_at AND held_until >= ends_at",
            name="bookings_times"),
    )
    # The guarantee itself. '[)': a booking held until 11:00 and one held from 11:00 meet
    # without overlapping. Cancelled bookings free their slot; no-shows keep it.
    op.execute(
        "ALTER TABLE bookings ADD CONSTRAINT bookings_no_double_booking EXCLUDE USING gist "
        "(resource_id WITH =, tstzrange(held_from, held_until, '[)') WITH &&) "
        "WHERE (status <> 'cancelled')"
    )
    op.create_index("bookings_customer_starts", "bookings", ["customer_id", "starts_at"])
    op.create_index("bookings_waiting_starts", "bookings", ["starts_at"],
                    postgresql_where=sa.text("status = 'booked'"))

    op.create_table(
        "erased_customers",
        sa.Column("customer_id", UUID, primary_key=True),
        sa.Column("erased_at", TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_customers")
    op.drop_table("bookings")
    op.drop_table("service_catalogue")
    op.drop_table("closures")
    op.drop_table("opening_hours")
    op.drop_table("resources")
