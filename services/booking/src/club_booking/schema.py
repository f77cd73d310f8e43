"""The booking service's tables. Alembic migrations in `migrations/` create them
(0002_bookings.py); this metadata mirrors them for queries and autogenerate."""

from __future__ import annotations

import sqlalchemy as sa
from club_platform.db import add_platform_tables
from sqlalchemy.dialects.postgresql import ARRAY, ExcludeConstraint
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

metadata = sa.MetaData()
add_platform_tables(metadata)

UUID = PG_UUID(as_uuid=True)
TIME = sa.DateTime(timezone=True)

# The constraint that makes a double booking impossible; its name picks the 409 out of other
# integrity errors.
NO_DOUBLE_BOOKING = "bookings_no_double_booking"

resources = sa.Table(
    "resources",
    metadata,
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

# Weekly hours in the club's local time (BOOKING_TIMEZONE), minutes after midnight.
opening_hours = sa.Table(
    "opening_hours",
    metadata,
    sa.Column("resource_id", UUID, sa.ForeignKey("resources.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("weekday", sa.SmallInteger, primary_key=True),
    sa.Column("opens_minute", sa.SmallInteger, primary_key=True),
    sa.Column("closes_minute", sa.SmallInteger, nullable=False),
    sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="opening_hours_weekday"),
    sa.CheckConstraint(
        "opens_minute >= 0 AND closes_minute <= 1440 AND closes_minute > opens_minute",
        name="opening_hours_order"),
    ExcludeConstraint(
        (sa.column("resource_id"), "="), (sa.column("weekday"), "="),
        (sa.text("int4range(opens_minute, closes_minute)"), "&&"),
        name="opening_hours_no_overlap", using="gist",
    ),
)

closures = sa.Table(
    "closures",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("resource_id", UUID, sa.ForeignKey("resources.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("starts_at", TIME, nullable=False),
    sa.Column("ends_at", TIME, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", UUID, nullable=False),
    sa.Column("created_at", TIME, nullable=False),
    sa.CheckConstraint("ends_at > starts_at", name="closures_order"),
)

service_catalogue = sa.Table(
    "service_catalogue",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("duration_minutes", sa.Integer, nullable=False),
    sa.Column("buffer_before_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("buffer_after_minutes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("resource_kinds", ARRAY(sa.Text), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TIME, nullable=False),
    sa.Column("updated_at", TIME, nullable=False),
    sa.CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name="service_duration"),
    sa.CheckConstraint("buffer_before_minutes BETWEEN 0 AND 240 "
                       "AND buffer_after_minutes BETWEEN 0 AND 240", name="service_buffers"),
    sa.CheckConstraint("cardinality(resource_kinds) >= 1", name="service_resource_kinds"),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", UUID, primary_key=True),
    sa.Column("resource_id", UUID, sa.ForeignKey("resources.id"), nullable=False),
    sa.Column("service_code", sa.Text, sa.ForeignKey("service_catalogue.code"), nullable=False),
    # NULL once CRM erased the customer: the booking stays, anonymous, for the counts.
    sa.Column("customer_id", UUID, nullable=True),
    sa.Column("customer_erased_at", TIME, nullable=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("offline_channel", sa.Text, nullable=True),
    sa.Column("party_size", sa.Integer, nullable=False),
    sa.Column("staff_id", UUID, nullable=True),
    sa.Column("starts_at", TIME, nullable=False),
    sa.Column("ends_at", TIME, nullable=False),
    # The span the resource is taken: the service's buffers around starts_at–ends_at,
    # fixed when booked (a later change to the catalogue does not move existing bookings).
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
    sa.CheckConstraint("ends_at > starts_at AND held_from <= starts_at AND held_until >= ends_at",
                       name="bookings_times"),
    # No double booking (R1 §3.1), for every request of every replica: two bookings of one
    # resource that still hold it may not overlap, buffers included. Only a cancellation
    # frees the slot; a no-show keeps it (the time has passed, and a late check-in may still
    # fulfil the booking without colliding with anything).
    ExcludeConstraint(
        (sa.column("resource_id"), "="),
        (sa.text("tstzrange(held_from, held_until, '[)')"), "&&"),
        name=NO_DOUBLE_BOOKING, using="gist", where=sa.text("status <> 'cancelled'"),
    ),
    sa.Index("bookings_customer_starts", "customer_id", "starts_at"),
    sa.Index("bookings_waiting_starts", "starts_at", postgresql_where=sa.text("status = 'booked'")),
)

# Customers CRM erased (customer.erased): only the pseudonymous id and when, so no booking is
# made for them afterwards (R1 §6.2). No personal data is kept here or anywhere in booking.
erased_customers = sa.Table(
    "erased_customers",
    metadata,
    sa.Column("customer_id", UUID, primary_key=True),
    sa.Column("erased_at", TIME, nullable=False),
)
