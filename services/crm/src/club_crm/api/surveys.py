"""Satisfaction surveys (R2 §3.5): invitations, the public single-use form, reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from uuid import UUID

from club_contracts.base import UtcDatetime
from club_platform.auth import Principal, Role, require_roles
from club_platform.errors import Invalid, NotFound
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from club_crm.api.common import CRM_ROLES, IDEMPOTENCY_KEY, now_of, once, read, settings_of
from club_crm.services import surveys

router = APIRouter(prefix="/surveys", tags=["surveys"])


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    csat: int = Field(ge=1, le=5, description="Satisfaction, 1 (very unhappy) to 5 (very happy).")
    nps: int | None = Field(default=None, ge=0, le=10,
                            description="How likely to recommend the club, 0–10 (optional).")
    comment: str | None = Field(default=None, max_length=2000)


@router.get("/invitations", summary="Survey invitations with their links (members: their own)")
async def invitations(request: Request, visit_id: UUID | None = None,
                      customer_id: UUID | None = None, pending: bool = False,
                      principal: Principal = Depends(require_roles(*CRM_ROLES, Role.MEMBER))
                      ) -> list[dict]:
    if principal.role is Role.MEMBER:
        customer_id, pending = principal.id, True
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: surveys.invitations(
        s, settings.cipher, settings.survey_link_base_url, now, visit_id=visit_id,
        customer_id=customer_id, pending_only=pending))


@router.get("/respond/{token}", summary="The public survey form's data (no sign-in: the link)")
async def form(token: str, request: Request) -> dict:
    settings, now = settings_of(request), now_of(request)
    return await read(request, lambda s: surveys.survey_form(s, settings.cipher, token, now))


@router.post("/respond/{token}", status_code=201,
             summary="Answer the survey once (survey.submitted with the visit's staff)")
async def respond(token: str, body: SurveyAnswer, request: Request,
                  idempotency_key: str | None = IDEMPOTENCY_KEY):
    settings, now = settings_of(request), now_of(request)
    invitation_id = settings.cipher.invitation_of(token)
    if invitation_id is None:
        raise NotFound("this survey link is not valid; check it was copied whole")
    # The link is the credential: Idempotency-Key replays are scoped to its invitation.
    holder = Principal(id=invitation_id, role=Role.MEMBER)
    return await once(request, holder, scope="surveys.respond", key=idempotency_key,
                      payload=body.model_dump(),
                      action=lambda s: surveys.submit(s, settings.cipher, now, token,
                                                      csat=body.csat, nps=body.nps,
                                                      comment=body.comment))


@router.get("/report", summary="CSAT (share of 4–5), response rate and NPS by staff, service, "
                               "week or overall")
async def report(request: Request,
                 by: Literal["staff", "service", "week", "all"] = "all",
                 since: UtcDatetime | None = Query(default=None, description="Visits completed "
                                                   "from (default: 28 days before until)."),
                 until: UtcDatetime | None = Query(default=None, description="…up to, "
                                                   "excluded (default: now)."),
                 _principal: Principal = Depends(require_roles(*CRM_ROLES))) -> dict:
    until = until or now_of(request)
    since = since or until - timedelta(days=28)
    if since >= until:
        raise Invalid("since must be before until")
    if until - since > timedelta(days=366):
        raise Invalid("a report covers at most 366 days")
    rows = await read(request, lambda s: surveys.report(s, by, since, until))
    return {"by": by, "since": since, "until": until, "rows": rows}
