"""A real SMTP server with an inbox the tests can read: the project's Mailpit
(deploy/local/mailpit.py), found from the environment (`CLUB_MAILPIT_SMTP`, `CLUB_MAILPIT_URL`,
which `make infra` writes to .env.local) or started. Tests count what arrived through its
API and may stop and start it (the provider-down scenario); its inbox survives a restart.

Tests share one inbox: each one addresses its messages to recipients of its own
(`unique_address`) and reads only theirs.
"""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
from club_platform.testing.infrastructure import project_root, read_env_file


class MailpitUnavailable(RuntimeError):
    pass


@dataclass
class Mailpit:
    smtp_host: str
    smtp_port: int
    url: str
    script: Path | None

    # ------------------------------------------------------------ control

    def stop(self) -> None:
        self._run("stop")

    def start(self) -> None:
        self._run("start")

    def _run(self, command: str) -> None:
        if self.script is None:
            raise MailpitUnavailable("this Mailpit is not ours to stop "
                                     "(no deploy/local/mailpit.py)")
        # The script finds this inbox's ports through the profile (CLUB_INFRA_PROFILE, from the
        # address file) and the settings its `up` saved.
        env = dict(os.environ)
        subprocess.run([sys.executable, str(self.script), command], check=True,
                       capture_output=True, env=env)

    # ------------------------------------------------------------ reading

    async def messages_to(self, address: str) -> list[dict]:
        """Summaries of every message sent to `address` (newest first)."""
        found: list[dict] = []
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            start = 0
            while True:
                response = await http.get("/api/v1/search", params={
                    "query": f'to:"{address}"', "start": start, "limit": 200})
                response.raise_for_status()
                page = response.json()
                batch = [m for m in page["messages"]
                         if any(t["Address"].lower() == address.lower() for t in m["To"])]
                found += batch
                start += len(page["messages"])
                if not page["messages"] or start >= page["messages_count"]:
                    return found

    async def raw(self, message_id: str) -> EmailMessage:
        """The message as it arrived, parsed (headers, text and attachments)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            response = await http.get(f"/api/v1/message/{message_id}/raw")
            response.raise_for_status()
        return email.message_from_bytes(response.content, policy=email.policy.default)

    async def total(self) -> int:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            response = await http.get("/api/v1/messages", params={"limit": 1})
            response.raise_for_status()
            return int(response.json()["messages_count"])


def unique_address(prefix: str = "member") -> str:
    return f"{prefix}-{secrets.token_hex(5)}@example.test"


def locate_mailpit() -> Mailpit:
    root = project_root()
    script = root / "deploy" / "local" / "mailpit.py" if root else None
    smtp, url = os.environ.get("CLUB_MAILPIT_SMTP"), os.environ.get("CLUB_MAILPIT_URL")
    if not (smtp and url) and script is not None and script.exists():
        result = subprocess.run([sys.executable, str(script), "up"], capture_output=True,
                                text=True)
        if result.returncode != 0:
            raise MailpitUnavailable(f"`{script} up` failed:\n{result.stderr[-2000:]}")
        values = read_env_file(root / ".env.local")
        smtp, url = values.get("CLUB_MAILPIT_SMTP"), values.get("CLUB_MAILPIT_URL")
    if not (smtp and url):
        raise MailpitUnavailable(
            "the tests need an SMTP server with Mailpit's API: run `make infra` (it starts "
            "Mailpit) or set CLUB_MAILPIT_SMTP=host:port and CLUB_MAILPIT_URL=http://host:port")
    host, port = smtp.rsplit(":", 1)
    return Mailpit(host, int(port), url.rstrip("/"),
                   script if script is not None and script.exists() else None)
