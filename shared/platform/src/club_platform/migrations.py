"""Alembic, the same way in every service: `migrations/env.py` calls `run_migrations` with
the service's metadata, and the URL comes from the service's settings (or `-x url=…`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(service_root: Path, url: str) -> Config:
    config = Config(str(service_root / "alembic.ini"))
    config.set_main_option("script_location", str(service_root / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(service_root: Path, url: str, revision: str = "head") -> None:
    """Apply the service's migrations (blocking; call through `asyncio.to_thread` in async
    code, since Alembic's async env runs its own event loop)."""
    command.upgrade(alembic_config(service_root, url), revision)


async def upgrade_async(service_root: Path, url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, service_root, url, revision)


def run_migrations(target_metadata: MetaData, default_url: str | None = None) -> None:
    """The body of every service's `migrations/env.py`."""
    config = context.config
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url") or default_url
    if not url:
        raise SystemExit("no database URL: set the service's …_DATABASE_URL or pass -x url=…")

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
