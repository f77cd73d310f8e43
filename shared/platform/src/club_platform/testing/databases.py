"""Throwaway databases for tests: each test session gets fresh, migrated databases owned by
their own login role, set up exactly like a service's (no CONNECT for anyone else)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import asyncpg


class DatabaseFactory:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.created: list[tuple[str, str]] = []

    def _url_for(self, role: str, password: str, database: str, driver: str) -> str:
        parts = urlsplit(self.admin_url)
        return f"{driver}://{role}:{password}@{parts.hostname}:{parts.port or 5432}/{database}"

    async def create(self, service: str) -> str:
        """A new empty database for `service`; returns its SQLAlchemy asyncpg URL."""
        name = f"{service}_t_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
            await admin.execute(f"CREATE DATABASE {name} OWNER {name}")
            await admin.execute(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
            await admin.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {name}")
        finally:
            await admin.close()
        # Extensions a service's migrations need and may not create as a plain owner.
        inside = await asyncpg.connect(self._url_for_admin(name))
        try:
            await inside.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        finally:
            await inside.close()
        self.created.append((name, name))
        return self._url_for(name, password, name, "postgresql+asyncpg")

    def _url_for_admin(self, database: str) -> str:
        parts = urlsplit(self.admin_url)
        return parts._replace(path=f"/{database}").geturl()

    async def drop_all(self) -> None:
        if not self.created:
            return
        admin = await asyncpg.connect(self.admin_url)
        try:
            for database, role in self.created:
                await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                await admin.execute(f"DROP ROLE IF EXISTS {role}")
        finally:
            await admin.close()
        self.created.clear()
