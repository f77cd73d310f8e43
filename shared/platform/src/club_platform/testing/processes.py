"""Services as real processes for end-to-end and fault tests: `python -m club_<service>` with
its own environment, on a free loopback port, logging to a file; stopped politely (SIGTERM)
or killed (SIGKILL), and started again with the same database and consumer group."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    def __init__(self, service: str, env: dict[str, str], log_dir: Path,
                 name: str | None = None) -> None:
        self.service = service
        self.name = name or service
        self.port = free_port()
        self.env = {**os.environ, **env, f"{service.upper()}_HTTP_PORT": str(self.port)}
        self.log_path = log_dir / f"{self.name}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, *, timeout: float = 60.0) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220  (Popen returns at once)
            [sys.executable, "-m", f"club_{self.service}"], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        await self.wait_ready(timeout)
        return self

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if not self.running():
                    raise AssertionError(f"{self.name} exited ({self.process.returncode}); "
                                         f"log: {self.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/health/ready")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} not ready in {timeout}s: {self.tail()}")
                await asyncio.sleep(0.1)

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM and wait: the service finishes what it is doing and exits."""
        if not self.running():
            return self.process.returncode if self.process else None
        os.killpg(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.running():
            self.kill()
            raise AssertionError(f"{self.name} ignored SIGTERM for {timeout}s: {self.tail()}")
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no goodbye, no flush, no offset commit."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def stop_all(processes: Iterable[ServiceProcess], *, strict: bool = True,
                   timeout: float = 30.0) -> None:
    """SIGTERM to every one still running, side by side. One that ignores it is killed either
    way; `strict` then raises the first such failure once all are down (a fixture's teardown
    reports it), otherwise it is only killed (the session's last sweep)."""
    running = [process for process in processes if process.running()]
    results = await asyncio.gather(*(process.stop(timeout) for process in running),
                                   return_exceptions=True)
    for result in results:
        if isinstance(result, AssertionError) and not strict:
            continue
        if isinstance(result, BaseException):
            raise result
