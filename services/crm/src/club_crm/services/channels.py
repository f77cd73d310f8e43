"""The ways a message reaches a person, behind one interface: e-mail over SMTP, and SMS or
WeChat through a provider's HTTP webhook (every such provider takes a JSON POST; its adapter
is configuration, not code).

A channel raises `Retry` when the provider is unreachable or says "later" (the message waits
and is tried again with back-off) and `Refused` when it will never take this message (the
message fails with the reason, and the address is marked undeliverable).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

import aiosmtplib
import httpx


class Retry(Exception):
    """The provider is down or busy: try again later."""


class Refused(Exception):
    """The provider will not take this message: do not try again."""


@dataclass(frozen=True)
class Outgoing:
    notification_id: str
    address: str
    subject: str
    text: str
    sent_at: datetime
    attachments: tuple[tuple[str, str, bytes], ...] = ()   # (filename, mime type, content)
    headers: dict[str, str] = field(default_factory=dict)


class Channel(Protocol):
    name: str

    async def send(self, message: Outgoing) -> None: ...


@dataclass
class SmtpChannel:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10
    name: str = "email"

    def build(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.sent_at)
        # The same message always has the same id, so a receiving system can tell a resend.
        mail["Message-ID"] = make_msgid(idstring=message.notification_id,
                                        domain=self.sender.rsplit("@", 1)[-1].strip(">"))
        mail["X-Club-Notification"] = message.notification_id
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(message.text)
        for filename, mime, content in message.attachments:
            maintype, subtype = mime.split(";", 1)[0].split("/", 1)
            params = dict(p.strip().split("=", 1) for p in mime.split(";")[1:] if "=" in p)
            mail.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename,
                                params=params)
        return mail

    async def send(self, message: Outgoing) -> None:
        try:
            await aiosmtplib.send(
                self.build(message), hostname=self.host, port=self.port,
                username=self.username, password=self.password,
                start_tls=self.starttls or None, timeout=self.timeout,
                tls_context=ssl.create_default_context() if self.starttls else None)
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise Refused(f"the server refused the address: {_codes(e)}") from None
        except aiosmtplib.SMTPResponseException as e:
            if 500 <= e.code < 600:
                raise Refused(f"the server refused the message: {e.code} {e.message}") from None
            raise Retry(f"the server answered {e.code} {e.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            raise Retry(f"the SMTP server is unreachable: {type(e).__name__}: {e}") from None


def _codes(error: aiosmtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{r.code} {r.message}" for r in error.recipients)


@dataclass
class WebhookChannel:
    """An SMS or WeChat provider reached by an HTTPS POST of JSON:
    `{"reference", "to", "text"}` with a bearer token. 2xx: taken; 429/5xx or no answer:
    later; other 4xx: refused for good."""

    url: str
    token: str | None = None
    timeout: float = 10
    name: str = "sms"

    async def send(self, message: Outgoing) -> None:
        headers = {"Idempotency-Key": message.notification_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"reference": message.notification_id, "to": message.address,
                "text": f"{message.subject}\n{message.text}"}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as e:
            raise Retry(f"the SMS provider is unreachable: {type(e).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Retry(f"the SMS provider answered {response.status_code}")
        if response.status_code >= 400:
            raise Refused(f"the SMS provider refused it: {response.status_code} "
                          f"{response.text[:200]}")
