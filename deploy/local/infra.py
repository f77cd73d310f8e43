#!/usr/bin/env python3
"""Real Kafka and PostgreSQL on this machine, without Docker (BLUEPRINT §7).

    python3 deploy/local/infra.py up       install what is missing, start both, wait until ready
    python3 deploy/local/infra.py down     stop both (data kept)
    python3 deploy/local/infra.py wipe     stop both and delete their data (jars kept)
    python3 deploy/local/infra.py status   what runs, where
    python3 deploy/local/infra.py kafka-stop | kafka-start | postgres-stop | postgres-start
    python3 deploy/local/infra.py kafka-tools   Kafka's own tools (benchmarks), prints their path

Kafka listens on PLAINTEXT (loopback; development and tests) and on SASL_PLAINTEXT with
SCRAM-SHA-512, where each service's principal is held to deploy/kafka/access.yaml (applied
by `uv run club kafka-access apply`, which `make infra` runs).

Kafka is Apache Kafka from Maven Central (deploy/local/kafka/pom.xml) in KRaft mode, one node
that is broker and controller, on loopback. PostgreSQL is Debian's server package, run as a
cluster in a data directory of this project, on loopback, with one database and one login role
per service; each role can connect only to its own database.

All state lives under .local/ (ignored by git). The addresses and generated local secrets are
written to .env.local for people, tools and tests. Only the Python standard library is used,
so this runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mailpit  # deploy/local/mailpit.py: the local SMTP server and web inbox

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("CLUB_STATE_DIR", ROOT / ".local"))
ENV_FILE = ROOT / ".env.local"

SERVICES = ("booking", "reception", "crm", "hr")

KAFKA_PORT = int(os.environ.get("CLUB_KAFKA_PORT", "19092"))
KAFKA_CONTROLLER_PORT = int(os.environ.get("CLUB_KAFKA_CONTROLLER_PORT", "19093"))
KAFKA_SASL_PORT = int(os.environ.get("CLUB_KAFKA_SASL_PORT", "19094"))
POSTGRES_PORT = int(os.environ.get("CLUB_POSTGRES_PORT", "15432"))
HOST = "127.0.0.1"

KAFKA_DIR = STATE / "kafka"
KAFKA_LIBS = KAFKA_DIR / "libs"
KAFKA_DATA = KAFKA_DIR / "data"
KAFKA_LOGS = KAFKA_DIR / "logs"
KAFKA_PID = KAFKA_DIR / "kafka.pid"
PG_DIR = STATE / "postgres"
PG_DATA = PG_DIR / "data"
PG_SOCKET = PG_DIR / "run"
PG_LOG = PG_DIR / "postgres.log"
SECRETS = STATE / "secrets.json"

READY_TIMEOUT = float(os.environ.get("CLUB_READY_TIMEOUT", "90"))


def say(message: str) -> None:
    print(f"[infra] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[infra] error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kwargs)


def is_root() -> bool:
    return os.geteuid() == 0


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def wait_until(what: str, check, timeout: float = READY_TIMEOUT, interval: float = 0.1) -> float:
    """Poll `check` until it is true; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            fail(f"{what} not ready after {timeout:.0f}s")
        time.sleep(interval)
    return time.monotonic() - started


# ------------------------------------------------------------------ secrets


def local_secrets() -> dict:
    """Random passwords made once per machine: local development has no shared default."""
    if SECRETS.exists():
        return json.loads(SECRETS.read_text())
    STATE.mkdir(parents=True, exist_ok=True)
    values = {
        "postgres": secrets.token_urlsafe(18),
        "jwt": secrets.token_urlsafe(32),
        "crm_field_key": secrets.token_urlsafe(32),
        **{f"db_{s}": secrets.token_urlsafe(18) for s in SERVICES},
        **{f"kafka_{s}": secrets.token_urlsafe(18) for s in (*SERVICES, "door", "admin")},
    }
    SECRETS.write_text(json.dumps(values, indent=2))
    SECRETS.chmod(0o600)
    return values


# ------------------------------------------------------------------ Kafka


def java() -> str:
    found = shutil.which("java")
    if not found:
        fail("Java 17 or newer is needed for Kafka (apt-get install -y openjdk-17-jre-headless)")
    return found


def ensure_kafka_jars(pom_name: str = "pom.xml", libs: Path | None = None) -> Path:
    pom = HERE / "kafka" / pom_name
    libs = libs or KAFKA_LIBS
    stamp = libs / ".pom.sha256"
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return libs
    mvn = shutil.which("mvn")
    if not mvn:
        if is_root():
            say("installing Maven")
            apt_install("maven")
            mvn = shutil.which("mvn")
        if not mvn:
            fail("Maven is needed to fetch Kafka from Maven Central (apt-get install -y maven)")
    say(f"resolving {pom_name} from Maven Central")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    result = subprocess.run(
        [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies",
         f"-DoutputDirectory={libs}", "-DincludeScope=runtime"], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"Maven could not resolve {pom_name}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    stamp.write_text(digest)
    return libs


def kafka_classpath() -> str:
    return str(KAFKA_LIBS / "*")


def kafka_tool(*args: str) -> list[str]:
    """A Kafka command-line tool (from the broker jar), logging to the broker's log config."""
    return [java(), f"-Dkafka.logs.dir={KAFKA_LOGS}",
            f"-Dlog4j.configuration=file:{HERE / 'kafka' / 'log4j.properties'}",
            "-cp", kafka_classpath(), *args]


KAFKA_PRINCIPALS = (*SERVICES, "door", "admin")


def kafka_config() -> Path:
    """Two client listeners: PLAINTEXT (loopback, development and tests, unrestricted) and
    SASL_PLAINTEXT with SCRAM, where every principal is held to its ACLs."""
    listeners = [f"PLAINTEXT://{HOST}:{KAFKA_PORT}", f"CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}",
                 f"SASL_PLAINTEXT://{HOST}:{KAFKA_SASL_PORT}"]
    advertised = [f"PLAINTEXT://{HOST}:{KAFKA_PORT}", f"SASL_PLAINTEXT://{HOST}:{KAFKA_SASL_PORT}"]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT", "SASL_PLAINTEXT:SASL_PLAINTEXT"]
    security = (HERE / "kafka" / "security.properties.in").read_text()
    text = (HERE / "kafka" / "server.properties.in").read_text().format(
        controller_port=KAFKA_CONTROLLER_PORT,
        listeners=",".join(listeners),
        advertised_listeners=",".join(advertised),
        protocol_map=",".join(protocols),
        inter_broker_listener="PLAINTEXT",
        data_dir=KAFKA_DATA,
        security=security,
    )
    path = KAFKA_DIR / "server.properties"
    path.write_text(text)
    return path


def kafka_pid() -> int | None:
    if not KAFKA_PID.exists():
        return None
    pid = int(KAFKA_PID.read_text().strip() or 0)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    return pid


def kafka_started_marker() -> bool:
    # server.log is deleted before each start, so the marker is from this run.
    log = KAFKA_LOGS / "server.log"
    return log.exists() and b"Kafka Server started" in log.read_bytes()


def start_kafka() -> None:
    if kafka_pid():
        say(f"Kafka already running (pid {kafka_pid()}) on {HOST}:{KAFKA_PORT}")
        return
    if port_open(KAFKA_PORT):
        fail(f"port {KAFKA_PORT} is taken by another program (set CLUB_KAFKA_PORT)")
    ensure_kafka_jars()
    KAFKA_DATA.mkdir(parents=True, exist_ok=True)
    KAFKA_LOGS.mkdir(parents=True, exist_ok=True)
    config = kafka_config()
    started = time.monotonic()
    if not (KAFKA_DATA / "meta.properties").exists():
        cluster_id = subprocess.run(
            kafka_tool("kafka.tools.StorageTool", "random-uuid"),
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        format_cmd = kafka_tool("kafka.tools.StorageTool", "format", "-t", cluster_id,
                                "-c", str(config), "--ignore-formatted")
        # Every principal's SCRAM credentials, written with the cluster's first metadata.
        for principal in KAFKA_PRINCIPALS:
            password = local_secrets()[f"kafka_{principal}"]
            format_cmd += ["--add-scram", f"SCRAM-SHA-512=[name={principal},password={password}]"]
        run(format_cmd, stdout=subprocess.DEVNULL)
    (KAFKA_LOGS / "server.log").unlink(missing_ok=True)
    env = {**os.environ, "LOG_DIR": str(KAFKA_LOGS)}
    with (KAFKA_LOGS / "stdout.log").open("ab") as out:
        process = subprocess.Popen(
            [java(), "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dkafka.logs.dir={KAFKA_LOGS}",
             f"-Dlog4j.configuration=file:{HERE / 'kafka' / 'log4j.properties'}",
             "-cp", kafka_classpath(), "kafka.Kafka", str(config)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
    KAFKA_PID.write_text(str(process.pid))

    def ready() -> bool:
        if process.poll() is not None:
            fail(f"Kafka exited with {process.returncode}; see {KAFKA_LOGS / 'server.log'}")
        return port_open(KAFKA_PORT) and kafka_started_marker()

    wait_until("Kafka", ready)
    say(f"Kafka ready on {HOST}:{KAFKA_PORT} in {time.monotonic() - started:.1f}s")


def stop_kafka() -> None:
    pid = kafka_pid()
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    started = time.monotonic()
    while time.monotonic() - started < 30:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    KAFKA_PID.unlink(missing_ok=True)
    say("Kafka stopped")


# ------------------------------------------------------------------ PostgreSQL


def apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env,
        stdout=subprocess.DEVNULL)


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        if not is_root():
            fail("PostgreSQL server is not installed; as root: apt-get install -y postgresql")
        say("installing PostgreSQL from Debian's packages")
        apt_install("postgresql", "postgresql-contrib")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            fail("PostgreSQL installed but initdb not found")
    return Path(found[-1]).parent


def pg_user() -> str | None:
    """Root may not run PostgreSQL: as root we run it as the `postgres` system user."""
    if not is_root():
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        run(["useradd", "--system", "--home", "/var/lib/postgresql", "postgres"])
    return "postgres"


def as_pg_user(cmd: list[str]) -> list[str]:
    user = pg_user()
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def pg_running() -> bool:
    return (PG_DATA / "postmaster.pid").exists() and subprocess.run(
        as_pg_user([str(pg_bin() / "pg_ctl"), "status", "-D", str(PG_DATA)]),
        capture_output=True,
    ).returncode == 0


def init_postgres() -> None:
    if (PG_DATA / "PG_VERSION").exists():
        return
    say("creating the PostgreSQL cluster")
    PG_DIR.mkdir(parents=True, exist_ok=True)
    PG_SOCKET.mkdir(parents=True, exist_ok=True)
    user = pg_user()
    pwfile = PG_DIR / ".pw"
    pwfile.write_text(local_secrets()["postgres"])
    if user:
        shutil.chown(PG_DIR, user)
        shutil.chown(PG_SOCKET, user)
        shutil.chown(pwfile, user)
    pwfile.chmod(0o600)
    try:
        run(as_pg_user([str(pg_bin() / "initdb"), "-D", str(PG_DATA), "-U", "postgres",
                        "--pwfile", str(pwfile), "--auth-host=scram-sha-256",
                        "--auth-local=peer" if user else "--auth-local=trust",
                        "--encoding=UTF8", "--locale=C.UTF-8"]), stdout=subprocess.DEVNULL)
    finally:
        pwfile.unlink(missing_ok=True)
    if not user:
        # trust on the socket is only safe because the socket directory is private
        PG_SOCKET.chmod(0o700)
    conf = PG_DATA / "postgresql.conf"
    with conf.open("a") as f:
        f.write(
            "\n# club platform, local development\n"
            f"listen_addresses = '{HOST}'\n"
            f"port = {POSTGRES_PORT}\n"
            f"unix_socket_directories = '{PG_SOCKET}'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 300\n"
            "shared_buffers = 256MB\n"
            "fsync = on\n"
            "synchronous_commit = on\n"
            "log_min_messages = warning\n"
        )
    hba = PG_DATA / "pg_hba.conf"
    hba.write_text(
        "# local socket: the cluster's own OS user only\n"
        f"local all postgres {'peer' if user else 'trust'}\n"
        "# TCP on loopback: passwords; which database a role may open is a GRANT CONNECT\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
    )


def start_postgres() -> None:
    pg_bin()
    init_postgres()
    if pg_running():
        say(f"PostgreSQL already running on {HOST}:{POSTGRES_PORT}")
    else:
        if port_open(POSTGRES_PORT):
            fail(f"port {POSTGRES_PORT} is taken by another program (set CLUB_POSTGRES_PORT)")
        started = time.monotonic()
        run(as_pg_user([str(pg_bin() / "pg_ctl"), "start", "-D", str(PG_DATA), "-l", str(PG_LOG),
                        "-w", "-t", str(int(READY_TIMEOUT))]), stdout=subprocess.DEVNULL)
        wait_until("PostgreSQL", lambda: subprocess.run(
            [str(pg_bin() / "pg_isready"), "-h", HOST, "-p", str(POSTGRES_PORT)],
            capture_output=True).returncode == 0)
        say(f"PostgreSQL ready on {HOST}:{POSTGRES_PORT} in {time.monotonic() - started:.1f}s")
    create_service_databases()


def psql(sql: str, database: str = "postgres") -> str:
    return subprocess.run(
        as_pg_user([str(pg_bin() / "psql"), "-h", str(PG_SOCKET), "-p", str(POSTGRES_PORT),
                    "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]),
        check=True, capture_output=True, text=True,
    ).stdout


def create_service_databases() -> None:
    values = local_secrets()
    for service in SERVICES:
        password = values[f"db_{service}"].replace("'", "''")
        exists = psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{service}'").strip()
        verb = "ALTER" if exists else "CREATE"
        psql(f"{verb} ROLE {service} LOGIN PASSWORD '{password}'")
        if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{service}'").strip():
            psql(f"CREATE DATABASE {service} OWNER {service}")
        # Only its own role may open a service's database (BLUEPRINT §1).
        psql(f"REVOKE ALL ON DATABASE {service} FROM PUBLIC")
        psql(f"GRANT CONNECT, TEMPORARY ON DATABASE {service} TO {service}")
        # Booking's exclusion constraint needs btree_gist; create it as superuser once.
        psql("CREATE EXTENSION IF NOT EXISTS btree_gist", database=service)


def stop_postgres(mode: str = "fast") -> None:
    if not (PG_DATA / "PG_VERSION").exists() or not pg_running():
        return
    run(as_pg_user([str(pg_bin() / "pg_ctl"), "stop", "-D", str(PG_DATA), "-m", mode, "-w"]),
        stdout=subprocess.DEVNULL)
    say("PostgreSQL stopped")


# ------------------------------------------------------------------ addresses


def write_env() -> None:
    values = local_secrets()
    kafka = f"{HOST}:{KAFKA_PORT}"
    lines = [
        "# Written by deploy/local/infra.py: addresses and local-only secrets of this machine.",
        f"KAFKA_BOOTSTRAP_SERVERS={kafka}",
        f"CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS={HOST}:{KAFKA_SASL_PORT}",
        f"CLUB_POSTGRES_ADMIN_URL=postgresql://postgres:{values['postgres']}@{HOST}:{POSTGRES_PORT}/postgres",
        f"CLUB_JWT_SECRET={values['jwt']}",
        f"CLUB_KAFKA_LIBS={KAFKA_LIBS}",
        *[f"CLUB_KAFKA_SCRAM_{p.upper()}={values[f'kafka_{p}']}" for p in KAFKA_PRINCIPALS],
    ]
    for service in SERVICES:
        prefix = service.upper()
        url = (f"postgresql+asyncpg://{service}:{values[f'db_{service}']}"
               f"@{HOST}:{POSTGRES_PORT}/{service}")
        lines += [
            f"{prefix}_DATABASE_URL={url}",
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS={kafka}",
            f"{prefix}_JWT_SECRET={values['jwt']}",
        ]
    lines.append(f"CRM_FIELD_ENCRYPTION_KEYS={values['crm_field_key']}")
    existing = ENV_FILE.read_text().splitlines() if ENV_FILE.exists() else []
    ours = {line.split("=", 1)[0] for line in lines if "=" in line}
    # Keep what other tools added (e.g. the services' HTTP addresses from `make up`).
    kept = [line for line in existing
            if "=" in line and not line.startswith("#") and line.split("=", 1)[0] not in ours]
    ENV_FILE.write_text("\n".join(lines + kept) + "\n")
    ENV_FILE.chmod(0o600)


# ------------------------------------------------------------------ commands


def up() -> None:
    started = time.monotonic()
    java()
    start_postgres()
    start_kafka()
    write_env()
    mailpit.up()
    say(f"infrastructure ready in {time.monotonic() - started:.1f}s; addresses in {ENV_FILE}")


def down() -> None:
    stop_kafka()
    stop_postgres()
    mailpit.stop()


def wipe() -> None:
    down()
    for path in (KAFKA_DATA, KAFKA_LOGS, PG_DIR, SECRETS, *mailpit.inbox_files()):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    ENV_FILE.unlink(missing_ok=True)
    say("local Kafka and PostgreSQL data deleted")


def status() -> int:
    kafka = kafka_pid()
    postgres = (PG_DATA / "PG_VERSION").exists() and pg_running()
    print(f"kafka:      {'running pid ' + str(kafka) if kafka else 'stopped'}  {HOST}:{KAFKA_PORT}")
    print(f"postgresql: {'running' if postgres else 'stopped'}  {HOST}:{POSTGRES_PORT}")
    print(f"mailpit:    {'running' if mailpit.pid() else 'stopped'}  inbox {mailpit.inbox_url()}")
    return 0 if kafka and postgres else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "wipe", "status", "kafka-stop",
                                            "kafka-start", "postgres-stop", "postgres-start",
                                            "env", "kafka-tools", "mailpit-stop",
                                            "mailpit-start"])
    args = parser.parse_args()
    match args.command:
        case "up":
            up()
        case "down":
            down()
        case "wipe":
            wipe()
        case "status":
            return status()
        case "kafka-stop":
            stop_kafka()
        case "kafka-start":
            start_kafka()
        case "postgres-stop":
            stop_postgres()
        case "postgres-start":
            start_postgres()
        case "env":
            write_env()
        case "mailpit-stop":
            mailpit.stop()
        case "mailpit-start":
            mailpit.start()
        case "kafka-tools":
            # Kafka's performance tools for the benchmarks; prints where the jars are.
            print(ensure_kafka_jars("tools-pom.xml", KAFKA_DIR / "tools-libs"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
