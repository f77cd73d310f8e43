"""Each service's migrations build what its `schema.py` declares (tables, columns and their
types, indexes, constraints): the code and the database cannot drift apart unnoticed, e.g. an
index added to the schema with no migration to create it in databases already deployed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from club_platform.migrations import upgrade_async
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]


def _declared(obj, name, type_, reflected, compare_to) -> bool:
    # The platform's own tables (outbox, inbox, idempotency keys) come from the platform's
    # migration and are not in a service's metadata: compare only what the service declares.
    return not (type_ == "table" and reflected and compare_to is None)


@pytest.mark.parametrize("service", ["booking", "reception", "crm", "hr"])
async def test_the_migrations_build_what_the_schema_declares(service, database_factory):
    url = await database_factory.create(service)
    await upgrade_async(ROOT / "services" / service, url)
    metadata = importlib.import_module(f"club_{service}.schema").metadata

    def differences(connection) -> list:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_object": _declared})
        return compare_metadata(context, metadata)

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert found == []
