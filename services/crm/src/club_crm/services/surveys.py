"""Satisfaction surveys (R2 §3.5): invitations with single-use links, answers, reports."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID, uuid4

import sqlalchemy as sa
from club_contracts import SurveySubmitted
from club_platform.errors import NotFound
from club_platform.outbox import publish
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.domain import surveys as rules
from club_crm.fieldcrypt import FieldCipher
from club_crm.schema import place, survey_invitations, survey_responses, visits

GroupBy = Literal["staff", "service", "week", "all"]


def _status(row: sa.Row, now: datetime) -> str:
    if row.responded_at is not None:
        return "answered"
    return "expired" if now > row.expires_at else "pending"


def _invitation_view(cipher: FieldCipher, base_url: str, row: sa.Row, now: datetime) -> dict:
    status = _status(row, now)
    token = cipher.survey_token(row.invitation_id) if status == "pending" else None
    return {
        "invitation_id": row.invitation_id,
        "visit_id": row.visit_id,
        "customer_id": row.customer_id,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "responded_at": row.responded_at,
        "status": status,
        "token": token,
        "link": f"{base_url.rstrip('/')}/surveys/respond/{token}" if token else None,
    }


async def invitations(session: AsyncSession, cipher: FieldCipher, base_url: str,
                      now: datetime, *, visit_id: UUID | None = None,
                      customer_id: UUID | None = None, pending_only: bool = False,
                      limit: int = 100) -> list[dict]:
    query = sa.select(survey_invitations).order_by(
        survey_invitations.c.created_at.desc()).limit(limit)
    if visit_id is not None:
        query = query.where(survey_invitations.c.visit_id == visit_id)
    if customer_id is not None:
        query = query.where(survey_invitations.c.customer_id == customer_id)
    if pending_only:
        query = query.where(survey_invitations.c.responded_at.is_(None),
                            survey_invitations.c.expires_at >= now)
    return [_invitation_view(cipher, base_url, r, now) for r in await session.execute(query)]


async def _by_token(session: AsyncSession, cipher: FieldCipher, token: str, *,
                    for_update: bool = False) -> sa.Row:
    invitation_id = cipher.invitation_of(token)
    if invitation_id is None:
        raise NotFound("this survey link is not valid; check it was copied whole")
    query = (sa.select(survey_invitations, visits.c.completed_at, visits.c.service_codes,
                       visits.c.staff_ids)
             .join(visits, visits.c.visit_id == survey_invitations.c.visit_id)
             .where(survey_invitations.c.invitation_id == invitation_id))
    if for_update:
        query = query.with_for_update(of=survey_invitations)
    row = (await session.execute(query)).first()
    if row is None:  # genuine once, but withdrawn (the customer was erased)
        raise NotFound("this survey link is no longer valid")
    return row


async def survey_form(session: AsyncSession, cipher: FieldCipher, token: str,
                      now: datetime) -> dict:
    """What the public form shows: the visit's date and services, nothing personal."""
    row = await _by_token(session, cipher, token)
    return {"visit_completed_at": row.completed_at, "services": row.service_codes,
            "expires_at": row.expires_at, "status": _status(row, now)}


async def submit(session: AsyncSession, cipher: FieldCipher, now: datetime, token: str, *,
                 csat: int, nps: int | None, comment: str | None) -> dict:
    row = await _by_token(session, cipher, token, for_update=True)
    rules.check_can_answer(rules.Invitation(row.expires_at, row.responded_at), now)
    response_id = uuid4()
    text = comment.strip() if comment and comment.strip() else None
    await session.execute(sa.insert(survey_responses).values(
        response_id=response_id, invitation_id=row.invitation_id, visit_id=row.visit_id,
        customer_id=row.customer_id, csat=csat, nps=nps,
        comment_enc=cipher.seal_optional(text, place=place("survey_responses", "comment_enc",
                                                             response_id)),
        staff_ids=row.staff_ids, submitted_at=now))
    await session.execute(sa.update(survey_invitations)
                          .where(survey_invitations.c.invitation_id == row.invitation_id)
                          .values(responded_at=now))
    # The staff of that visit, kept from visit.completed, so HR can credit them (R2 §5).
    await publish(session, SurveySubmitted(
        response_id=response_id, customer_id=row.customer_id, visit_id=row.visit_id,
        staff_ids=row.staff_ids, csat=csat, nps=nps, submitted_at=now), occurred_at=now)
    return {"response_id": response_id, "customer_id": row.customer_id, "submitted_at": now}


_GROUP_KEY = {
    "staff": ("CROSS JOIN LATERAL unnest(v.staff_ids) AS g(key)", "g.key::text"),
    "service": ("CROSS JOIN LATERAL unnest(v.service_codes) AS g(key)", "g.key"),
    "week": ("", "to_char(date_trunc('week', v.completed_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"),
    "all": ("", "'all'"),
}


async def report(session: AsyncSession, group_by: GroupBy, since: datetime,
                 until: datetime) -> list[dict]:
    """CSAT, response rate and NPS for visits completed in [since, until) (domain.surveys)."""
    join, key = _GROUP_KEY[group_by]
    rows = await session.execute(sa.text(f"""
        SELECT {key} AS key,
               count(*) AS invitations,
               count(r.response_id) AS responses,
               coalesce(sum(r.csat), 0) AS csat_sum,
               count(*) FILTER (WHERE r.csat >= 4) AS csat_top_two,
               count(r.nps) AS nps_answers,
               count(*) FILTER (WHERE r.nps >= 9) AS promoters,
               count(*) FILTER (WHERE r.nps <= 6) AS detractors
        FROM survey_invitations i
        JOIN visits v ON v.visit_id = i.visit_id
        LEFT JOIN survey_responses r ON r.invitation_id = i.invitation_id
        {join}
        WHERE v.completed_at >= :since AND v.completed_at < :until
        GROUP BY 1 ORDER BY 1
    """), {"since": since, "until": until})
    result = []
    for row in rows:
        f = rules.figures(rules.Tally(row.invitations, row.responses, row.csat_sum,
                                      row.csat_top_two, row.nps_answers, row.promoters,
                                      row.detractors))
        result.append({"key": row.key, **f.__dict__})
    return result
