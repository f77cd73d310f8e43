"""Calls to the services under test, and the reason a service gives for a refusal."""

from __future__ import annotations

import httpx
from club_platform.testing import client

# One endpoint per service every staff role on the path may read (a GET, no side effects).
READS = {"booking": "/resources", "reception": "/locations", "crm": "/complaints",
         "hr": "/staff"}


async def call(club, service: str, token: str, path: str | None = None, method: str = "GET",
               **kwargs) -> httpx.Response:
    async with client(club[service].url, token) as http:
        return await http.request(method, path or READS[service], **kwargs)


async def refusal(club, service: str, token: str, path: str | None = None) -> str:
    """The reason a service refuses `token`: asserts the refusal is a 401 with a reason."""
    response = await call(club, service, token, path)
    assert response.status_code == 401, (service, response.status_code, response.text[:300])
    assert response.headers.get("www-authenticate") == "Bearer"
    return response.json()["detail"]
