"""Run the four services on this machine as four separate processes (after `infra.py up`),
and the web console in front of them as a fifth.

    uv run python deploy/local/services.py up       topics, migrations, start, wait until ready
    uv run python deploy/local/services.py down     stop the console and the services
                                                    (SIGTERM, then SIGKILL)
    uv run python deploy/local/services.py status

Each service reads its own `<SERVICE>_…` variables from .env.local; logs go to
.local/logs/<service>.log; HTTP base URLs are added to .env.local as `<SERVICE>_URL`.
The services listen on CLUB_SERVICE_PORT_BASE + 1…4 (booking, reception, crm, hr; base 8100
by default), the console on the base itself (8100: the address the Keycloak realm's
`club-console` client sends people back to). The console signs people in at the platform's
Keycloak, so it starts only when Keycloak runs (not with CLUB_KEYCLOAK=off); it owns no data
and calls the four services with each person's token. Locally every service reads its clock
offset from .local/demo-clock
(`CLUB_CLOCK_OFFSET_FILE`, written by the demo day while it lives through yesterday; no file
means the real time), and the SLA job and the no-show sweep run every 5 s instead of every
minute, so the demo day's effects show at once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from club_platform.kafka import KafkaConnection, ensure_topics
from club_platform.migrations import upgrade

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("CLUB_STATE_DIR", ROOT / ".local"))
RUN_DIR = STATE / "run"
LOG_DIR = STATE / "logs"
ENV_FILE = ROOT / ".env.local"
PORT_BASE = int(os.environ.get("CLUB_SERVICE_PORT_BASE", "8100"))
SERVICES = {"booking": PORT_BASE + 1, "reception": PORT_BASE + 2, "crm": PORT_BASE + 3,
            "hr": PORT_BASE + 4}
CONSOLE = "console"
CONSOLE_PORT = PORT_BASE
CONSOLE_URL = f"http://127.0.0.1:{CONSOLE_PORT}"
CLOCK_FILE = STATE / "demo-clock"
# Local defaults a person's environment may override: quick periodic jobs for the demo day.
LOCAL_DEFAULTS = {"CRM_SLA_CHECK_INTERVAL_SECONDS": "5", "BOOKING_NO_SHOW_SWEEP_SECONDS": "5"}


def say(message: str) -> None:
    print(f"[services] {message}", flush=True)


def env_file() -> dict[str, str]:
    values = {}
    for line in ENV_FILE.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            if value.startswith("'"):  # quoted for the shell (a path with spaces)
                value = "".join(shlex.split(value))
            values[name] = value
    return values


def add_to_env_file(values: dict[str, str]) -> None:
    lines = [line for line in ENV_FILE.read_text().splitlines()
             if line.split("=", 1)[0] not in values]
    # quoted as a shell reads it (`. ./.env.local`): the clone's path may hold spaces
    lines += [f"{name}={shlex.quote(value)}" for name, value in values.items()]
    ENV_FILE.write_text("\n".join(lines) + "\n")


def pid_of(service: str) -> int | None:
    path = RUN_DIR / f"{service}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink()
        return None
    return pid


async def apply_topics(bootstrap: str) -> None:
    from club_platform.cli import topic_specs  # the topic definitions in deploy/kafka/

    created = await ensure_topics(KafkaConnection(bootstrap), topic_specs())
    say(f"topics ready ({len(created)} created)")


def migrate(values: dict[str, str]) -> None:
    for service in SERVICES:
        upgrade(ROOT / "services" / service, values[f"{service.upper()}_DATABASE_URL"])
    say("migrations applied")


def start(service: str, port: int, values: dict[str, str]) -> None:
    if pid_of(service):
        say(f"{service} already running")
        return
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    prefix = service.upper()
    env = {**LOCAL_DEFAULTS, **os.environ, **values, f"{prefix}_HTTP_PORT": str(port),
           f"{prefix}_CLOCK_OFFSET_FILE": str(CLOCK_FILE),
           "CRM_SURVEY_LINK_BASE_URL": f"http://127.0.0.1:{SERVICES['crm']}"}
    if service == "crm" and values.get("CLUB_KEYCLOAK_URL"):
        # CRM keeps the sign-in accounts in step with HR (club_crm.accounts).
        env |= {"CRM_ACCOUNTS_PROVIDER_URL": values["CLUB_KEYCLOAK_URL"],
                "CRM_ACCOUNTS_CLIENT_SECRET": values["CLUB_KEYCLOAK_ACCOUNTS_SECRET"]}
    if service == CONSOLE:
        # The console has no clock offset, database or Kafka: the provider and the services.
        env = {**os.environ, **values, "CONSOLE_HTTP_PORT": str(port),
               "CONSOLE_PUBLIC_URL": CONSOLE_URL,
               "CONSOLE_OIDC_ISSUER": values["CLUB_OIDC_ISSUER"],
               **{f"CONSOLE_{s.upper()}_URL": f"http://127.0.0.1:{p}"
                  for s, p in SERVICES.items()}}
    with (LOG_DIR / f"{service}.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", f"club_{service}"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    (RUN_DIR / f"{service}.pid").write_text(str(process.pid))


def wait_ready(service: str, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_of(service):
            raise SystemExit(f"{service} exited; see {LOG_DIR / (service + '.log')}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    log = LOG_DIR / f"{service}.log"
    raise SystemExit(f"{service} not ready after {timeout:.0f}s; see {log}")


def sign_in_available(values: dict[str, str]) -> str | None:
    """Why the console cannot sign anyone in here, or None when it can: it needs the
    platform's Keycloak (infra.py starts it unless CLUB_KEYCLOAK=off)."""
    import infra  # deploy/local/, beside this script: the one place that decides

    if not infra.keycloak_wanted():
        return "Keycloak is off (CLUB_KEYCLOAK=off)"
    if not values.get("CLUB_OIDC_ISSUER"):
        return "no CLUB_OIDC_ISSUER in .env.local (run `make infra` with Keycloak on)"
    return None


def up() -> None:
    values = env_file()
    CLOCK_FILE.unlink(missing_ok=True)  # an interrupted demo day's offset: back to real time
    asyncio.run(apply_topics(values["KAFKA_BOOTSTRAP_SERVERS"]))
    migrate(values)
    urls = {f"{s.upper()}_URL": f"http://127.0.0.1:{p}" for s, p in SERVICES.items()}
    for service, port in SERVICES.items():
        start(service, port, values)
    for service in SERVICES:
        wait_ready(service, urls[f"{service.upper()}_URL"])
        say(f"{service} ready at {urls[f'{service.upper()}_URL']} (API docs: /docs)")
    add_to_env_file({**urls, "CLUB_CLOCK_OFFSET_FILE": str(CLOCK_FILE)})
    why_not = sign_in_available(values)
    if why_not:
        stop([CONSOLE])  # one left from a run with Keycloak on would sign nobody in now
        drop_from_env_file(["CONSOLE_URL"])
        say(f"console not started: it signs people in at Keycloak, and {why_not}")
        return
    start(CONSOLE, CONSOLE_PORT, values)
    wait_ready(CONSOLE, CONSOLE_URL)
    say(f"console ready at {CONSOLE_URL} (sign in with a demo user: make up lists them)")
    add_to_env_file({"CONSOLE_URL": CONSOLE_URL})


def drop_from_env_file(names: list[str]) -> None:
    lines = [line for line in ENV_FILE.read_text().splitlines()
             if line.split("=", 1)[0] not in names]
    ENV_FILE.write_text("\n".join(lines) + "\n")


def stop(names: list[str]) -> None:
    pids = {s: pid_of(s) for s in names}
    for pid in pids.values():
        if pid:
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 25
    for service, pid in pids.items():
        if not pid:
            continue
        while pid_of(service) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_of(service):
            os.killpg(pid, signal.SIGKILL)
        (RUN_DIR / f"{service}.pid").unlink(missing_ok=True)
        say(f"{service} stopped")


def down() -> None:
    # The console first: it calls the services.
    stop([CONSOLE])
    stop(list(SERVICES))
    CLOCK_FILE.unlink(missing_ok=True)


def status() -> None:
    for service, port in [*SERVICES.items(), (CONSOLE, CONSOLE_PORT)]:
        pid = pid_of(service)
        print(f"{service:10} {'running pid ' + str(pid) if pid else 'stopped'}  "
              f"http://127.0.0.1:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    {"up": up, "down": down, "status": status}[parser.parse_args().command]()


if __name__ == "__main__":
    main()
