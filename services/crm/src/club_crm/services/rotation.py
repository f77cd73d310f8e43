"""Key rotation of the field encryption (R1 §6.2): re-seal every personal value, and re-hash
every lookup, under the newest key, in small transactions, while the service keeps running.

    club-crm reencrypt --check   how many values each key still seals
    club-crm reencrypt           move them all to the newest key

The procedure is in the service README.
"""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import sqlalchemy as sa
from club_platform.db import Database
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain.customers import normalise_email, normalise_phone
from club_crm.fieldcrypt import FORMAT, FieldCipher
from club_crm.schema import SEALED, place

LOOKUPS = {"email_lookup": ("email_enc", normalise_email),
           "phone_lookup": ("phone_enc", normalise_phone)}


async def key_usage(session: AsyncSession) -> dict[str, int]:
    """Values per key id across every sealed column and lookup."""
    usage: Counter[str] = Counter()
    for table, (_pk, columns) in SEALED.items():
        for column in columns:
            rows = await session.execute(sa.text(
                f"SELECT split_part({column}, ':', 2) AS kid, count(*) AS n FROM {table} "
                f"WHERE {column} IS NOT NULL GROUP BY 1"))
            usage.update({r.kid: r.n for r in rows})
    for column in LOOKUPS:
        rows = await session.execute(sa.text(
            f"SELECT split_part({column}, ':', 1) AS kid, count(*) AS n FROM customers "
            f"WHERE {column} IS NOT NULL GROUP BY 1"))
        usage.update({r.kid: r.n for r in rows})
    return dict(usage)


async def reencrypt(database: Database, cipher: FieldCipher, *, batch: int = 200) -> int:
    """Re-seal everything not under the newest key; returns how many rows changed."""
    changed = 0
    current = f"{FORMAT}:{cipher.current_key_id}:%"
    for table, (pk, columns) in SEALED.items():
        stale = [f"({c} IS NOT NULL AND {c} NOT LIKE :current)" for c in columns]
        if table == "customers":
            stale += [f"({c} IS NOT NULL AND {c} NOT LIKE :lookup)" for c in LOOKUPS]
        while True:
            async with database.transaction() as session:
                rows = (await session.execute(sa.text(
                    f"SELECT {pk} AS id, {', '.join(columns)} FROM {table} "
                    f"WHERE {' OR '.join(stale)} ORDER BY {pk} LIMIT :batch "
                    "FOR UPDATE SKIP LOCKED"),
                    {"current": current, "lookup": f"{cipher.current_key_id}:%",
                     "batch": batch})).all()
                for row in rows:
                    values = _resealed(cipher, table, row.id, row._mapping, columns)
                    await session.execute(
                        sa.text(f"UPDATE {table} SET "
                                f"{', '.join(f'{c} = :{c}' for c in values)} "
                                f"WHERE {pk} = :id"), {**values, "id": row.id})
                changed += len(rows)
            if len(rows) < batch:
                break
    return changed


def _resealed(cipher: FieldCipher, table: str, row_id: UUID, row: dict,
              columns: tuple[str, ...]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    plain: dict[str, str | None] = {}
    for column in columns:
        where = place(table, column, row_id)
        plain[column] = cipher.open_optional(row[column], place=where)
        values[column] = cipher.seal_optional(plain[column], place=where) if not \
            cipher.is_current(row[column]) else row[column]
    if table == "customers":
        for lookup, (source, normalise) in LOOKUPS.items():
            value = plain[source]
            values[lookup] = cipher.lookup(normalise(value)) if value else None
    return values
