"""Satisfaction surveys (R2 §3.5, R1 §5.3): one invitation per completed visit, answered once
through its link; CSAT 1–5, NPS 0–10 (optional) and a comment.

Report figures, per staff member, service or week:
- CSAT: the share of responses scoring 4 or 5 (a percentage), and the mean score;
- response rate: responses / invitations;
- NPS: % promoters (9–10) − % detractors (0–6) among responses that gave an NPS score.
A visit counts for every staff member who served it and for every service delivered in it;
weeks are ISO weeks (Monday) of the visit's completion, so a late answer counts for its visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from club_platform.errors import Conflict

from club_crm.domain import Gone


@dataclass(frozen=True)
class Invitation:
    expires_at: datetime
    responded_at: datetime | None


def check_can_answer(invitation: Invitation, now: datetime) -> None:
    """A link is single-use and time-limited."""
    if invitation.responded_at is not None:
        raise Conflict("this survey link was already used; each visit's survey is answered once")
    if now > invitation.expires_at:
        raise Gone("this survey link has expired")


def staff_of_visit(staff_ids: list[UUID], host_staff_id: UUID | None,
                   service_staff: list[UUID]) -> list[UUID]:
    """Everyone who served the visit: the listed staff, the host who received and guided the
    customer (R1 §3.2) and whoever delivered a service (R1 §3.3), each once, in that order."""
    seen: dict[UUID, None] = {}
    for staff_id in [*staff_ids, *([host_staff_id] if host_staff_id else []), *service_staff]:
        seen.setdefault(staff_id, None)
    return list(seen)


@dataclass(frozen=True)
class Tally:
    invitations: int
    responses: int
    csat_sum: int
    csat_top_two: int      # responses scoring 4 or 5
    nps_answers: int
    promoters: int         # 9–10
    detractors: int        # 0–6


@dataclass(frozen=True)
class Figures:
    invitations: int
    responses: int
    response_rate: float | None
    csat_mean: float | None
    csat_percent: float | None
    nps: float | None
    nps_answers: int


def figures(t: Tally) -> Figures:
    def share(part: int, whole: int) -> float | None:
        return round(100 * part / whole, 1) if whole else None

    return Figures(
        invitations=t.invitations,
        responses=t.responses,
        response_rate=share(t.responses, t.invitations),
        csat_mean=round(t.csat_sum / t.responses, 2) if t.responses else None,
        csat_percent=share(t.csat_top_two, t.responses),
        nps=round(100 * (t.promoters - t.detractors) / t.nps_answers, 1) if t.nps_answers else None,
        nps_answers=t.nps_answers,
    )
