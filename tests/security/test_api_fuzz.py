"""Issue 9, scenario 6: property-based requests from each service's OpenAPI (schemathesis)
against the real service processes, every endpoint of all four services: no 5xx, and every
documented response conforms to its schema. The OpenAPI documents are the committed ones in
docs/openapi (a test keeps them in step with the code), so the operations are known when the
tests are collected. Each operation is called as a role it admits (the authorisation matrix,
read from the routes), so the requests reach the handlers instead of stopping at a 403; the
public ones without a token.

`CLUB_FUZZ_EXAMPLES` sets the examples per operation (default 15, CI-friendly: about a
minute for all four services); raise it for a deeper run, e.g. `CLUB_FUZZ_EXAMPLES=200`."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from .support import ROOT, caller, roles_of

EXAMPLES = int(os.environ.get("CLUB_FUZZ_EXAMPLES", "15"))  # per operation


def _schema(service: str) -> schemathesis.BaseSchema:
    document = json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(scope="module")
def tally(fault_report):
    """What the fuzzing sent and got, for the table in docs/security.md."""
    counts = {"operations": set(), "requests": 0, "unanswered": 0, "5xx": 0}
    yield counts
    if counts["requests"]:
        fault_report("6. schemathesis on every endpoint of the 4 services",
                     f"{len(counts['operations'])} operations, {counts['requests']} requests",
                     "property-based input from the OpenAPI documents",
                     lost=counts["unanswered"], duplicated=0,  # nothing is retried
                     server_errors=counts["5xx"],
                     note=f"up to {EXAMPLES} examples per operation; responses checked "
                          "against their schema")


def _fuzz(service: str, case, club, token, tally) -> None:
    roles = roles_of(service, case.operation.method, case.operation.path)
    headers = {} if roles is None else {"Authorization": f"Bearer {token(caller(roles))}"}
    url = club[service].url
    tally["operations"].add((service, case.operation.method, case.operation.path))
    try:
        response = case.call(base_url=url, headers=headers)
    except OSError:
        tally["unanswered"] += 1
        raise
    tally["requests"] += 1
    tally["5xx"] += response.status_code >= 500
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance],
                           headers=headers, transport_kwargs={"base_url": url,
                                                              "headers": headers})


FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

booking = _schema("booking")
reception = _schema("reception")
crm = _schema("crm")
hr = _schema("hr")


@pytest.mark.slow
@booking.parametrize()
@FUZZ
def test_booking_api_never_fails_with_a_server_error(case, club, token, tally):
    _fuzz("booking", case, club, token, tally)


@pytest.mark.slow
@reception.parametrize()
@FUZZ
def test_reception_api_never_fails_with_a_server_error(case, club, token, tally):
    _fuzz("reception", case, club, token, tally)


@pytest.mark.slow
@crm.parametrize()
@FUZZ
def test_crm_api_never_fails_with_a_server_error(case, club, token, tally):
    _fuzz("crm", case, club, token, tally)


@pytest.mark.slow
@hr.parametrize()
@FUZZ
def test_hr_api_never_fails_with_a_server_error(case, club, token, tally):
    _fuzz("hr", case, club, token, tally)
