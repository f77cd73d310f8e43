"""The crm service's periodic work: the complaint SLA escalation (R2 §3.3, R2 §2.2)."""

from __future__ import annotations

from datetime import datetime

from club_platform.runtime import PeriodicJob
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.services.complaints import escalate_breaches
from club_crm.settings import CrmSettings

COMPLAINT_SLA = "complaint_sla"


def build_jobs(settings: CrmSettings) -> tuple[PeriodicJob, ...]:
    async def escalate(session: AsyncSession, now: datetime) -> int:
        return await escalate_breaches(session, now, settings.escalate_to_head_after)

    return (PeriodicJob(COMPLAINT_SLA, settings.sla_check_interval_seconds, escalate),)
