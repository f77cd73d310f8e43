"""deploy/local/infra.py and the test plugin keep the tests off the platform's broker, and the
local infrastructure works from a clone in a directory PostgreSQL's user cannot enter."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from club_platform.testing import infrastructure
from club_platform.testing.infrastructure import InfrastructureUnavailable, read_env_file

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "deploy" / "local" / "infra.py"


def load_infra(monkeypatch, **env: str):
    """infra.py as a module, for one profile and state directory."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("club_local_infra", INFRA)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look it up there
    spec.loader.exec_module(module)
    return module


def test_the_session_never_runs_on_the_platforms_broker(club_infrastructure):
    platform = ROOT / ".env.local"
    if platform.exists():
        values = read_env_file(platform)
        assert club_infrastructure.kafka_bootstrap_servers != values["KAFKA_BOOTSTRAP_SERVERS"]
        assert club_infrastructure.postgres_admin_url != values["CLUB_POSTGRES_ADMIN_URL"]
    # and the address file the plugin would use is the tests' own
    assert infrastructure.TEST_PROFILES[infrastructure.test_profile()] in (".env.test",
                                                                           ".env.cluster")


def test_the_platforms_addresses_are_refused_with_one_line(tmp_path, monkeypatch):
    (tmp_path / "deploy" / "local").mkdir(parents=True)
    (tmp_path / "deploy" / "local" / "infra.py").write_text("")
    (tmp_path / ".env.local").write_text(
        "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092\n"
        "CLUB_POSTGRES_ADMIN_URL=postgresql://postgres:pw@127.0.0.1:15432/postgres\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    monkeypatch.setenv("CLUB_POSTGRES_ADMIN_URL", "postgresql://x:y@127.0.0.1:15532/postgres")
    with pytest.raises(InfrastructureUnavailable, match="platform's addresses"):
        infrastructure._from_environment()
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19192")
    assert infrastructure._from_environment().kafka_bootstrap_servers == "127.0.0.1:19192"


def test_profiles_have_their_own_state_ports_and_address_file(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith(("CLUB_TEST_", "CLUB_CLUSTER_"))]:
        monkeypatch.delenv(name)
    seen = {}
    for profile in ("platform", "tests", "cluster"):
        infra = load_infra(monkeypatch, CLUB_INFRA_PROFILE=profile,
                           CLUB_STATE_DIR=str(tmp_path / "state"))
        ports = {p for node in infra.kafka_nodes()
                 for p in (node.port, node.controller_port, node.sasl_port)}
        seen[profile] = (infra.STATE, infra.ENV_FILE.name, ports | {infra.POSTGRES_PORT})
    assert len({state for state, _, _ in seen.values()}) == 3
    assert [f for _, f, _ in seen.values()] == [".env.local", ".env.test", ".env.cluster"]
    platform, tests, cluster = (ports for _, _, ports in seen.values())
    assert not platform & tests and not platform & cluster and not tests & cluster
    assert len(cluster) == 3 * 3 + 1  # three nodes of three listeners, and PostgreSQL


def test_a_cluster_replicates_three_times_and_needs_two_in_sync(tmp_path, monkeypatch):
    infra = load_infra(monkeypatch, CLUB_INFRA_PROFILE="cluster",
                       CLUB_STATE_DIR=str(tmp_path / "state"))
    assert infra.replication() == (3, 2)
    node = infra.kafka_nodes()[1]
    node.home.mkdir(parents=True)
    text = infra.kafka_config(node).read_text()
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in infra.kafka_nodes())
    assert f"node.id=2\ncontroller.quorum.voters={voters}\n" in text
    assert "default.replication.factor=3" in text and "min.insync.replicas=2" in text
    single = load_infra(monkeypatch, CLUB_INFRA_PROFILE="tests",
                        CLUB_STATE_DIR=str(tmp_path / "state"))
    assert single.replication() == (1, 1)


def test_paths_with_spaces_survive_the_address_file(tmp_path):
    value = str(tmp_path / "a club" / ".local" / "kafka" / "libs")
    env_file = tmp_path / ".env"
    env_file.write_text(f"CLUB_KAFKA_LIBS={shlex.quote(value)}\nPLAIN=x\n")
    assert read_env_file(env_file) == {"CLUB_KAFKA_LIBS": value, "PLAIN": "x"}
    sourced = subprocess.run(["bash", "-c", f"set -a; . {shlex.quote(str(env_file))}; "
                              "printf %s \"$CLUB_KAFKA_LIBS\""],
                             capture_output=True, text=True, check=True).stdout
    assert sourced == value


def test_postgres_lives_outside_a_directory_its_user_cannot_enter(tmp_path, monkeypatch):
    """Root's home is 0700 on Debian, and so is a `mktemp -d` folder."""
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    infra = load_infra(monkeypatch, CLUB_INFRA_PROFILE="tests",
                       CLUB_STATE_DIR=str(private / "club" / ".local"))
    user = infra.pg_user()  # as root: `postgres` (made when missing); otherwise ourselves
    if user:
        assert not infra.reachable_by(user, infra.PG_LINK)
        assert infra.pg_dir().is_relative_to(Path("/var/lib/club-platform"))
    else:
        assert infra.pg_dir() == infra.PG_LINK  # the server runs as us: it can enter
    # A Unix socket's path has at most 107 bytes: a deep clone gets a short place too.
    deep = load_infra(monkeypatch, CLUB_INFRA_PROFILE="tests",
                      CLUB_STATE_DIR=str(tmp_path / ("d" * 90) / ".local"))
    assert deep.pg_dir() != deep.PG_LINK
    assert len(str(deep.pg_dir() / "run" / ".s.PGSQL.15532")) <= deep.SOCKET_PATH_MAX


def test_infra_says_what_to_do_in_one_line_not_a_traceback(tmp_path):
    """A port taken by another program: one line naming the setting that moves it."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(INFRA), "kafka-start"], capture_output=True, text=True,
            env={**os.environ, "CLUB_INFRA_PROFILE": "tests",
                 "CLUB_STATE_DIR": str(tmp_path / "state"), "CLUB_TEST_KAFKA_PORT": str(port)},
            timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"port {port} is taken" in result.stderr and "CLUB_TEST_KAFKA_PORT" in result.stderr


async def test_topics_verify_finds_what_is_not_a_valid_event(kafka_connection, event_publisher):
    """`club topics verify` reads a topic from offset 0 as a subscriber would, and counts a
    record that is not JSON and one with no CloudEvents headers; valid events pass."""
    from aiokafka import AIOKafkaProducer
    from club_contracts import CustomerErased
    from club_platform.testing import forget_history

    topic = "customer.erased"
    await event_publisher.publish(CustomerErased(customer_id=uuid4(), erased_at=datetime.now(UTC)))
    producer = AIOKafkaProducer(**kafka_connection.client_args(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"not json", key=b"k")
        await producer.send_and_wait(topic, b'{"customer_id": "x"}', key=b"k", headers=[])
    finally:
        await producer.stop()
    try:
        result = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "club_platform.cli", "topics", "verify",
                             "--topic", topic],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_connection.bootstrap_servers})
        report = json.loads(result.stdout)
        counts = report["topics"][topic]
        assert result.returncode == 1, result.stderr
        assert counts["invalid"] == 2 and counts["valid"] >= 1, counts
        assert report["invalid"] == 2
    finally:
        # this broker is the tests' own: leave no invalid record for a later rebuild
        await forget_history(kafka_connection, [topic])
