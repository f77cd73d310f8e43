"""Fixtures for the platform's own tests: a fresh database with the platform tables and a
small `effects` table standing in for a service's side effects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import sqlalchemy as sa
from club_platform.db import Database, install_platform_schema


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def platform_database(database_factory) -> AsyncIterator[Database]:
    url = await database_factory.create("platform")
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.run_sync(install_platform_schema)
        await connection.execute(sa.text(
            "CREATE TABLE effects (event_id uuid NOT NULL, consumer text NOT NULL, "
            "payload text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"))
    yield database
    await database.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def clean_database(platform_database: Database) -> Database:
    async with platform_database.transaction() as session:
        await session.execute(sa.text("TRUNCATE outbox, inbox, effects, idempotency_keys"))
    return platform_database


@pytest.fixture
def count_effects():
    return _count_effects


async def _count_effects(database: Database, **where: str) -> int:
    clause = " AND ".join(f"{k} = :{k}" for k in where) or "true"
    async with database.transaction() as session:
        return await session.scalar(sa.text(f"SELECT count(*) FROM effects WHERE {clause}"),
                                    where)
