import os

from club_platform.migrations import run_migrations

from club_reception.schema import metadata

run_migrations(metadata, default_url=os.environ.get("RECEPTION_DATABASE_URL"))
