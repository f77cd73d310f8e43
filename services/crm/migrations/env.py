import os

from club_platform.migrations import run_migrations

from club_crm.schema import metadata

run_migrations(metadata, default_url=os.environ.get("CRM_DATABASE_URL"))
