"""PostgreSQL wiring: one async engine per service, a transaction per unit of work, and the
tables the platform keeps in every service database (outbox, inbox, idempotency keys)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Names used in every service database. The trigger wakes the relay when a row commits.
OUTBOX_TABLE = "outbox"
OUTBOX_CHANNEL = "club_outbox"
INBOX_TABLE = "inbox"
IDEMPOTENCY_TABLE = "idempotency_keys"


# The platform's tables, the same in every service database.
platform_metadata = sa.MetaData()

outbox = sa.Table(
    OUTBOX_TABLE,
    platform_metadata,
    # Identity order is the publish order: rows that share a key are written by transactions
    # that lock the same aggregate, so their ids follow their commit order.
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("event_id", PG_UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.clock_timestamp()),
)

inbox = sa.Table(
    INBOX_TABLE,
    platform_metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", PG_UUID(as_uuid=True), primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.clock_timestamp()),
)

idempotency_keys = sa.Table(
    IDEMPOTENCY_TABLE,
    platform_metadata,
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
              server_default=sa.func.now()),
)


def add_platform_tables(metadata: sa.MetaData) -> None:
    """Put the platform tables in a service's metadata, so Alembic's autogenerate sees them."""
    for table in platform_metadata.tables.values():
        table.to_metadata(metadata)


NOTIFY_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION club_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Delivered at commit, coalesced per transaction: only a wake-up, the relay also polls.
  PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
  RETURN NULL;
END $$;
"""
NOTIFY_TRIGGER_SQL = f"""
CREATE TRIGGER {OUTBOX_TABLE}_notify AFTER INSERT ON {OUTBOX_TABLE}
FOR EACH STATEMENT EXECUTE FUNCTION club_outbox_notify();
"""


def install_platform_schema(connection: sa.Connection) -> None:
    """Create the platform tables and the relay's wake-up trigger on a (sync) connection."""
    platform_metadata.create_all(connection)
    connection.execute(sa.text(NOTIFY_FUNCTION_SQL))
    connection.execute(sa.text(NOTIFY_TRIGGER_SQL))


def create_platform_tables(op) -> None:
    """Alembic helper: create the platform tables in a service's first migration."""
    install_platform_schema(op.get_bind())


def drop_platform_tables(op) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {OUTBOX_TABLE}_notify ON {OUTBOX_TABLE}")
    op.execute("DROP FUNCTION IF EXISTS club_outbox_notify()")
    for name in (IDEMPOTENCY_TABLE, INBOX_TABLE, OUTBOX_TABLE):
        op.drop_table(name)


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg wants, from a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class Database:
    """The service's engine and its unit of work: `async with db.transaction() as session`."""

    def __init__(self, url: str, *, pool_size: int = 10, statement_timeout_ms: int = 15_000,
                 application_name: str = "club") -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_timeout=10,
            connect_args={
                "timeout": 5,
                "server_settings": {
                    "application_name": application_name,
                    "statement_timeout": str(statement_timeout_ms),
                },
            },
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit when the block ends, roll back when it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
