"""`Idempotency-Key` on creating endpoints (docs/authorization.md).

The key, who sent it, the endpoint and a hash of the request are stored with the response in
the same transaction as the effect. A repeat returns the stored response; the same key with a
different request is refused (422). Two concurrent repeats meet at the primary key: the
second waits for the first to commit, then replays its response.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from club_platform.auth import Principal
from club_platform.db import idempotency_keys
from club_platform.errors import Invalid
from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

MAX_KEY_LENGTH = 200


@dataclass
class StoredResponse:
    status_code: int
    body: Any


def request_hash(payload: Any) -> str:
    return hashlib.sha256(
        orjson.dumps(jsonable_encoder(payload), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()


async def claim(session: AsyncSession, *, key: str | None, principal: Principal, scope: str,
                payload: Any) -> StoredResponse | None:
    """Claim `key` for this request; returns the earlier response if it was already used."""
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    digest = request_hash(payload)
    claimed = await session.execute(
        insert(idempotency_keys)
        .values(principal=str(principal.id), scope=scope, key=key, request_hash=digest,
                status_code=0, response={})
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.key)
    )
    if claimed.first() is not None:
        return None
    row = (await session.execute(
        select(idempotency_keys.c.request_hash, idempotency_keys.c.status_code,
               idempotency_keys.c.response)
        .where(idempotency_keys.c.principal == str(principal.id),
               idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
    )).one()
    if row.request_hash != digest:
        raise Invalid("this Idempotency-Key was already used for a different request")
    return StoredResponse(row.status_code, row.response)


async def remember(session: AsyncSession, *, key: str | None, principal: Principal, scope: str,
                   status_code: int, body: Any) -> None:
    """Store the response for `key` (in the same transaction as the effect)."""
    if key is None:
        return
    await session.execute(
        idempotency_keys.update()
        .where(idempotency_keys.c.principal == str(principal.id),
               idempotency_keys.c.scope == scope, idempotency_keys.c.key == key)
        .values(status_code=status_code, response=jsonable_encoder(body))
    )
