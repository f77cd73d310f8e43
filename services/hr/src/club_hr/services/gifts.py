"""The gift register (R2 §6.3): declared gifts, refused, handed over or accepted with the head's
or the deputy's approval."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from club_platform.errors import Invalid, NotFound
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import gifts as rules
from club_hr.schema import erased_customers, gift_declarations
from club_hr.services import staff as register


def gift_view(row: Any) -> dict:
    return {
        "gift_id": row.gift_id, "staff_id": row.staff_id, "customer_id": row.customer_id,
        "description": row.description,
        "estimated_value": None if row.estimated_value is None else {
            "amount": f"{row.estimated_value:.2f}", "currency": row.currency},
        "received_at": row.received_at, "disposition": row.disposition, "status": row.status,
        "declared_by": row.declared_by, "declared_at": row.declared_at,
        "decided_by": row.decided_by, "decided_at": row.decided_at,
        "decision_note": row.decision_note,
    }


async def _gift(session: AsyncSession, gift_id: UUID, *, for_update: bool = False) -> Any:
    query = select(gift_declarations).where(gift_declarations.c.gift_id == gift_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no gift declaration {gift_id}")
    return row


async def get_gift(session: AsyncSession, gift_id: UUID) -> dict:
    return gift_view(await _gift(session, gift_id))


async def declare(session: AsyncSession, *, now: datetime, staff_id: UUID, declared_by: UUID,
                  customer_id: UUID | None, description: str, value: Decimal | None,
                  currency: str, received_at: datetime, disposition: str) -> dict:
    await register.get(session, staff_id)
    if received_at > now:
        raise Invalid("a gift cannot have been offered in the future")
    if customer_id is not None and await session.scalar(
            select(erased_customers.c.customer_id)
            .where(erased_customers.c.customer_id == customer_id)) is not None:
        raise Invalid("that customer's data has been erased; declare the gift without the "
                      "customer id")
    gift_id = uuid4()
    await session.execute(gift_declarations.insert().values(
        gift_id=gift_id, staff_id=staff_id, customer_id=customer_id, description=description,
        estimated_value=value, currency=currency if value is not None else None,
        received_at=received_at, disposition=disposition,
        status=rules.status_for(disposition), declared_by=declared_by, declared_at=now))
    return await get_gift(session, gift_id)


async def decide(session: AsyncSession, *, now: datetime, gift_id: UUID, decided_by: UUID,
                 approved: bool, note: str) -> dict:
    row = await _gift(session, gift_id, for_update=True)
    rules.check_decidable(row.status)
    values: dict[str, Any] = {"status": rules.decided_status(approved), "decided_by": decided_by,
                              "decided_at": now, "decision_note": note}
    if not approved:
        values["disposition"] = "handed_over"
    await session.execute(gift_declarations.update()
                          .where(gift_declarations.c.gift_id == gift_id).values(**values))
    return await get_gift(session, gift_id)


async def list_gifts(session: AsyncSession, *, staff_id: UUID | None,
                     status: str | None) -> list[dict]:
    query = select(gift_declarations).order_by(gift_declarations.c.received_at).limit(1000)
    if staff_id:
        query = query.where(gift_declarations.c.staff_id == staff_id)
    if status:
        query = query.where(gift_declarations.c.status == status)
    return [gift_view(r) for r in (await session.execute(query)).all()]


async def forget_customer(session: AsyncSession, *, customer_id: UUID,
                          erased_at: datetime) -> None:
    """customer.erased (R1 §6): HR keeps no trace of the customer's id from now on."""
    await session.execute(insert(erased_customers).values(customer_id=customer_id,
                                                          erased_at=erased_at)
                          .on_conflict_do_nothing())
    await session.execute(gift_declarations.update()
                          .where(gift_declarations.c.customer_id == customer_id)
                          .values(customer_id=None))
