"""Rewards (R1 §7.1, R2 §5.2–5.3): an outstanding assessment proposes one; the head grants
commendations, bonuses, promotions and training opportunities, each published as
`reward.granted` with its clause (a training opportunity as a commendation: see
domain/rewards.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from club_contracts import RewardGranted, RewardGrantedV2
from club_contracts.catalogue_v2 import REWARD_REASON_WORDING
from club_platform.errors import Conflict, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import rewards as rules
from club_hr.domain.staff import ACTIVE
from club_hr.domain.training import SCHEDULED
from club_hr.schema import (
    assessments,
    reward_proposals,
    rewards,
    training_attendees,
    training_sessions,
)
from club_hr.services import staff as register


def proposal_view(row: Any) -> dict:
    return {"proposal_id": row.proposal_id, "assessment_id": row.assessment_id,
            "staff_id": row.staff_id, "suggested_kind": row.suggested_kind,
            "reason": row.reason, "status": row.status, "proposed_at": row.proposed_at,
            "decided_by": row.decided_by, "decided_at": row.decided_at,
            "reward_id": row.reward_id}


def reward_view(row: Any) -> dict:
    return {"reward_id": row.reward_id, "staff_id": row.staff_id, "kind": row.kind,
            "reason": row.reason, "reason_code": row.reason_code, "rule_ref": row.rule_ref,
            "bonus": None if row.bonus_amount is None else {
                "amount": f"{row.bonus_amount:.2f}", "currency": row.bonus_currency},
            "new_role": row.new_role, "proposal_id": row.proposal_id,
            "training_session_id": row.training_session_id,
            "granted_by": row.granted_by, "granted_at": row.granted_at}


async def propose_for(session: AsyncSession, *, assessment_id: UUID, staff_id: UUID,
                      now: datetime) -> None:
    """R2 §5.2: an outstanding assessment is the basis for a reward; the head decides which.
    Only a published one: a draft may still change on review."""
    period = (await session.execute(
        select(assessments.c.period_start, assessments.c.period_end, assessments.c.status)
        .where(assessments.c.assessment_id == assessment_id))).one()
    if period.status != "published":
        raise Conflict(f"rewards are proposed from published assessments only; this one is "
                       f"{period.status}")
    await session.execute(insert(reward_proposals).values(
        proposal_id=uuid4(), assessment_id=assessment_id, staff_id=staff_id,
        suggested_kind=rules.PROPOSED_FOR_OUTSTANDING, proposed_at=now,
        reason=f"outstanding assessment for {period.period_start.isoformat()} – "
               f"{period.period_end.isoformat()}").on_conflict_do_nothing())


async def list_proposals(session: AsyncSession, *, status: str | None,
                         staff_id: UUID | None) -> list[dict]:
    query = select(reward_proposals).order_by(reward_proposals.c.proposed_at).limit(500)
    if status:
        query = query.where(reward_proposals.c.status == status)
    if staff_id:
        query = query.where(reward_proposals.c.staff_id == staff_id)
    return [proposal_view(r) for r in (await session.execute(query)).all()]


async def _open_proposal(session: AsyncSession, proposal_id: UUID) -> Any:
    row = (await session.execute(
        select(reward_proposals).where(reward_proposals.c.proposal_id == proposal_id)
        .with_for_update())).first()
    if row is None:
        raise NotFound(f"no reward proposal {proposal_id}")
    if row.status != "proposed":
        raise Conflict(f"the proposal is already {row.status}")
    return row


async def grant(session: AsyncSession, *, now: datetime, granted_by: UUID, staff_id: UUID,
                kind: str, reason: str, proposal_id: UUID | None, bonus: Decimal | None,
                currency: str, new_role: str | None, reason_code: str | None = None,
                training_session_id: UUID | None = None) -> dict:
    member = await register.get(session, staff_id, for_update=True)
    if member.status != ACTIVE:
        raise Conflict(f"the staff member is {member.status}; rewards go to active staff")
    rules.check_grant(kind, current_role=member.role, new_role=new_role, bonus=bonus,
                      training_session=training_session_id is not None)
    if training_session_id is not None:
        await _offer_place(session, now=now, session_id=training_session_id, staff_id=staff_id)
    if proposal_id is not None:
        proposal = await _open_proposal(session, proposal_id)
        if proposal.staff_id != staff_id:
            raise Invalid("the proposal is for another staff member")
    reward_id = uuid4()
    rule_ref = rules.CLAUSES[kind]
    # The code that travels instead of the reason: the head's choice, else what a proposal
    # from an outstanding assessment means.
    code = reason_code or ("outstanding_assessment" if proposal_id is not None else "other")
    await session.execute(rewards.insert().values(
        reward_id=reward_id, staff_id=staff_id, kind=kind, reason=reason, reason_code=code,
        rule_ref=rule_ref,
        bonus_amount=bonus, bonus_currency=currency if bonus is not None else None,
        new_role=new_role, proposal_id=proposal_id, granted_by=granted_by, granted_at=now,
        training_session_id=training_session_id))
    if proposal_id is not None:
        await session.execute(reward_proposals.update()
                              .where(reward_proposals.c.proposal_id == proposal_id)
                              .values(status="granted", decided_by=granted_by, decided_at=now,
                                      reward_id=reward_id))
    if new_role is not None:
        await register.change_role(session, now=now, staff_id=staff_id, role=new_role)
    fields = dict(reward_id=reward_id, staff_id=staff_id,
                  kind=rules.PUBLISHED_KIND.get(kind, kind), rule_ref=rule_ref, granted_at=now)
    # v1 (until its deprecation window ends) carries the code's standard wording, never the
    # reason typed here; v2 carries the code (docs/events.md).
    await publish(session, RewardGranted(**fields, reason=REWARD_REASON_WORDING[code]))
    await publish(session, RewardGrantedV2(**fields, reason_code=code))
    row = (await session.execute(select(rewards).where(rewards.c.reward_id == reward_id))).one()
    return reward_view(row)


async def _offer_place(session: AsyncSession, *, now: datetime, session_id: UUID,
                       staff_id: UUID) -> None:
    """R2 §5.3: the reward is a place on a session still to come; the staff member joins it as
    a voluntary attendee (not required, so missing it does not count against the team's
    training compliance)."""
    row = (await session.execute(
        select(training_sessions.c.status, training_sessions.c.starts_at)
        .where(training_sessions.c.session_id == session_id).with_for_update())).first()
    if row is None:
        raise NotFound(f"no training session {session_id}")
    if row.status != SCHEDULED or row.starts_at <= now:
        raise Conflict("a training opportunity is a place on a session still to come; this "
                       f"one is {row.status if row.status != SCHEDULED else 'under way'}")
    await session.execute(insert(training_attendees).values(
        session_id=session_id, staff_id=staff_id, attendance_id=uuid4(), required=False,
    ).on_conflict_do_nothing())


async def decline(session: AsyncSession, *, now: datetime, proposal_id: UUID,
                  declined_by: UUID) -> dict:
    await _open_proposal(session, proposal_id)
    await session.execute(reward_proposals.update()
                          .where(reward_proposals.c.proposal_id == proposal_id)
                          .values(status="declined", decided_by=declined_by, decided_at=now))
    row = (await session.execute(select(reward_proposals).where(
        reward_proposals.c.proposal_id == proposal_id))).one()
    return proposal_view(row)


async def list_rewards(session: AsyncSession, *, staff_id: UUID | None) -> list[dict]:
    query = select(rewards).order_by(rewards.c.granted_at).limit(500)
    if staff_id:
        query = query.where(rewards.c.staff_id == staff_id)
    return [reward_view(r) for r in (await session.execute(query)).all()]
