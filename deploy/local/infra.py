#!/usr/bin/env python3
"""Real Kafka and PostgreSQL on this machine, without Docker.

    python3 deploy/local/infra.py up       install what is missing, start both, wait until ready
    python3 deploy/local/infra.py down     stop both (data kept)
    python3 deploy/local/infra.py wipe     stop both and delete their data (jars kept)
    python3 deploy/local/infra.py status   what runs, where
    python3 deploy/local/infra.py kafka-stop [N] | kafka-start [N] | kafka-kill [N]
    python3 deploy/local/infra.py kafka-leader    the node leading the controller quorum
    python3 deploy/local/infra.py postgres-stop | postgres-start
    python3 deploy/local/infra.py kafka-tools     Kafka's own tools (benchmarks), their path

Three profiles, each with its own state, ports and address file, chosen by
CLUB_INFRA_PROFILE: `platform` (the default; `make up`: .local/, .env.local), `tests`
(`make test`: .local/tests/, .env.test) and `cluster` (`make test-cluster`: .local/cluster/,
.env.cluster, three brokers). A test never writes to the platform's topics because it is
never given the platform's broker. Ports are `<prefix>KAFKA_PORT` and
`<prefix>POSTGRES_PORT` with the prefix CLUB_, CLUB_TEST_ or CLUB_CLUSTER_.

Kafka is Apache Kafka from Maven Central (deploy/local/kafka/pom.xml) in KRaft mode, on
loopback: one node that is broker and controller, or with `<prefix>KAFKA_BROKERS=3` three
such nodes forming the controller quorum, topics with three replicas and
min.insync.replicas 2. Each node listens on PLAINTEXT (loopback; development and tests) and
on SASL_PLAINTEXT with SCRAM-SHA-512, where each service's principal is held to
deploy/kafka/access.yaml (applied by `uv run club kafka-access apply`, which `make infra`
runs).

PostgreSQL is Debian's server package, run as a cluster of this project on loopback, with one
database and one login role per service; each role can connect only to its own database. As
root it runs as the `postgres` user; where that user cannot enter the clone (a private home
directory or temporary folder) its data lives in /var/lib/club-platform/, linked from .local/.

All state lives under .local/ (ignored by git). The addresses and generated local secrets are
written to the profile's address file for people, tools and tests. Only the Python standard
library is used, so this runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import glob
import grp
import hashlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

SERVICES = ("booking", "reception", "crm", "hr")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Profile:
    """One set of infrastructure: its own state directory, address file and ports, so the
    test suite never touches the broker and databases `make up` runs the platform on."""

    name: str
    env_prefix: str  # its settings: <prefix>KAFKA_PORT, <prefix>POSTGRES_PORT, ...
    state: str       # under .local/
    env_file: str
    kafka_port: int
    postgres_port: int
    brokers: int = 1


PROFILES = {
    # `make up`: the platform a developer runs and subscribes to.
    "platform": Profile("platform", "CLUB_", "", ".env.local", 19092, 15432),
    # `make test`: a broker and a PostgreSQL server of the tests' own.
    "tests": Profile("tests", "CLUB_TEST_", "tests", ".env.test", 19192, 15532),
    # `make test-cluster`: three brokers (RF 3, min.insync.replicas 2) for the cluster tests.
    "cluster": Profile("cluster", "CLUB_CLUSTER_", "cluster", ".env.cluster", 19292, 15632, 3),
}
PROFILE = PROFILES.get(os.environ.get("CLUB_INFRA_PROFILE", "platform"))
if PROFILE is None:
    print(f"[infra] error: CLUB_INFRA_PROFILE must be one of {', '.join(PROFILES)}",
          file=sys.stderr)
    raise SystemExit(2)


BASE_STATE = Path(os.environ.get("CLUB_STATE_DIR", ROOT / ".local"))
STATE = BASE_STATE / PROFILE.state if PROFILE.state else BASE_STATE
ENV_FILE = ROOT / PROFILE.env_file
# The ports and sizes `up` used, so that a later `kafka-start` from another shell (or a test
# restarting a broker) brings the node back where its clients look for it.
SETTINGS = STATE / "settings.json"
SAVED: dict[str, str] = json.loads(SETTINGS.read_text()) if SETTINGS.exists() else {}
CHOSEN: dict[str, str] = {}


def setting(name: str, default: object) -> str:
    """`<prefix><name>` from the environment, else what `up` used last, else the default."""
    value = os.environ.get(f"{PROFILE.env_prefix}{name}", SAVED.get(name, str(default)))
    CHOSEN[name] = value
    return value


def save_settings() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    SETTINGS.write_text(json.dumps(CHOSEN, indent=2))

KAFKA_PORT = int(setting("KAFKA_PORT", PROFILE.kafka_port))
KAFKA_CONTROLLER_PORT = int(setting("KAFKA_CONTROLLER_PORT", KAFKA_PORT + 1))
KAFKA_SASL_PORT = int(setting("KAFKA_SASL_PORT", KAFKA_PORT + 2))
# Broker n (0-based) of a cluster listens on each of these ports + n × the step.
KAFKA_PORT_STEP = int(setting("KAFKA_PORT_STEP", 10))
KAFKA_BROKERS = int(setting("KAFKA_BROKERS", PROFILE.brokers))
KAFKA_HEAP = setting("KAFKA_HEAP", "768m" if KAFKA_BROKERS == 1 else "400m")
POSTGRES_PORT = int(setting("POSTGRES_PORT", PROFILE.postgres_port))

KAFKA_DIR = STATE / "kafka"
# One copy of the jars for every profile.
KAFKA_LIBS = BASE_STATE / "kafka" / "libs"
PG_LINK = STATE / "postgres"
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


def log4j_config() -> str:
    return (HERE / "kafka" / "log4j.properties").as_uri()  # a URI: paths may hold spaces


def kafka_tool(*args: str) -> list[str]:
    """A Kafka command-line tool (from the broker jar), logging to the first node's logs."""
    return [java(), f"-Dkafka.logs.dir={kafka_nodes()[0].logs}",
            f"-Dlog4j.configuration={log4j_config()}", "-cp", kafka_classpath(), *args]


KAFKA_PRINCIPALS = (*SERVICES, "door", "admin")


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node (broker and controller): its ports and its directory."""

    node_id: int
    port: int
    controller_port: int
    sasl_port: int
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def name(self) -> str:
        return f"Kafka node {self.node_id}" if KAFKA_BROKERS > 1 else "Kafka"


def kafka_nodes() -> list[KafkaNode]:
    """One node in .local/kafka (the layout before clusters), or node-<n>/ for each of three."""
    return [KafkaNode(n + 1, KAFKA_PORT + n * KAFKA_PORT_STEP,
                      KAFKA_CONTROLLER_PORT + n * KAFKA_PORT_STEP,
                      KAFKA_SASL_PORT + n * KAFKA_PORT_STEP,
                      KAFKA_DIR if KAFKA_BROKERS == 1 else KAFKA_DIR / f"node-{n + 1}")
            for n in range(KAFKA_BROKERS)]


def kafka_node(node_id: int) -> KafkaNode:
    for node in kafka_nodes():
        if node.node_id == node_id:
            return node
    fail(f"no Kafka node {node_id}: this profile has {KAFKA_BROKERS}")
    raise AssertionError  # unreachable


def replication() -> tuple[int, int]:
    """Replicas per partition and how many must hold a write: 1 and 1 on one node, 3 and 2
    on a cluster (a write survives one broker lost; one broker down still accepts writes)."""
    factor = min(KAFKA_BROKERS, 3)
    return factor, max(1, min(2, factor - 1))


def bootstrap_servers() -> str:
    return ",".join(f"{HOST}:{node.port}" for node in kafka_nodes())


def kafka_config(node: KafkaNode) -> Path:
    """Two client listeners: PLAINTEXT (loopback, development and tests, unrestricted) and
    SASL_PLAINTEXT with SCRAM, where every principal is held to its ACLs."""
    listeners = [f"PLAINTEXT://{HOST}:{node.port}", f"CONTROLLER://{HOST}:{node.controller_port}",
                 f"SASL_PLAINTEXT://{HOST}:{node.sasl_port}"]
    advertised = [f"PLAINTEXT://{HOST}:{node.port}", f"SASL_PLAINTEXT://{HOST}:{node.sasl_port}"]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT", "SASL_PLAINTEXT:SASL_PLAINTEXT"]
    factor, min_insync = replication()
    security = (HERE / "kafka" / "security.properties.in").read_text()
    text = (HERE / "kafka" / "server.properties.in").read_text().format(
        node_id=node.node_id,
        quorum_voters=",".join(f"{n.node_id}@{HOST}:{n.controller_port}" for n in kafka_nodes()),
        listeners=",".join(listeners),
        advertised_listeners=",".join(advertised),
        protocol_map=",".join(protocols),
        inter_broker_listener="PLAINTEXT",
        # a properties file reads a backslash as an escape
        data_dir=str(node.data).replace("\\", "\\\\"),
        replication_factor=factor,
        min_insync_replicas=min_insync,
        security=security,
    )
    path = node.home / "server.properties"
    path.write_text(text)
    return path


def kafka_pid(node: KafkaNode) -> int | None:
    if not node.pid_file.exists():
        return None
    pid = int(node.pid_file.read_text().strip() or 0)
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    return pid


def kafka_started_marker(node: KafkaNode) -> bool:
    # server.log is deleted before each start, so the marker is from this run.
    log = node.logs / "server.log"
    return log.exists() and b"Kafka Server started" in log.read_bytes()


def format_kafka_storage(node: KafkaNode, config: Path) -> None:
    """A node's storage is formatted once, with the cluster's id (shared by every node) and
    every principal's SCRAM credentials in the cluster's first metadata."""
    if (node.data / "meta.properties").exists():
        return
    id_file = KAFKA_DIR / "cluster.id"
    if not id_file.exists():
        id_file.write_text(subprocess.run(
            kafka_tool("kafka.tools.StorageTool", "random-uuid"),
            check=True, capture_output=True, text=True).stdout.strip())
    format_cmd = kafka_tool("kafka.tools.StorageTool", "format", "-t", id_file.read_text(),
                            "-c", str(config), "--ignore-formatted")
    for principal in KAFKA_PRINCIPALS:
        password = local_secrets()[f"kafka_{principal}"]
        format_cmd += ["--add-scram", f"SCRAM-SHA-512=[name={principal},password={password}]"]
    run(format_cmd, stdout=subprocess.DEVNULL)


def launch_kafka_node(node: KafkaNode) -> subprocess.Popen | None:
    """Start one node's JVM (not waiting for it); None when it already runs."""
    if kafka_pid(node):
        return None
    node.data.mkdir(parents=True, exist_ok=True)
    node.logs.mkdir(parents=True, exist_ok=True)
    config = kafka_config(node)
    format_kafka_storage(node, config)
    (node.logs / "server.log").unlink(missing_ok=True)
    env = {**os.environ, "LOG_DIR": str(node.logs)}
    with (node.logs / "stdout.log").open("ab") as out:
        process = subprocess.Popen(
            [java(), "-Xms256m", f"-Xmx{KAFKA_HEAP}", "-XX:+UseG1GC",
             "-Djava.awt.headless=true", f"-Dkafka.logs.dir={node.logs}",
             f"-Dlog4j.configuration={log4j_config()}",
             "-cp", kafka_classpath(), "kafka.Kafka", str(config)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
    node.pid_file.write_text(str(process.pid))
    return process


def start_kafka(node_id: int | None = None) -> None:
    """Start every node (a quorum forms only once most of its voters run, so all are
    launched before any is awaited), or only `node_id`."""
    nodes = [kafka_node(node_id)] if node_id else kafka_nodes()
    for node in nodes:
        if not kafka_pid(node) and port_open(node.port):
            fail(f"port {node.port} is taken by another program "
                 f"(set {PROFILE.env_prefix}KAFKA_PORT)")
    ensure_kafka_jars()
    KAFKA_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    launched = [(node, launch_kafka_node(node)) for node in nodes]
    for node, process in launched:
        if process is None:
            say(f"{node.name} already running (pid {kafka_pid(node)}) on {HOST}:{node.port}")
            continue

        def ready(node: KafkaNode = node, process: subprocess.Popen = process) -> bool:
            if process.poll() is not None:
                fail(f"{node.name} exited with {process.returncode}; "
                     f"see {node.logs / 'server.log'}")
            return port_open(node.port) and kafka_started_marker(node)

        wait_until(node.name, ready)
        say(f"{node.name} ready on {HOST}:{node.port} in {time.monotonic() - started:.1f}s")
    if any(process is not None for _, process in launched):
        ensure_scram_credentials(nodes[0])


def ensure_scram_credentials(node: KafkaNode) -> None:
    """Every principal can still sign in on the SASL listener after a (re)start. Kafka 3.9.1
    was seen here to come back from a restart with no SCRAM credentials at all, though the
    records the storage was formatted with are still in its metadata log; the services'
    PLAINTEXT traffic went on, every SASL login failed. Missing ones are set again."""
    bootstrap = f"{HOST}:{node.port}"
    listing = run(kafka_tool("kafka.admin.ConfigCommand", "--bootstrap-server", bootstrap,
                             "--describe", "--entity-type", "users"),
                  capture_output=True, text=True).stdout
    known = {line.split("'")[1] for line in listing.splitlines()
             if line.startswith("SCRAM credential configs for user-principal '")}
    missing = [p for p in KAFKA_PRINCIPALS if p not in known]
    passwords = local_secrets()
    for principal in missing:
        password = passwords[f"kafka_{principal}"]
        run(kafka_tool("kafka.admin.ConfigCommand", "--bootstrap-server", bootstrap, "--alter",
                       "--entity-type", "users", "--entity-name", principal, "--add-config",
                       f"SCRAM-SHA-512=[iterations=4096,password={password}]"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if missing:
        say(f"SCRAM credentials set again for {', '.join(missing)} (the broker had lost them)")


def end_process(pid: int, *, group: bool = False, kill: bool = False,
                grace: float = 30) -> None:
    """SIGTERM (or SIGKILL with `kill`) a process we started, or its whole process group,
    and wait for it; SIGKILL if it outlives `grace` seconds. Used by every component."""
    send = os.killpg if group else os.kill
    send(pid, signal.SIGKILL if kill else signal.SIGTERM)
    started = time.monotonic()
    while time.monotonic() - started < grace:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    send(pid, signal.SIGKILL)


def stop_kafka(node_id: int | None = None, *, kill: bool = False) -> None:
    """SIGTERM (a clean shutdown: leadership handed over) and wait; or SIGKILL with `kill`."""
    for node in [kafka_node(node_id)] if node_id else reversed(kafka_nodes()):
        pid = kafka_pid(node)
        if not pid:
            continue
        end_process(pid, kill=kill)
        node.pid_file.unlink(missing_ok=True)
        say(f"{node.name} {'killed' if kill else 'stopped'}")


def controller_leader() -> int | None:
    """The node the controller quorum follows now: each node's quorum-state file names the
    leader of the latest epoch it knows (the running nodes' newest view wins)."""
    best: tuple[int, int] | None = None
    for node in kafka_nodes():
        if not kafka_pid(node):
            continue
        state = node.data / "__cluster_metadata-0" / "quorum-state"
        try:
            data = json.loads(state.read_text())
        except (OSError, ValueError):
            continue
        leader, epoch = data.get("leaderId", -1), data.get("leaderEpoch", -1)
        if leader > 0 and (best is None or epoch > best[1]):
            best = (leader, epoch)
    return best[0] if best else None


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


def pg_run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    # From "/": the `postgres` user may not be allowed into the directory we run from.
    return subprocess.run(as_pg_user(cmd), cwd="/", **kwargs)


def reachable_by(user: str, path: Path) -> bool:
    """Whether `user` may pass through every directory down to `path` (a private home
    directory, 0700 as root's is on Debian, or a `mktemp -d` folder, stops it)."""
    entry = pwd.getpwnam(user)
    groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    for directory in (path, *path.parents):
        if not directory.exists():
            continue
        st = directory.stat()
        if st.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


SOCKET_PATH_MAX = 100  # a Unix socket's path holds at most 107 bytes


def pg_dir() -> Path:
    """Where the PostgreSQL cluster lives: .local/postgres, unless the server's user could
    not reach it there or its socket path would be too long; then a directory of its own
    outside the clone (/var/lib/club-platform/<id>, or /tmp for a non-root user), linked
    from .local/postgres so `make wipe` finds it."""
    if PG_LINK.is_symlink():
        return PG_LINK.resolve()
    if (PG_LINK / "data" / "PG_VERSION").exists():
        return PG_LINK  # a cluster made before this choice existed stays where it is
    user = pg_user()
    too_long = len(str(PG_LINK / "run" / f".s.PGSQL.{POSTGRES_PORT}")) > SOCKET_PATH_MAX
    if (user is None or reachable_by(user, PG_LINK)) and not too_long:
        return PG_LINK
    digest = hashlib.sha256(str(PG_LINK).encode()).hexdigest()[:12]
    base = Path("/var/lib/club-platform") if user else Path(tempfile.gettempdir())
    return base / f"club-postgres-{digest}"


def pg_paths() -> tuple[Path, Path, Path, Path]:
    """The cluster's directory, data directory, socket directory and log."""
    home = pg_dir()
    return home, home / "data", home / "run", home / "postgres.log"


def pg_running() -> bool:
    _, data, _, _ = pg_paths()
    return (data / "postmaster.pid").exists() and pg_run(
        [str(pg_bin() / "pg_ctl"), "status", "-D", str(data)], capture_output=True,
    ).returncode == 0


def init_postgres() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    home, data, socket_dir, _ = pg_paths()
    if (data / "PG_VERSION").exists():
        return
    say("creating the PostgreSQL cluster")
    home.mkdir(parents=True, exist_ok=True)
    if home != PG_LINK and not PG_LINK.is_symlink():
        say(f"its data is in {home} (the server's user cannot use {PG_LINK})")
        PG_LINK.symlink_to(home, target_is_directory=True)
    socket_dir.mkdir(parents=True, exist_ok=True)
    user = pg_user()
    pwfile = home / ".pw"
    pwfile.write_text(local_secrets()["postgres"])
    if user:
        shutil.chown(home, user)
        shutil.chown(socket_dir, user)
        shutil.chown(pwfile, user)
    pwfile.chmod(0o600)
    try:
        result = pg_run([str(pg_bin() / "initdb"), "-D", str(data), "-U", "postgres",
                         "--pwfile", str(pwfile), "--auth-host=scram-sha-256",
                         "--auth-local=peer" if user else "--auth-local=trust",
                         "--encoding=UTF8", "--locale=C.UTF-8"], capture_output=True, text=True)
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        fail(f"initdb failed in {data}:\n{result.stderr.strip()[-1500:]}")
    if not user:
        # trust on the socket is only safe because the socket directory is private
        socket_dir.chmod(0o700)
    # A quoted value in postgresql.conf: a path may hold spaces, a quote is doubled.
    socket_value = str(socket_dir).replace("'", "''")
    conf = data / "postgresql.conf"
    with conf.open("a") as f:
        f.write(
            "\n# club platform, local development\n"
            f"listen_addresses = '{HOST}'\n"
            f"port = {POSTGRES_PORT}\n"
            f"unix_socket_directories = '\"{socket_value}\"'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 300\n"
            "shared_buffers = 256MB\n"
            "fsync = on\n"
            "synchronous_commit = on\n"
            "log_min_messages = warning\n"
        )
    hba = data / "pg_hba.conf"
    hba.write_text(
        "# local socket: the cluster's own OS user only\n"
        f"local all postgres {'peer' if user else 'trust'}\n"
        "# TCP on loopback: passwords; which database a role may open is a GRANT CONNECT\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
    )


def start_postgres() -> None:
    pg_bin()
    init_postgres()
    _, data, _, log = pg_paths()
    if pg_running():
        say(f"PostgreSQL already running on {HOST}:{POSTGRES_PORT}")
    else:
        if port_open(POSTGRES_PORT):
            fail(f"port {POSTGRES_PORT} is taken by another program "
                 f"(set {PROFILE.env_prefix}POSTGRES_PORT)")
        started = time.monotonic()
        # The port on the command line: the one in postgresql.conf is the one the cluster was
        # created with, and a port chosen later (CLUB_TEST_POSTGRES_PORT=…) must win.
        result = pg_run([str(pg_bin() / "pg_ctl"), "start", "-D", str(data), "-l", str(log),
                         "-o", f"-p {POSTGRES_PORT}", "-w", "-t", str(int(READY_TIMEOUT))],
                        capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"PostgreSQL did not start; see {log}")
        wait_until("PostgreSQL", lambda: subprocess.run(
            [str(pg_bin() / "pg_isready"), "-h", HOST, "-p", str(POSTGRES_PORT)],
            capture_output=True).returncode == 0)
        say(f"PostgreSQL ready on {HOST}:{POSTGRES_PORT} in {time.monotonic() - started:.1f}s")
    create_service_databases()


def psql(sql: str, database: str = "postgres") -> str:
    _, _, socket_dir, _ = pg_paths()
    result = pg_run([str(pg_bin() / "psql"), "-h", str(socket_dir), "-p", str(POSTGRES_PORT),
                     "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt",
                     "-c", sql], capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"psql failed: {result.stderr.strip()[-1000:]}")
    return result.stdout


def create_service_databases() -> None:
    values = local_secrets()
    for service in SERVICES:
        password = values[f"db_{service}"].replace("'", "''")
        exists = psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{service}'").strip()
        verb = "ALTER" if exists else "CREATE"
        psql(f"{verb} ROLE {service} LOGIN PASSWORD '{password}'")
        if not psql(f"SELECT 1 FROM pg_database WHERE datname = '{service}'").strip():
            psql(f"CREATE DATABASE {service} OWNER {service}")
        # Only its own role may open a service's database: services share data only on Kafka.
        psql(f"REVOKE ALL ON DATABASE {service} FROM PUBLIC")
        psql(f"GRANT CONNECT, TEMPORARY ON DATABASE {service} TO {service}")
        # Booking's exclusion constraint needs btree_gist; create it as superuser once.
        psql("CREATE EXTENSION IF NOT EXISTS btree_gist", database=service)


def stop_postgres(mode: str = "fast") -> None:
    _, data, _, _ = pg_paths()
    if not (data / "PG_VERSION").exists() or not pg_running():
        return
    pg_run([str(pg_bin() / "pg_ctl"), "stop", "-D", str(data), "-m", mode, "-w"],
           check=True, stdout=subprocess.DEVNULL)
    say("PostgreSQL stopped")


# ------------------------------------------------------------------ addresses


def env_line(name: str, value: str) -> str:
    """NAME=value as a shell reads it (`. ./.env.local`): a path with spaces is quoted."""
    return f"{name}={shlex.quote(value)}"


def unquote(value: str) -> str:
    return "".join(shlex.split(value)) if value.startswith("'") else value


def write_env() -> None:
    values = local_secrets()
    kafka = bootstrap_servers()
    sasl = ",".join(f"{HOST}:{node.sasl_port}" for node in kafka_nodes())
    factor, min_insync = replication()
    settings = {
        "CLUB_INFRA_PROFILE": PROFILE.name,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "CLUB_KAFKA_SASL_BOOTSTRAP_SERVERS": sasl,
        # what `club topics apply` and the tests give every topic on this broker or cluster
        "CLUB_KAFKA_REPLICATION_FACTOR": str(factor),
        "CLUB_KAFKA_MIN_INSYNC_REPLICAS": str(min_insync),
        "CLUB_POSTGRES_ADMIN_URL":
            f"postgresql://postgres:{values['postgres']}@{HOST}:{POSTGRES_PORT}/postgres",
        "CLUB_JWT_SECRET": values["jwt"],
        "CLUB_KAFKA_LIBS": str(KAFKA_LIBS),
        **{f"CLUB_KAFKA_SCRAM_{p.upper()}": values[f"kafka_{p}"] for p in KAFKA_PRINCIPALS},
    }
    for service in SERVICES:
        prefix = service.upper()
        settings |= {
            f"{prefix}_DATABASE_URL": f"postgresql+asyncpg://{service}:{values[f'db_{service}']}"
                                      f"@{HOST}:{POSTGRES_PORT}/{service}",
            f"{prefix}_KAFKA_BOOTSTRAP_SERVERS": kafka,
            f"{prefix}_JWT_SECRET": values["jwt"],
        }
    settings["CRM_FIELD_ENCRYPTION_KEYS"] = values["crm_field_key"]
    lines = ["# Written by deploy/local/infra.py: addresses and local-only secrets of this machine "
             f"({PROFILE.name})."]
    lines += [env_line(name, value) for name, value in settings.items()]
    existing = ENV_FILE.read_text().splitlines() if ENV_FILE.exists() else []
    # Keep what other tools added (e.g. the services' HTTP addresses from `make up`), quoted
    # again: a file written before paths were quoted still reads as the shell needs.
    kept = [env_line(name, unquote(value)) for name, value in
            (line.split("=", 1) for line in existing if "=" in line and not line.startswith("#"))
            if name not in settings]
    ENV_FILE.write_text("\n".join(lines + kept) + "\n")
    ENV_FILE.chmod(0o600)


# ------------------------------------------------------------------ components


@dataclass(frozen=True)
class Component:
    """A piece of local infrastructure: started in this order by `up`, stopped in reverse by
    `down`. A new component (a module beside this file) adds itself to COMPONENTS."""

    name: str
    start: Callable[[], None]
    stop: Callable[[], None]
    running: Callable[[], bool]
    where: Callable[[], str]


COMPONENTS: list[Component] = [
    Component("postgresql", start_postgres, stop_postgres,
              lambda: (pg_paths()[1] / "PG_VERSION").exists() and pg_running(),
              lambda: f"{HOST}:{POSTGRES_PORT}"),
    Component("kafka", start_kafka, stop_kafka,
              lambda: all(kafka_pid(node) for node in kafka_nodes()),
              lambda: bootstrap_servers()),
]


# ------------------------------------------------------------------ commands


def keycloak_wanted() -> bool:
    """The sign-in provider runs beside the platform and the tests' infrastructure; the
    cluster profile's fault tests sign with the operators' shared secret and leave it out."""
    return setting("KEYCLOAK", "off" if PROFILE.brokers > 1 else "on") != "off"


def up() -> None:
    started = time.monotonic()
    java()
    save_settings()
    for component in COMPONENTS:
        component.start()
    write_env()
    import mailpit  # the local SMTP server and web inbox: deploy/local/mailpit.py
    mailpit.up()
    if keycloak_wanted():
        import keycloak  # the identity provider: its own module, deploy/local/keycloak.py
        keycloak.up()
    say(f"infrastructure ({PROFILE.name}) ready in {time.monotonic() - started:.1f}s; "
        f"addresses in {ENV_FILE.name}")


def down() -> None:
    import keycloak
    import mailpit
    keycloak.stop()  # before PostgreSQL, which holds its database
    mailpit.stop()
    for component in reversed(COMPONENTS):
        component.stop()


def wipe() -> None:
    import mailpit
    down()
    pg_home = pg_dir()
    for path in (*(node.home for node in kafka_nodes() if node.home != KAFKA_DIR),
                 KAFKA_DIR / "data", KAFKA_DIR / "logs", KAFKA_DIR / "cluster.id",
                 pg_home, PG_LINK, SECRETS, SETTINGS, *mailpit.inbox_files()):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    ENV_FILE.unlink(missing_ok=True)
    say(f"local Kafka and PostgreSQL data ({PROFILE.name}) deleted")


def status() -> int:
    for component in COMPONENTS:
        state = "running" if component.running() else "stopped"
        print(f"{component.name + ':':12}{state}  {component.where()}")
    for node in kafka_nodes() if KAFKA_BROKERS > 1 else ():
        pid = kafka_pid(node)
        print(f"  node {node.node_id}:  {'running pid ' + str(pid) if pid else 'stopped'}  "
              f"{HOST}:{node.port}")
    import mailpit
    state = "running" if mailpit.pid() else "stopped"
    print(f"{'mailpit:':12}{state}  inbox {mailpit.inbox_url()}")
    if keycloak_wanted():
        import keycloak
        keycloak.status()
    return 0 if all(component.running() for component in COMPONENTS) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "wipe", "status", "kafka-stop",
                                            "kafka-start", "kafka-kill", "kafka-leader",
                                            "postgres-stop", "postgres-start", "env",
                                            "kafka-tools", "mailpit-stop", "mailpit-start"])
    parser.add_argument("node", nargs="?", type=int,
                        help="kafka-stop, kafka-start, kafka-kill: only this node (1, 2, 3)")
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
            stop_kafka(args.node)
        case "kafka-kill":
            stop_kafka(args.node, kill=True)
        case "kafka-start":
            start_kafka(args.node)
        case "kafka-leader":
            leader = controller_leader()
            if leader is None:
                fail("no controller leader known (is Kafka running?)")
            print(leader)
        case "postgres-stop":
            stop_postgres()
        case "postgres-start":
            start_postgres()
        case "env":
            write_env()
        case "mailpit-stop":
            import mailpit
            mailpit.stop()
        case "mailpit-start":
            import mailpit
            mailpit.start()
        case "kafka-tools":
            # Kafka's performance tools for the benchmarks; prints where the jars are.
            print(ensure_kafka_jars("tools-pom.xml", KAFKA_LIBS.parent / "tools-libs"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        # one line, not a traceback: what failed and how it ended
        fail(f"`{shlex.join(str(a) for a in e.cmd)}` exited with {e.returncode}"
             + (f": {e.stderr.strip()[-500:]}" if isinstance(e.stderr, str) and e.stderr else ""))
    except OSError as e:
        fail(f"{e.strerror or e}: {e.filename or ''} (is the clone's directory writable?)")
