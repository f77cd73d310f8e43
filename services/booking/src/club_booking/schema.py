"""The booking service's tables. Alembic migrations in `migrations/` create them."""

from __future__ import annotations

import sqlalchemy as sa
from club_platform.db import add_platform_tables

metadata = sa.MetaData()
add_platform_tables(metadata)
