import os

from club_platform.migrations import run_migrations

from club_booking.schema import metadata

run_migrations(metadata, default_url=os.environ.get("BOOKING_DATABASE_URL"))
