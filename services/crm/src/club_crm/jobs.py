"""The crm service's periodic work: the complaint SLA escalation (R2 §3.3, R2 §2.2) and the
sender of notifications (services/notification_sender.py)."""

from __future__ import annotations

from datetime import datetime

from club_platform.runtime import PeriodicJob
from sqlalchemy.ext.asyncio import AsyncSession

from club_crm.services.channels import Channel, SmtpChannel, WebhookChannel
from club_crm.services.complaints import escalate_breaches
from club_crm.services.notification_sender import send_due
from club_crm.settings import CrmSettings

COMPLAINT_SLA = "complaint_sla"
NOTIFICATIONS = "notifications"


def build_channels(settings: CrmSettings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {"email": SmtpChannel(
        host=settings.smtp_host, port=settings.smtp_port, sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls, timeout=settings.smtp_timeout_seconds)}
    if settings.sms_webhook_url:
        channels["sms"] = WebhookChannel(
            settings.sms_webhook_url,
            settings.sms_webhook_token.get_secret_value() if settings.sms_webhook_token else None)
    return channels


def build_jobs(settings: CrmSettings) -> tuple[PeriodicJob, ...]:
    async def escalate(session: AsyncSession, now: datetime) -> int:
        return await escalate_breaches(session, now, settings.escalate_to_head_after)

    channels = build_channels(settings)

    async def notify(session: AsyncSession, now: datetime) -> int:
        return await send_due(session, now, settings, channels)

    return (PeriodicJob(COMPLAINT_SLA, settings.sla_check_interval_seconds, escalate),
            PeriodicJob(NOTIFICATIONS, settings.notify_interval_seconds, notify))
