"""The composition root of the crm service: settings → runtime → FastAPI app.

The crm service keeps customers' personal data (encrypted at rest, read only by CRM roles
with a stated purpose, every read audited), handles complaints with an SLA and escalation,
schedules follow-up calls and runs satisfaction surveys (R1 §2.4, §3.5, §6; R2 §3.3–3.5).
"""

from __future__ import annotations

from club_platform.auth import Principal
from club_platform.clock import Clock
from club_platform.http import create_app
from club_platform.runtime import ServiceRuntime
from fastapi import FastAPI

from club_crm.accounts import Accounts, ProviderAccess, build_accounts_consumer
from club_crm.api import router
from club_crm.handlers import Policy, build_consumer
from club_crm.jobs import build_jobs
from club_crm.services.staff import is_revoked
from club_crm.settings import CrmSettings


def build_app(settings: CrmSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or CrmSettings()
    side = ()
    if settings.accounts_provider_url:
        accounts = Accounts(ProviderAccess(
            settings.accounts_provider_url, settings.accounts_realm, settings.accounts_client_id,
            settings.accounts_client_secret.get_secret_value()))
        side = (build_accounts_consumer(accounts, settings.cipher),)
    runtime = ServiceRuntime(settings, consumer=build_consumer(Policy.from_settings(settings)),
                             jobs=build_jobs(settings), clock=clock, side_consumers=side)
    app = create_app(
        runtime=runtime,
        routers=[router],
        title="Club crm service",
        description=__doc__ or "",
    )

    async def revoked(principal: Principal) -> bool:
        # CRM keeps personal data: a staff member HR has suspended or offboarded is refused
        # from the moment CRM reads the event, not when their token expires.
        if principal.is_member:
            return False
        async with runtime.database.transaction() as session:
            return await is_revoked(session, principal.id)

    app.state.revoked_principal = revoked
    return app
