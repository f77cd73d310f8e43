"""The four services as real processes for the security tests (schemathesis, the
authorisation matrix, member isolation, hardening): started once for the package, each on its
own fresh database, on the real broker, so events flow between them as in production."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from club_platform.auth import Role
from club_platform.testing.processes import ServiceProcess

from .support import SERVICES


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def club(spawn) -> dict[str, ServiceProcess]:
    return {service: await spawn(service, name=f"{service}-security") for service in SERVICES}


@pytest.fixture(scope="package")
def subjects() -> dict[Role, UUID]:
    """One caller per role, the same throughout the package."""
    return {role: uuid4() for role in Role}
