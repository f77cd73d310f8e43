"""The SMS/WeChat provider adapter against a real HTTP receiver on loopback (the providers'
sandboxes are out of reach here): what it posts, and how it reads the provider's answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from club_platform.testing import serve_app
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from club_crm.services.channels import Outgoing, Refused, Retry, WebhookChannel


def _receiver(answers: list[int], seen: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/send")
    async def send(request: Request) -> JSONResponse:
        seen.append({"body": await request.json(), "headers": dict(request.headers)})
        return JSONResponse({"ok": True}, status_code=answers.pop(0))

    return app


MESSAGE = Outgoing(notification_id="5b0c3a9e-0000-4000-8000-000000000001",
                   address="+86 138 0000 0000", subject="Harbour Club: reminder",
                   text="Your booking starts at 09:00.", sent_at=datetime.now(UTC))


async def test_the_provider_gets_the_text_with_a_reference_and_the_token():
    seen: list[dict] = []
    async with serve_app(_receiver([200], seen)) as url:
        await WebhookChannel(f"{url}/send", token="provider-token").send(MESSAGE)
    [request] = seen
    assert request["body"] == {"reference": MESSAGE.notification_id, "to": MESSAGE.address,
                               "text": "Harbour Club: reminder\nYour booking starts at 09:00."}
    assert request["headers"]["authorization"] == "Bearer provider-token"
    # A provider that saw the request before can tell a retry from a new message.
    assert request["headers"]["idempotency-key"] == MESSAGE.notification_id


@pytest.mark.parametrize(("status", "outcome"), [(503, Retry), (429, Retry), (400, Refused)])
async def test_busy_means_later_and_a_refusal_is_final(status, outcome):
    seen: list[dict] = []
    async with serve_app(_receiver([status], seen)) as url:
        with pytest.raises(outcome):
            await WebhookChannel(f"{url}/send").send(MESSAGE)
    assert len(seen) == 1


async def test_an_unreachable_provider_means_later():
    async with serve_app(FastAPI()) as url:
        closed = url     # the server stops when the block ends; its port is then closed
    with pytest.raises(Retry, match="unreachable"):
        await WebhookChannel(f"{closed}/send", timeout=2).send(MESSAGE)
