"""Policy revisions (R1 §9.1–9.2: "every revision is notified promptly to all service-
department staff, with training and explanation"). Publishing a version asks every active
staff member to acknowledge it (their notification), schedules training when the revision
needs it, and is published as `policy.revised`; the compliance report follows the
acknowledgements until everyone has signed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from club_contracts import PolicyRevised
from club_platform.errors import Conflict, Invalid, NotFound
from club_platform.outbox import publish
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from club_hr.domain.staff import ACTIVE, OFFBOARDED
from club_hr.schema import (
    policies,
    policy_acknowledgements,
    policy_versions,
    staff,
    training_attendees,
    training_sessions,
)
from club_hr.services import training

TRAINING_LENGTH = timedelta(hours=1)


async def _version(session: AsyncSession, policy_id: UUID, version: int | None = None) -> Any:
    query = select(policy_versions).where(policy_versions.c.policy_id == policy_id)
    query = (query.where(policy_versions.c.version == version) if version is not None
             else query.order_by(policy_versions.c.version.desc()).limit(1))
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound(f"no policy {policy_id}" + (f" version {version}" if version else ""))
    return row


def _version_view(row: Any) -> dict:
    return {"policy_id": row.policy_id, "version": row.version, "title": row.title,
            "summary": row.summary, "effective_at": row.effective_at,
            "requires_training": row.requires_training,
            "training_session_id": row.training_session_id, "published_at": row.published_at}


async def get_policy(session: AsyncSession, policy_id: UUID) -> dict:
    latest = await _version(session, policy_id)
    versions = (await session.execute(
        select(policy_versions).where(policy_versions.c.policy_id == policy_id)
        .order_by(policy_versions.c.version))).all()
    return {"policy_id": policy_id, "title": latest.title, "current_version": latest.version,
            "versions": [_version_view(v) for v in versions]}


async def list_policies(session: AsyncSession) -> list[dict]:
    ids = (await session.execute(select(policies.c.policy_id)
                                 .order_by(policies.c.created_at))).scalars().all()
    return [await get_policy(session, i) for i in ids]


async def _publish_version(session: AsyncSession, *, now: datetime, policy_id: UUID,
                           version: int, title: str, summary: str, effective_at: datetime,
                           requires_training: bool, training_at: datetime | None,
                           published_by: UUID) -> dict:
    session_id = None
    if requires_training:
        starts_at = training_at or effective_at
        if starts_at < now:
            raise Invalid("the training for a revision must be scheduled in the future")
        # Everyone active is required to attend (R1 §9.2).
        session_id = await training.schedule(
            session, now=now, title=f"{title} (version {version})", clause="R1 §9.2",
            starts_at=starts_at, ends_at=starts_at + TRAINING_LENGTH, staff_ids=[],
            roles=["head", "deputy", "attendant", "crm_specialist", "hr_admin"],
            created_by=published_by, policy_id=policy_id, policy_version=version)
    elif training_at is not None:
        raise Invalid("a training time is given only when the revision requires training")
    await session.execute(policy_versions.insert().values(
        policy_id=policy_id, version=version, title=title, summary=summary,
        effective_at=effective_at, requires_training=requires_training,
        training_session_id=session_id, published_by=published_by, published_at=now))
    active = (await session.execute(
        select(staff.c.staff_id).where(staff.c.status == ACTIVE))).scalars().all()
    if active:
        await session.execute(insert(policy_acknowledgements), [
            {"policy_id": policy_id, "version": version, "staff_id": s, "notified_at": now}
            for s in active])
    await publish(session, PolicyRevised(policy_id=policy_id, version=version, title=title,
                                         effective_at=effective_at,
                                         requires_training=requires_training))
    return _version_view(await _version(session, policy_id, version))


async def publish_policy(session: AsyncSession, *, now: datetime, title: str, summary: str,
                         effective_at: datetime, requires_training: bool,
                         training_at: datetime | None, published_by: UUID) -> dict:
    policy_id = uuid4()
    await session.execute(policies.insert().values(policy_id=policy_id, title=title,
                                                   created_at=now))
    return await _publish_version(
        session, now=now, policy_id=policy_id, version=1, title=title, summary=summary,
        effective_at=effective_at, requires_training=requires_training,
        training_at=training_at, published_by=published_by)


async def revise_policy(session: AsyncSession, *, now: datetime, policy_id: UUID,
                        title: str | None, summary: str, effective_at: datetime,
                        requires_training: bool, training_at: datetime | None,
                        published_by: UUID) -> dict:
    """R1 §9.1: the company may revise the rules; each revision is a new version."""
    row = (await session.execute(select(policies).where(policies.c.policy_id == policy_id)
                                 .with_for_update())).first()
    if row is None:
        raise NotFound(f"no policy {policy_id}")
    latest = await _version(session, policy_id)
    if effective_at < latest.effective_at:
        raise Invalid(f"a revision cannot take effect before version {latest.version} "
                      f"({latest.effective_at.isoformat()})")
    return await _publish_version(
        session, now=now, policy_id=policy_id, version=latest.version + 1,
        title=title or latest.title, summary=summary, effective_at=effective_at,
        requires_training=requires_training, training_at=training_at,
        published_by=published_by)


async def acknowledge(session: AsyncSession, *, now: datetime, policy_id: UUID, version: int,
                      staff_id: UUID) -> dict:
    await _version(session, policy_id, version)
    row = (await session.execute(
        select(policy_acknowledgements).where(
            policy_acknowledgements.c.policy_id == policy_id,
            policy_acknowledgements.c.version == version,
            policy_acknowledgements.c.staff_id == staff_id).with_for_update())).first()
    if row is None:
        raise Conflict("you were not asked to acknowledge this version")
    if row.acknowledged_at is None:
        await session.execute(policy_acknowledgements.update().where(
            policy_acknowledgements.c.policy_id == policy_id,
            policy_acknowledgements.c.version == version,
            policy_acknowledgements.c.staff_id == staff_id).values(acknowledged_at=now))
    return {"policy_id": policy_id, "version": version, "staff_id": staff_id,
            "notified_at": row.notified_at, "acknowledged_at": row.acknowledged_at or now}


async def my_acknowledgements(session: AsyncSession, staff_id: UUID) -> list[dict]:
    rows = (await session.execute(
        select(policy_acknowledgements, policy_versions.c.title,
               policy_versions.c.effective_at)
        .join(policy_versions)
        .where(policy_acknowledgements.c.staff_id == staff_id)
        .order_by(policy_acknowledgements.c.notified_at, policy_acknowledgements.c.version)
    )).all()
    return [{"policy_id": r.policy_id, "version": r.version, "title": r.title,
             "effective_at": r.effective_at, "notified_at": r.notified_at,
             "acknowledged_at": r.acknowledged_at} for r in rows]


async def request_acknowledgements_from_newcomer(session: AsyncSession, *, staff_id: UUID,
                                                 now: datetime) -> None:
    """Someone hired later is asked to acknowledge the current version of every policy, and
    joins its training if that is still to come."""
    latest = (await session.execute(
        select(policy_versions.c.policy_id, func.max(policy_versions.c.version))
        .group_by(policy_versions.c.policy_id))).all()
    for policy_id, version in latest:
        await session.execute(insert(policy_acknowledgements).values(
            policy_id=policy_id, version=version, staff_id=staff_id, notified_at=now,
        ).on_conflict_do_nothing())
        row = await _version(session, policy_id, version)
        if row.training_session_id is not None:
            status = (await session.execute(
                select(training_sessions.c.status).where(
                    training_sessions.c.session_id == row.training_session_id))).scalar()
            if status == "scheduled":
                await training.add_attendees(session, row.training_session_id, [staff_id],
                                             required=True, now=now)


async def _version_compliance(session: AsyncSession, version: Any, now: datetime) -> dict:
    """One version: who has acknowledged it and who, by name, has not; who was required at its
    training and has not attended. Offboarded staff no longer count."""
    acks = (await session.execute(
        select(policy_acknowledgements.c.staff_id, policy_acknowledgements.c.acknowledged_at,
               staff.c.display_name)
        .join(staff, staff.c.staff_id == policy_acknowledgements.c.staff_id)
        .where(policy_acknowledgements.c.policy_id == version.policy_id,
               policy_acknowledgements.c.version == version.version,
               staff.c.status != OFFBOARDED)
        .order_by(staff.c.display_name, policy_acknowledgements.c.staff_id))).all()
    pending = [a for a in acks if a.acknowledged_at is None]
    entry = {
        "policy_id": version.policy_id, "title": version.title, "version": version.version,
        "effective_at": version.effective_at, "in_force": version.effective_at <= now,
        "notified": len(acks), "acknowledged": len(acks) - len(pending),
        "pending": [a.staff_id for a in pending],
        "not_acknowledged": [{"staff_id": a.staff_id, "display_name": a.display_name}
                             for a in pending],
        "training": None,
    }
    if version.training_session_id is not None:
        attendees = (await session.execute(
            select(training_attendees.c.staff_id, training_attendees.c.attended,
                   training_sessions.c.status, staff.c.display_name)
            .join(training_sessions)
            .join(staff, staff.c.staff_id == training_attendees.c.staff_id)
            .where(training_attendees.c.session_id == version.training_session_id,
                   training_attendees.c.required, staff.c.status != OFFBOARDED)
            .order_by(staff.c.display_name, training_attendees.c.staff_id))).all()
        entry["training"] = {
            "session_id": version.training_session_id,
            "status": attendees[0].status if attendees else None,
            "required": len(attendees),
            "attended": sum(1 for a in attendees if a.attended),
            # required and not (yet) attended, by name
            "not_attended": [{"staff_id": a.staff_id, "display_name": a.display_name}
                             for a in attendees if not a.attended],
        }
    trained = entry["training"] is None or (
        entry["training"]["status"] == "held"
        and entry["training"]["attended"] == entry["training"]["required"])
    entry["complete"] = not pending and trained
    return entry


async def compliance(session: AsyncSession, now: datetime) -> list[dict]:
    """For every policy (R1 §9.2): the version in force — who has not acknowledged it and who
    has not attended its required training, by name — and, apart under `next`, the newest
    version not in force yet. A policy none of whose versions is in force yet shows its first
    coming version (`in_force` false)."""
    report = []
    for policy in await list_policies(session):
        versions = (await session.execute(
            select(policy_versions).where(policy_versions.c.policy_id == policy["policy_id"])
            .order_by(policy_versions.c.version))).all()
        in_force = [v for v in versions if v.effective_at <= now]
        coming = [v for v in versions if v.effective_at > now]
        current = in_force[-1] if in_force else coming[0]
        entry = await _version_compliance(session, current, now)
        nxt = coming[-1] if coming and coming[-1].version != current.version else None
        entry["next"] = await _version_compliance(session, nxt, now) if nxt else None
        report.append(entry)
    return report
