"""Rotating the field encryption key on a real database with the real command
(`python -m club_crm reencrypt`): the procedure the README describes, step by step."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from club_platform.auth import Principal, Role
from club_platform.db import Database
from club_platform.migrations import upgrade_async

from club_crm.domain.customers import AccessPurpose
from club_crm.fieldcrypt import CannotDecrypt, FieldCipher, generate_key, key_id
from club_crm.fieldcrypt import parse_keys as keys_of
from club_crm.services import customers
from club_crm.services.rotation import key_usage

SERVICE_ROOT = Path(__file__).resolve().parents[1]


async def _command(url: str, keys: str, jwt_secret: str, bootstrap: str, *args: str):
    env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_FIELD_ENCRYPTION_KEYS": keys,
           "CRM_JWT_SECRET": jwt_secret, "CRM_KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "club_crm", "reencrypt", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await process.communicate()
    return process.returncode, out.decode()


async def test_rotate_to_a_new_key_then_drop_the_old(database_factory, jwt_secret,
                                                     kafka_connection):
    url = await database_factory.create("crm")
    await upgrade_async(SERVICE_ROOT, url)
    old, new = generate_key(), generate_key()
    old_id, new_id = (key_id(k) for k in keys_of(f"{old},{new}"))
    database = Database(url, pool_size=2)
    reader = Principal(uuid4(), Role.CRM_SPECIALIST)
    now = datetime.now(UTC)
    try:
        async with database.transaction() as session:
            registered = await customers.register_customer(
                session, FieldCipher.from_setting(old), reader, now, customer_id=None,
                full_name="Ren Yu", phone="138 0000 8888", email="ren.yu@example.com",
                tier="gold", preferences={"language": "zh"})
            customer_id = registered["customer_id"]
            await customers.add_note(session, FieldCipher.from_setting(old), reader, now,
                                     customer_id, "likes green tea")

        both = FieldCipher.from_setting(f"{new},{old}")
        async with database.transaction() as session:
            # 1. New key first, old key kept: everything still reads, lookups still match.
            profile = await customers.read_profile(session, both, reader, now, customer_id,
                                                   AccessPurpose.ACCOUNT_MAINTENANCE)
            found = await customers.find_customers(session, both, reader, now,
                                                   email="REN.YU@example.com", phone=None,
                                                   purpose=AccessPurpose.CUSTOMER_REQUEST)
            assert profile["full_name"] == "Ren Yu" and profile["preferences"] == {
                "language": "zh"}
            assert [c["customer_id"] for c in found] == [customer_id]
            assert await key_usage(session) == {old_id: 7}

        bootstrap = kafka_connection.bootstrap_servers
        code, out = await _command(url, f"{new},{old}", jwt_secret, bootstrap, "--check")
        assert code == 1 and f"key {old_id} (configured): 7 values" in out, out
        # 2. Re-seal everything under the new key.
        code, out = await _command(url, f"{new},{old}", jwt_secret, bootstrap)
        assert code == 0 and "re-sealed 2 rows" in out, out
        assert "older keys can be removed" in out

        # 3. Drop the old key: the data reads with the new key alone; the old one is useless.
        only_new, only_old = FieldCipher.from_setting(new), FieldCipher.from_setting(old)
        async with database.transaction() as session:
            assert await key_usage(session) == {new_id: 7}
            notes = await customers.read_notes(session, only_new, reader, now, customer_id,
                                               AccessPurpose.CUSTOMER_REQUEST)
            found = await customers.find_customers(session, only_new, reader, now, email=None,
                                                   phone="13800008888",
                                                   purpose=AccessPurpose.CUSTOMER_REQUEST)
            assert [n["text"] for n in notes] == ["likes green tea"]
            assert [c["full_name"] for c in found] == ["Ren Yu"]
            with pytest.raises(CannotDecrypt, match="not configured"):
                await customers.read_profile(session, only_old, reader, now, customer_id,
                                             AccessPurpose.CUSTOMER_REQUEST)
        code, out = await _command(url, new, jwt_secret, bootstrap, "--check")
        assert code == 0 and f"key {new_id} (newest): 7 values" in out, out
    finally:
        await database.dispose()

