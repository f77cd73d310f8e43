#!/usr/bin/env python3
"""Mailpit: a real SMTP server with a web inbox and a JSON API, for local runs and tests.

    python3 deploy/local/mailpit.py up       build it if missing, start it, wait until ready
    python3 deploy/local/mailpit.py down     stop it (the inbox is kept)
    python3 deploy/local/mailpit.py status   whether it runs, and where

The crm service sends its e-mails to it (CRM_SMTP_HOST / CRM_SMTP_PORT); a person reads what
was sent at the inbox address `make up` prints, tests count messages through its API
(`GET /api/v1/messages`).

Mailpit is built from the Go module proxy at a pinned version (`go install`, about a minute on
two cores, once) into .local/mailpit/bin. It needs Go 1.26: a `go` that old or older is not
used; instead the pinned Go toolchain is fetched from the same module proxy (where Go's own
`GOTOOLCHAIN` switching gets it), checked against its pinned SHA-256 and unpacked under
.local/go. Its inbox is a file under .local/mailpit, so a stop and start (the tests' "SMTP
server down" scenario) keeps what had arrived.

Ports: CLUB_MAILPIT_SMTP_PORT (18025) and CLUB_MAILPIT_HTTP_PORT (18026), on loopback.
Only the Python standard library is used, so this runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import infra  # the profile (platform, tests, cluster): its state, address file and settings

ROOT = infra.ROOT
STATE = infra.STATE
ENV_FILE = infra.ENV_FILE

VERSION = "v1.33.1"
MODULE = "github.com/axllent/mailpit"
GO_NEEDED = (1, 26)  # Mailpit's go.mod
GO_TOOLCHAIN = "v0.0.1-go1.26.0.linux-amd64"
GO_TOOLCHAIN_SHA256 = "38461905b98c59173672814302e222ab43b652274bc0c95817b08b71ab66b705"
HOST = "127.0.0.1"
# One inbox per profile: the platform's on 18025/18026, the tests' own on 18125/18126.
_OFFSET = {"platform": 0, "tests": 100}.get(infra.PROFILE.name, 200)
SMTP_PORT = int(infra.setting("MAILPIT_SMTP_PORT", 18025 + _OFFSET))
HTTP_PORT = int(infra.setting("MAILPIT_HTTP_PORT", 18026 + _OFFSET))

DIR = STATE / "mailpit"
# One build for every profile (building takes minutes).
BIN_DIR = infra.BASE_STATE / "mailpit" / "bin" / VERSION
BINARY = BIN_DIR / "mailpit"
PID = DIR / "mailpit.pid"
LOG = DIR / "mailpit.log"
DATABASE = DIR / "inbox.db"

READY_TIMEOUT = float(os.environ.get("CLUB_READY_TIMEOUT", "90"))


def say(message: str) -> None:
    print(f"[mailpit] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[mailpit] error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((HOST, port)) == 0


def inbox_files() -> list[Path]:
    """The inbox database and its write-ahead files (what `make wipe` deletes)."""
    return sorted(DIR.glob(DATABASE.name + "*"))


def inbox_url() -> str:
    return f"http://{HOST}:{HTTP_PORT}"


def _go_version(go: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                             env={**os.environ, "GOTOOLCHAIN": "local"}, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.match(r"go(\d+)\.(\d+)", out.strip())
    return (int(found[1]), int(found[2])) if found else None


def go_toolchain() -> str:
    """A Go new enough for Mailpit: the machine's, or the pinned toolchain from the proxy."""
    for go in (shutil.which("go"), "/usr/local/go/bin/go"):
        if go and Path(go).exists() and (_go_version(go) or (0, 0)) >= GO_NEEDED:
            return go
    root = infra.BASE_STATE / "go" / GO_TOOLCHAIN
    go = root / "bin" / "go"
    if go.exists():
        return str(go)
    proxy = os.environ.get("GOPROXY", "https://proxy.golang.org").split(",")[0].rstrip("/")
    if proxy in ("direct", "off"):
        proxy = "https://proxy.golang.org"
    url = f"{proxy}/golang.org/toolchain/@v/{GO_TOOLCHAIN}.zip"
    say(f"no Go {GO_NEEDED[0]}.{GO_NEEDED[1]} here: fetching the toolchain from {url}")
    archive = infra.BASE_STATE / "go" / f"{GO_TOOLCHAIN}.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(url, timeout=600) as response, open(archive, "wb") as out:
        shutil.copyfileobj(response, out)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != GO_TOOLCHAIN_SHA256:
        archive.unlink()
        fail(f"the Go toolchain from {url} has SHA-256 {digest}, not the pinned "
             f"{GO_TOOLCHAIN_SHA256}")
    prefix = f"golang.org/toolchain@{GO_TOOLCHAIN}/"
    unpacking = root.with_name(root.name + ".partial")
    shutil.rmtree(unpacking, ignore_errors=True)
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            target = unpacking / info.filename[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            # Zip entries carry their Unix mode in the high bits (the proxy keeps them).
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(mode or 0o644)
    for tool in [*(unpacking / "bin").iterdir(), *(unpacking / "pkg" / "tool").glob("*/*")]:
        tool.chmod(tool.stat().st_mode | 0o755)
    unpacking.rename(root)
    archive.unlink()
    return str(go)


def ensure_binary() -> Path:
    """The pinned Mailpit, built from the Go module proxy the first time."""
    if BINARY.exists():
        return BINARY
    go = go_toolchain()
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    say(f"building {MODULE}@{VERSION} from the Go module proxy (about a minute, once)")
    started = time.monotonic()
    env = {**os.environ, "GOBIN": str(BIN_DIR), "CGO_ENABLED": "0", "GOTOOLCHAIN": "local",
           "GOFLAGS": "-mod=mod"}
    result = subprocess.run([go, "install", f"{MODULE}@{VERSION}"], env=env,
                            capture_output=True, text=True)
    if result.returncode != 0 or not BINARY.exists():
        fail(f"go install {MODULE}@{VERSION} failed:\n{result.stderr[-2000:]}")
    say(f"built in {time.monotonic() - started:.0f}s")
    return BINARY


def pid() -> int | None:
    try:
        value = int(PID.read_text())
        os.kill(value, 0)
        return value
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def start() -> None:
    binary = ensure_binary()
    infra.save_settings()  # the ports, for a later `mailpit-start` from another shell
    if pid() and port_open(SMTP_PORT) and port_open(HTTP_PORT):
        say(f"already running: SMTP {HOST}:{SMTP_PORT}, inbox {inbox_url()}")
        return
    for port in (SMTP_PORT, HTTP_PORT):
        if port_open(port):
            prefix = infra.PROFILE.env_prefix
            fail(f"port {port} is taken by another program "
                 f"(set {prefix}MAILPIT_SMTP_PORT / {prefix}MAILPIT_HTTP_PORT)")
    DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(LOG, "ab") as log:
        process = subprocess.Popen(
            [str(binary), "--listen", f"{HOST}:{HTTP_PORT}", "--smtp", f"{HOST}:{SMTP_PORT}",
             "--database", str(DATABASE), "--max", "0", "--disable-version-check",
             # Local sending has no TLS and no real accounts: accept whatever the client says.
             "--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--smtp-disable-rdns"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    PID.write_text(str(process.pid))
    while not (port_open(SMTP_PORT) and port_open(HTTP_PORT)):
        if process.poll() is not None:
            fail(f"Mailpit exited with {process.returncode}; see {LOG}")
        if time.monotonic() - started > READY_TIMEOUT:
            fail(f"Mailpit not ready after {READY_TIMEOUT:.0f}s; see {LOG}")
        time.sleep(0.1)
    say(f"ready: SMTP {HOST}:{SMTP_PORT}, inbox {inbox_url()} "
        f"({time.monotonic() - started:.1f}s)")


def stop() -> None:
    running = pid()
    if running is None:
        PID.unlink(missing_ok=True)
        return
    infra.end_process(running, grace=10)
    PID.unlink(missing_ok=True)
    say("stopped")


def env_lines() -> list[str]:
    """What .env.local gets: where the crm service sends mail, and the inbox's address."""
    return [
        f"CLUB_MAILPIT_SMTP={HOST}:{SMTP_PORT}",
        f"CLUB_MAILPIT_URL={inbox_url()}",
        f"CRM_SMTP_HOST={HOST}",
        f"CRM_SMTP_PORT={SMTP_PORT}",
    ]


def write_env() -> None:
    lines = env_lines()
    ours = {line.split("=", 1)[0] for line in lines}
    existing = ENV_FILE.read_text().splitlines() if ENV_FILE.exists() else []
    kept = [line for line in existing if line.split("=", 1)[0] not in ours]
    ENV_FILE.write_text("\n".join(kept + lines) + "\n")
    ENV_FILE.chmod(0o600)


def up() -> None:
    start()
    write_env()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "start", "stop", "status", "env",
                                            "install"])
    args = parser.parse_args()
    match args.command:
        case "up":
            up()
        case "start":
            start()
        case "down" | "stop":
            stop()
        case "env":
            write_env()
        case "install":
            print(ensure_binary())
        case "status":
            running = pid()
            print(f"mailpit:    {'running pid ' + str(running) if running else 'stopped'}  "
                  f"SMTP {HOST}:{SMTP_PORT}  inbox {inbox_url()}")
            return 0 if running else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
