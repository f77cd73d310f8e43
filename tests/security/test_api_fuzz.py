"""Issue 9, scenario 6: property-based requests from each service's OpenAPI (schemathesis)
against the real service process: no 5xx, and every documented response conforms to its
schema. The OpenAPI documents are the committed ones in docs/openapi (a test keeps them in
step with the code), so the operations are known when the tests are collected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytest_asyncio
import schemathesis
from club_platform.auth import Role
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 15  # per operation; enough to reach every validation branch a form has


def _schema(service: str) -> schemathesis.BaseSchema:
    document = json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())
    return schemathesis.openapi.from_dict(document)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def targets(spawn, token) -> dict[str, tuple[str, dict]]:
    found = {}
    for service in ("booking", "reception"):
        process = await spawn(service, name=f"{service}-fuzz")
        found[service] = (process.url, {"Authorization": f"Bearer {token(Role.HEAD)}"})
    return found


def _fuzz(service: str, case, targets) -> None:
    url, headers = targets[service]
    case.call_and_validate(base_url=url, headers=headers,
                           checks=[not_a_server_error, response_schema_conformance])


FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

booking = _schema("booking")
reception = _schema("reception")


@pytest.mark.slow
@booking.parametrize()
@FUZZ
def test_booking_api_never_fails_with_a_server_error(case, targets):
    _fuzz("booking", case, targets)


@pytest.mark.slow
@reception.parametrize()
@FUZZ
def test_reception_api_never_fails_with_a_server_error(case, targets):
    _fuzz("reception", case, targets)
