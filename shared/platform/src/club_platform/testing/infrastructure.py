"""Where the tests' Kafka and PostgreSQL come from, in this order:

1. the environment: `KAFKA_BOOTSTRAP_SERVERS` and `CLUB_POSTGRES_ADMIN_URL` (a superuser URL,
   used only to create throwaway test databases);
2. testcontainers, when a Docker engine answers;
3. the project's local infrastructure (`deploy/local/infra.py up`: Kafka from Maven Central,
   Debian's PostgreSQL), started if it is not running;
4. otherwise the run fails and says what to do. Tests never skip for want of infrastructure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


class InfrastructureUnavailable(RuntimeError):
    pass


HOW_TO = (
    "The tests need a real Kafka broker and PostgreSQL server. Either run `make infra` (or "
    "`python3 deploy/local/infra.py up`) from the project root, or set KAFKA_BOOTSTRAP_SERVERS "
    "and CLUB_POSTGRES_ADMIN_URL (postgresql://<superuser>:<password>@<host>:<port>/postgres), "
    "or make a Docker engine available for testcontainers."
)


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
            values[name.strip()] = value.strip()
    return values


def _from_environment() -> Infrastructure | None:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    postgres = os.environ.get("CLUB_POSTGRES_ADMIN_URL")
    if kafka and postgres:
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


def _from_local_infra() -> Infrastructure | None:
    root = project_root()
    if root is None:
        return None
    script = root / "deploy" / "local" / "infra.py"
    result = subprocess.run([sys.executable, str(script), "up"], capture_output=True, text=True)
    if result.returncode != 0:
        raise InfrastructureUnavailable(
            f"`{script} up` failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}\n{HOW_TO}"
        )
    values = read_env_file(root / ".env.local")
    return Infrastructure(values["KAFKA_BOOTSTRAP_SERVERS"], values["CLUB_POSTGRES_ADMIN_URL"],
                          "local", values)


class BrokerControl:
    """Stops and starts the test broker, for tests of what happens while Kafka is down."""

    def __init__(self, stop, start) -> None:
        self.stop, self.start = stop, start


def broker_control(infrastructure: Infrastructure) -> BrokerControl | None:
    """Control over the broker when it is ours to stop: the project's local broker, or a
    testcontainers broker (paused rather than stopped, so it keeps its address)."""
    if infrastructure.origin == "testcontainers":
        container = infrastructure._containers[0].get_wrapped_container()
        return BrokerControl(container.pause, container.unpause)
    root = project_root()
    if root is None or not (root / ".local" / "kafka" / "kafka.pid").exists():
        return None
    local = read_env_file(root / ".env.local") if (root / ".env.local").exists() else {}
    if local.get("KAFKA_BOOTSTRAP_SERVERS") != infrastructure.kafka_bootstrap_servers:
        return None
    script = str(root / "deploy" / "local" / "infra.py")

    def run(command: str) -> None:
        subprocess.run([sys.executable, script, command], check=True, capture_output=True)

    return BrokerControl(lambda: run("kafka-stop"), lambda: run("kafka-start"))


class PostgresControl(BrokerControl):
    """Stops and starts the test PostgreSQL server (the project's local one only)."""


def postgres_control(infrastructure: Infrastructure) -> PostgresControl | None:
    root = project_root()
    if root is None or not (root / ".local" / "postgres" / "data" / "postmaster.pid").exists():
        return None
    local = read_env_file(root / ".env.local") if (root / ".env.local").exists() else {}
    if local.get("CLUB_POSTGRES_ADMIN_URL") != infrastructure.postgres_admin_url:
        return None
    script = str(root / "deploy" / "local" / "infra.py")

    def run(command: str) -> None:
        subprocess.run([sys.executable, script, command], check=True, capture_output=True)

    return PostgresControl(lambda: run("postgres-stop"), lambda: run("postgres-start"))


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
