"""Where the tests' Kafka and PostgreSQL come from, in this order:

1. the environment: `KAFKA_BOOTSTRAP_SERVERS` and `CLUB_POSTGRES_ADMIN_URL` (a superuser URL,
   used only to create throwaway test databases) — never the platform's own broker, the one
   `make up` wrote to .env.local: the run fails and says so;
2. testcontainers, when a Docker engine answers;
3. the project's local test infrastructure (`CLUB_INFRA_PROFILE=tests deploy/local/infra.py
   up`: a Kafka broker and a PostgreSQL server of the tests' own, beside the platform's, with
   their addresses in .env.test), started if it is not running;
4. otherwise the run fails and says what to do. Tests never skip for want of infrastructure.

So whatever a test publishes (poison messages, unknown versions, floods) lands on a broker no
subscriber of the running platform reads.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


class InfrastructureUnavailable(RuntimeError):
    pass


HOW_TO = (
    "The tests need a real Kafka broker and PostgreSQL server of their own. Either run "
    "`make test-infra` from the project root and `set -a && . ./.env.test && set +a`, or set "
    "KAFKA_BOOTSTRAP_SERVERS and CLUB_POSTGRES_ADMIN_URL "
    "(postgresql://<superuser>:<password>@<host>:<port>/postgres), or make a Docker engine "
    "available for testcontainers."
)

# The local profiles a test session may run on, and their address files (deploy/local/infra.py).
TEST_PROFILES = {"tests": ".env.test", "cluster": ".env.cluster"}
PLATFORM_ENV_FILE = ".env.local"


@dataclass
class Infrastructure:
    kafka_bootstrap_servers: str
    postgres_admin_url: str
    origin: str
    settings: dict[str, str] = field(default_factory=dict)
    _containers: list = field(default_factory=list, repr=False)

    def close(self) -> None:
        for container in self._containers:
            container.stop()


def project_root() -> Path | None:
    for start in (Path.cwd(), Path(__file__).resolve()):
        for candidate in (start, *start.parents):
            if (candidate / "deploy" / "local" / "infra.py").exists():
                return candidate
    return None


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            value = value.strip()
            if value.startswith("'"):  # quoted for the shell (a path with spaces)
                value = "".join(shlex.split(value))
            values[name.strip()] = value
    return values


def test_profile() -> str:
    """The local profile of this session: `cluster` under `make test-cluster`, else `tests`."""
    profile = os.environ.get("CLUB_INFRA_PROFILE", "tests")
    return profile if profile in TEST_PROFILES else "tests"


def local_settings() -> dict[str, str]:
    """The address file of the local test infrastructure this session runs on (empty when
    there is none), under the environment's own values."""
    root = project_root()
    path = root / TEST_PROFILES[test_profile()] if root else None
    values = read_env_file(path) if path and path.exists() else {}
    return values | dict(os.environ)


def refuse_platform(kafka: str, postgres: str) -> None:
    """Tests publish poison messages, unknown versions and floods: never onto the platform a
    developer runs (`make up`), whose subscribers read every topic from offset 0."""
    root = project_root()
    platform = root / PLATFORM_ENV_FILE if root else None
    if platform is None or not platform.exists():
        return
    values = read_env_file(platform)
    if kafka == values.get("KAFKA_BOOTSTRAP_SERVERS") or postgres == values.get(
            "CLUB_POSTGRES_ADMIN_URL"):
        raise InfrastructureUnavailable(
            "these are the platform's addresses (.env.local, from `make up`); the tests run on "
            "their own broker and PostgreSQL: `make test`, or `make test-infra` then "
            "`set -a && . ./.env.test && set +a`")


def _from_environment() -> Infrastructure | None:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    postgres = os.environ.get("CLUB_POSTGRES_ADMIN_URL")
    if kafka and postgres:
        refuse_platform(kafka, postgres)
        return Infrastructure(kafka, postgres, "environment", dict(os.environ))
    return None


def _docker_answers() -> bool:
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return False
    try:
        docker.from_env(timeout=3).ping()
        return True
    except (DockerException, OSError):
        return False


def _from_testcontainers() -> Infrastructure:
    try:
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer
    except ImportError as e:  # pragma: no cover - depends on the testcontainers layout
        raise InfrastructureUnavailable(f"testcontainers is incomplete: {e}") from e
    kafka = KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft()
    postgres = PostgresContainer("postgres:16", username="postgres", password="postgres",
                                 driver=None)
    kafka.start()
    try:
        postgres.start()
    except Exception:
        kafka.stop()
        raise
    url = postgres.get_connection_url().replace("postgresql+psycopg2://", "postgresql://")
    return Infrastructure(kafka.get_bootstrap_server(), url, "testcontainers",
                          _containers=[kafka, postgres])


def _run_local_infra(root: Path, profile: str, *args: str) -> subprocess.CompletedProcess:
    script = root / "deploy" / "local" / "infra.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          env={**os.environ, "CLUB_INFRA_PROFILE": profile})


def _from_local_infra() -> Infrastructure | None:
    root = project_root()
    if root is None:
        return None
    profile = test_profile()
    result = _run_local_infra(root, profile, "up")
    if result.returncode != 0:
        raise InfrastructureUnavailable(
            f"the local test infrastructure did not start:\n{result.stdout[-2000:]}\n"
            f"{result.stderr[-2000:]}\n{HOW_TO}")
    values = read_env_file(root / TEST_PROFILES[profile])
    # The Kafka ACLs the access tests check, as `make test-infra` applies them.
    subprocess.run([sys.executable, "-m", "club_platform.cli", "kafka-access", "apply"],
                   env={**os.environ, **values}, cwd=root, check=True, capture_output=True)
    return Infrastructure(values["KAFKA_BOOTSTRAP_SERVERS"], values["CLUB_POSTGRES_ADMIN_URL"],
                          "local", values)


class BrokerControl:
    """Stops and starts the test broker, for tests of what happens while Kafka is down."""

    def __init__(self, stop, start) -> None:
        self.stop, self.start = stop, start


def local_profile_of(infrastructure: Infrastructure, name: str) -> str | None:
    """The local test profile whose `name` (an address) this session uses, if any: only then
    may a test stop its broker or server."""
    root = project_root()
    if root is None:
        return None
    for profile, env_file in TEST_PROFILES.items():
        path = root / env_file
        if path.exists() and read_env_file(path).get(name) == getattr(infrastructure,
                                                                        _FIELDS[name]):
            return profile
    return None


_FIELDS = {"KAFKA_BOOTSTRAP_SERVERS": "kafka_bootstrap_servers",
           "CLUB_POSTGRES_ADMIN_URL": "postgres_admin_url"}


def _controls(profile: str, stop: str, start: str) -> tuple:
    root = project_root()
    assert root is not None

    def run(*command: str) -> None:
        result = _run_local_infra(root, profile, *command)
        if result.returncode != 0:
            raise RuntimeError(f"infra.py {' '.join(command)}: {result.stderr[-1000:]}")

    return lambda: run(stop), lambda: run(start)


def broker_control(infrastructure: Infrastructure) -> BrokerControl | None:
    """Control over the broker when it is ours to stop: the local test broker, or a
    testcontainers broker (paused rather than stopped, so it keeps its address)."""
    if infrastructure.origin == "testcontainers":
        container = infrastructure._containers[0].get_wrapped_container()
        return BrokerControl(container.pause, container.unpause)
    profile = local_profile_of(infrastructure, "KAFKA_BOOTSTRAP_SERVERS")
    if profile is None:
        return None
    return BrokerControl(*_controls(profile, "kafka-stop", "kafka-start"))


class PostgresControl(BrokerControl):
    """Stops and starts the test PostgreSQL server (the local test server only)."""


def postgres_control(infrastructure: Infrastructure) -> PostgresControl | None:
    profile = local_profile_of(infrastructure, "CLUB_POSTGRES_ADMIN_URL")
    if profile is None:
        return None
    return PostgresControl(*_controls(profile, "postgres-stop", "postgres-start"))


def locate() -> Infrastructure:
    found = _from_environment()
    if found:
        return found
    if _docker_answers():
        return _from_testcontainers()
    found = _from_local_infra()
    if found:
        return found
    raise InfrastructureUnavailable(HOW_TO)
