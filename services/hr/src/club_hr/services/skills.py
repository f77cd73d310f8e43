"""The skills matrix (R2 §4.1; domain/skills.py): skills, levels assessed by the head or the
deputy with their history, and the level changes a held training session proposes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from club_platform.errors import Conflict, Invalid, NotFound
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain import skills as rules
from club_hr.domain.staff import OFFBOARDED
from club_hr.schema import (
    skill_levels,
    skill_proposals,
    skills,
    staff,
    training_attendees,
    training_session_skills,
)
from club_hr.services import staff as register


def _skill_view(row: Any) -> dict:
    return {"code": row.code, "name": row.name, "clause": row.clause}


async def list_skills(session: AsyncSession) -> list[dict]:
    rows = (await session.execute(select(skills).order_by(skills.c.created_at, skills.c.code)))
    return [_skill_view(r) for r in rows.all()]


async def add_skill(session: AsyncSession, *, code: str, name: str, created_by: UUID) -> dict:
    rules.check_code(code)
    added = (await session.execute(
        insert(skills).values(code=code, name=name, created_by=created_by)
        .on_conflict_do_nothing().returning(skills))).first()
    if added is None:
        raise Conflict(f"there is already a skill {code!r}")
    return _skill_view(added)


async def check_known(session: AsyncSession, codes: Iterable[str]) -> None:
    wanted = set(codes)
    found = set((await session.execute(
        select(skills.c.code).where(skills.c.code.in_(wanted)))).scalars().all())
    if wanted - found:
        raise Invalid(f"unknown skill: {', '.join(sorted(wanted - found))} "
                      f"(GET /skills lists them)")


# ---------------------------------------------------------------- levels


def _level_view(row: Any) -> dict:
    return {"entry_id": row.entry_id, "staff_id": row.staff_id, "skill": row.skill_code,
            "level": row.level, "level_name": rules.LEVELS[row.level],
            "assessed_on": row.assessed_on, "assessed_by": row.assessed_by, "note": row.note,
            "proposal_id": row.proposal_id, "recorded_at": row.recorded_at}


def _current_query(staff_ids: list[UUID] | None = None):
    # The latest assessment of each (staff member, skill).
    query = (select(skill_levels)
             .ext(distinct_on(skill_levels.c.staff_id, skill_levels.c.skill_code))
             .order_by(skill_levels.c.staff_id, skill_levels.c.skill_code,
                       skill_levels.c.assessed_on.desc(), skill_levels.c.recorded_at.desc()))
    if staff_ids is not None:
        query = query.where(skill_levels.c.staff_id.in_(staff_ids))
    return query


async def current_level(session: AsyncSession, staff_id: UUID, skill_code: str) -> int:
    row = (await session.execute(_current_query([staff_id])
                                 .where(skill_levels.c.skill_code == skill_code))).first()
    return row.level if row else rules.MIN_LEVEL


async def assess(session: AsyncSession, *, now: datetime, today: date, staff_id: UUID,
                 skill_code: str, level: int, assessed_on: date, assessed_by: UUID,
                 note: str | None, proposal_id: UUID | None = None) -> dict:
    member = await register.get(session, staff_id)
    if member.status == OFFBOARDED:
        raise Conflict("the staff member has left; their skills are no longer assessed")
    await check_known(session, [skill_code])
    if assessed_on > today:
        raise Invalid(f"a level is assessed on a day that has come: assessed_on must not be "
                      f"after {today.isoformat()}")
    entry_id = uuid4()
    await session.execute(skill_levels.insert().values(
        entry_id=entry_id, staff_id=staff_id, skill_code=skill_code, level=level,
        assessed_on=assessed_on, assessed_by=assessed_by, note=note, proposal_id=proposal_id,
        recorded_at=now))
    row = (await session.execute(
        select(skill_levels).where(skill_levels.c.entry_id == entry_id))).one()
    return _level_view(row)


async def of_staff(session: AsyncSession, staff_id: UUID) -> dict:
    await register.get(session, staff_id)
    known = await list_skills(session)
    current = {r.skill_code: r for r in (await session.execute(_current_query([staff_id])))}
    history = (await session.execute(
        select(skill_levels).where(skill_levels.c.staff_id == staff_id)
        .order_by(skill_levels.c.assessed_on, skill_levels.c.recorded_at))).all()
    return {
        "staff_id": staff_id,
        "current": [{"skill": s["code"], "name": s["name"],
                     "level": current[s["code"]].level if s["code"] in current else 0,
                     "level_name": rules.LEVELS[current[s["code"]].level
                                                if s["code"] in current else 0],
                     "assessed_on": current[s["code"]].assessed_on
                     if s["code"] in current else None}
                    for s in known],
        "history": [_level_view(r) for r in history],
    }


async def matrix(session: AsyncSession) -> dict:
    """Everyone on staff (not offboarded) × every skill, at the current level (0 when never
    assessed)."""
    known = await list_skills(session)
    people = (await session.execute(
        select(staff.c.staff_id, staff.c.display_name, staff.c.role)
        .where(staff.c.status != OFFBOARDED).order_by(staff.c.display_name, staff.c.staff_id)
    )).all()
    levels: dict[tuple[UUID, str], int] = {
        (r.staff_id, r.skill_code): r.level
        for r in (await session.execute(_current_query())).all()}
    return {
        "skills": [s["code"] for s in known],
        "levels": rules.LEVELS,
        "staff": [{"staff_id": p.staff_id, "display_name": p.display_name, "role": p.role,
                   "levels": {s["code"]: levels.get((p.staff_id, s["code"]), 0)
                              for s in known}}
                  for p in people],
    }


# ---------------------------------------------------------------- training proposals


async def declare_for_session(session: AsyncSession, session_id: UUID,
                              raises: list[tuple[str, int, int]]) -> None:
    if not raises:
        return
    codes = [code for code, _, _ in raises]
    if len(set(codes)) != len(codes):
        raise Invalid("a skill is declared twice for the session")
    for _, raise_by, up_to in raises:
        rules.check_raise(raise_by, up_to)
    await check_known(session, codes)
    await session.execute(training_session_skills.insert(), [
        {"session_id": session_id, "skill_code": code, "raise_by": raise_by, "up_to": up_to}
        for code, raise_by, up_to in raises])


async def declared_for_session(session: AsyncSession, session_id: UUID) -> list[dict]:
    rows = (await session.execute(
        select(training_session_skills).where(training_session_skills.c.session_id == session_id)
        .order_by(training_session_skills.c.skill_code))).all()
    return [{"skill": r.skill_code, "raise_by": r.raise_by, "up_to": r.up_to} for r in rows]


async def propose_for_session(session: AsyncSession, *, now: datetime, session_id: UUID) -> None:
    """For a held session: one proposal per attendee recorded present and declared skill that
    would raise their current level. Proposing again proposes nothing twice."""
    declared = (await session.execute(
        select(training_session_skills)
        .where(training_session_skills.c.session_id == session_id))).all()
    if not declared:
        return
    present = (await session.execute(
        select(training_attendees.c.staff_id)
        .where(training_attendees.c.session_id == session_id, training_attendees.c.attended)
        .order_by(training_attendees.c.staff_id))).scalars().all()
    if not present:
        return
    current = {(r.staff_id, r.skill_code): r.level
               for r in (await session.execute(_current_query(list(present)))).all()}
    rows = []
    for staff_id in present:
        for skill in declared:
            level = current.get((staff_id, skill.skill_code), rules.MIN_LEVEL)
            target = rules.proposed_level(level, skill.raise_by, skill.up_to)
            if target is not None:
                rows.append({"proposal_id": uuid4(), "staff_id": staff_id,
                             "skill_code": skill.skill_code, "session_id": session_id,
                             "from_level": level, "to_level": target, "proposed_at": now})
    if rows:
        await session.execute(insert(skill_proposals).values(rows).on_conflict_do_nothing())


def _proposal_view(row: Any) -> dict:
    return {"proposal_id": row.proposal_id, "staff_id": row.staff_id, "skill": row.skill_code,
            "session_id": row.session_id, "from_level": row.from_level,
            "to_level": row.to_level, "status": row.status, "proposed_at": row.proposed_at,
            "decided_by": row.decided_by, "decided_at": row.decided_at}


async def list_proposals(session: AsyncSession, *, status: str | None, staff_id: UUID | None,
                         session_id: UUID | None) -> list[dict]:
    query = select(skill_proposals).order_by(skill_proposals.c.proposed_at,
                                             skill_proposals.c.staff_id,
                                             skill_proposals.c.skill_code).limit(1000)
    if status:
        query = query.where(skill_proposals.c.status == status)
    if staff_id:
        query = query.where(skill_proposals.c.staff_id == staff_id)
    if session_id:
        query = query.where(skill_proposals.c.session_id == session_id)
    return [_proposal_view(r) for r in (await session.execute(query)).all()]


async def _open_proposal(session: AsyncSession, proposal_id: UUID) -> Any:
    row = (await session.execute(
        select(skill_proposals).where(skill_proposals.c.proposal_id == proposal_id)
        .with_for_update())).first()
    if row is None:
        raise NotFound(f"no skill proposal {proposal_id}")
    rules.check_open(row.status)
    return row


async def _decide(session: AsyncSession, proposal_id: UUID, status: str, by: UUID,
                  now: datetime) -> dict:
    await session.execute(skill_proposals.update()
                          .where(skill_proposals.c.proposal_id == proposal_id)
                          .values(status=status, decided_by=by, decided_at=now))
    row = (await session.execute(select(skill_proposals).where(
        skill_proposals.c.proposal_id == proposal_id))).one()
    return _proposal_view(row)


async def confirm(session: AsyncSession, *, now: datetime, today: date, proposal_id: UUID,
                  confirmed_by: UUID) -> dict:
    """The head or deputy agrees: the level becomes the proposed one, assessed today."""
    row = await _open_proposal(session, proposal_id)
    level = await current_level(session, row.staff_id, row.skill_code)
    if level >= row.to_level:
        # assessed at or above it since the session: confirming would lower it
        raise Conflict(f"the level of {row.skill_code} is already {level}, not below the "
                       f"proposed {row.to_level}; reject the proposal")
    await assess(session, now=now, today=today, staff_id=row.staff_id,
                 skill_code=row.skill_code, level=row.to_level, assessed_on=today,
                 assessed_by=confirmed_by, note="confirmed after the training session",
                 proposal_id=proposal_id)
    return await _decide(session, proposal_id, rules.CONFIRMED, confirmed_by, now)


async def reject(session: AsyncSession, *, now: datetime, proposal_id: UUID,
                 rejected_by: UUID) -> dict:
    await _open_proposal(session, proposal_id)
    return await _decide(session, proposal_id, rules.REJECTED, rejected_by, now)
