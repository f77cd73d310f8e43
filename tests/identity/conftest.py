"""The real identity provider (Keycloak) for the identity tests, and the four services as
real processes that verify its tokens.

Keycloak takes minutes to start cold on a small machine, so it is started once: the one
`make infra` started is reused (its address is in .env.local); otherwise it is started here,
once per session, by the same script (deploy/local/keycloak.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from club_platform.testing import start_group_at_end
from club_platform.testing.infrastructure import read_env_file
from club_platform.testing.plugin import unique_name
from club_platform.testing.processes import ServiceProcess, stop_all

from .provider import Provider, running_provider

ROOT = Path(__file__).resolve().parents[2]

SERVICES = ("booking", "reception", "crm", "hr")
STAFF_TOPICS = ["staff.hired", "staff.changed", "staff.offboarded"]
# Tests rotate keys: the services forget a key the issuer stopped publishing within seconds.
KEYS_CACHE_SECONDS = 3


@pytest.fixture(scope="session")
def provider() -> Provider:
    return running_provider()


@pytest.fixture(scope="session")
def accounts_secret(provider) -> str:
    return os.environ.get("CLUB_KEYCLOAK_ACCOUNTS_SECRET") or read_env_file(
        ROOT / ".env.local")["CLUB_KEYCLOAK_ACCOUNTS_SECRET"]


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def club(spawn, provider, accounts_secret, kafka_connection
               ) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The four services on fresh databases, trusting the provider; CRM keeps its accounts."""
    oidc = {"OIDC_ISSUER": provider.issuer, "OIDC_KEYS_CACHE_SECONDS": str(KEYS_CACHE_SECONDS),
            "OIDC_KEYS_REFRESH_COOLDOWN_SECONDS": "0.5"}
    processes = {}
    for service in SERVICES:
        env = {f"{service.upper()}_{k}": v for k, v in oidc.items()}
        group = None
        if service == "crm":
            group = unique_name("crm-identity")
            from club_crm.handlers import consumer
            await start_group_at_end(kafka_connection, group, consumer.topics)
            # The accounts group starts at the end too: only this run's hires become users.
            await start_group_at_end(kafka_connection, f"{group}.accounts", STAFF_TOPICS)
            env |= {"CRM_ACCOUNTS_PROVIDER_URL": provider.base_url,
                    "CRM_ACCOUNTS_CLIENT_SECRET": accounts_secret}
        processes[service] = await spawn(service, group=group, env=env,
                                         name=f"{service}-identity")
    yield processes
    await stop_all(processes.values())  # done with the package: no CPU for the tests after


@pytest.fixture
def new_id() -> UUID:
    return uuid4()
