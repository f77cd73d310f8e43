import os

from club_platform.migrations import run_migrations

from club_hr.schema import metadata

run_migrations(metadata, default_url=os.environ.get("HR_DATABASE_URL"))
