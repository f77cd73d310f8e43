"""deploy/compose.yaml, loaded as Docker Compose loads it (compose-go: the Compose
Specification's schema, interpolation, normalisation): Kafka in KRaft mode, PostgreSQL with
one database per service, the topics job, a migration job per service, and the four
services with health checks, ordered start-up and every setting they need — with secrets
that must come from the operator's env file. The console is one more container built and
hardened like them, with no database, no Kafka and no secret of its own."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(1800)

COMPOSE = "deploy/compose.yaml"
EXAMPLE = "deploy/compose.env.example"
REQUIRED = re.compile(r"\$\{(\w+):\?")


def required_variables(root: Path) -> set[str]:
    return set(REQUIRED.findall((root / COMPOSE).read_text()))


@pytest.fixture(scope="module")
def secret_values(root: Path) -> dict[str, str]:
    # Hex, like the example tells operators to make them (safe inside a database URL); keys
    # in the shape their setting expects (32 random bytes, URL-safe base64).
    return {name: secrets.token_urlsafe(32) if name.endswith("_KEYS") else secrets.token_hex(24)
            for name in sorted(required_variables(root))}


@pytest.fixture(scope="module")
def project(tools, root: Path, secret_values: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> dict:
    env_file = tmp_path_factory.mktemp("compose") / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in secret_values.items()))
    result = tools.run("compose-config", "-env-file", str(env_file), COMPOSE)
    return json.loads(result.stdout)


def test_compose_accepts_the_file(project: dict) -> None:
    assert project["name"] == "club"


def test_compose_refuses_to_start_without_the_secrets(tools, root: Path, tmp_path: Path) -> None:
    empty = tmp_path / "compose.env"
    empty.write_text("")
    result = tools.run("compose-config", "-env-file", str(empty), COMPOSE, check=False)
    assert result.returncode != 0
    for name in required_variables(root):
        assert f"required variable {name} is missing a value" in result.stderr


def test_the_example_env_file_names_every_required_variable_and_no_secret(root: Path) -> None:
    lines = [line for line in (root / EXAMPLE).read_text().splitlines()
             if line and not line.startswith("#")]
    example = dict(line.split("=", 1) for line in lines)
    required = required_variables(root)
    assert required == {"POSTGRES_PASSWORD", "BOOKING_DB_PASSWORD", "RECEPTION_DB_PASSWORD",
                        "CRM_DB_PASSWORD", "HR_DB_PASSWORD", "CLUB_OIDC_ISSUER",
                        "CRM_FIELD_ENCRYPTION_KEYS", "CRM_SMTP_HOST", "CRM_MAIL_FROM"}
    assert set(example) == required, "compose.env.example lists exactly the required values"
    assert all(value == "" for value in example.values()), "no working secret is committed"
    assert "compose.env" in (root / "deploy/.gitignore").read_text().split()


def test_no_secret_has_a_default(root: Path) -> None:
    text = (root / COMPOSE).read_text()
    for match in re.finditer(r"\$\{(\w*(?:PASSWORD|SECRET)\w*)([^}]*)\}", text):
        assert match.group(2).startswith(":?"), f"${{{match.group(1)}}} must be required"


def test_kafka_runs_in_kraft_mode(project: dict) -> None:
    services = project["services"]
    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.1"
    assert not [name for name in services if "zookeeper" in name]
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from topics.yaml"
    assert "INTERNAL://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert any(v["target"] == "/var/lib/kafka/data" for v in kafka["volumes"])
    assert "kafka-broker-api-versions" in " ".join(kafka["healthcheck"]["test"])


def test_postgres_creates_the_service_databases_on_first_start(project: dict) -> None:
    postgres = project["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    init = [v for v in postgres["volumes"]
            if v["target"].startswith("/docker-entrypoint-initdb.d/")]
    assert len(init) == 1 and init[0]["read_only"]
    assert init[0]["source"].endswith("deploy/postgres/init-databases.sh")
    for service in ("BOOKING", "RECEPTION", "CRM", "HR"):
        assert postgres["environment"][f"{service}_DB_PASSWORD"]
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in test and "-h" in test, \
        "healthy only once it listens on TCP, after the init script has run"


def test_the_topics_job_applies_deploy_kafka_topics_yaml(project: dict) -> None:
    topics = project["services"]["topics"]
    assert topics["command"][:5] == ["club", "topics", "apply", "--file",
                                     "deploy/kafka/topics.yaml"]
    assert topics["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["restart"] == "no"


def test_the_topic_list_lives_in_topics_yaml_only(root: Path) -> None:
    from club_contracts import topics

    places = [root / COMPOSE, *(root / "deploy/helm").rglob("*.yaml")]
    for path in places:
        text = path.read_text()
        named = [t for t in topics() if t in text]
        assert not named, f"{path.relative_to(root)} repeats topics {named}"


def test_the_migration_job(project: dict, service: str, facts) -> None:
    job = project["services"][f"{service}-migrate"]
    assert job["command"] == ["alembic", "-c", f"services/{service}/alembic.ini",
                              "upgrade", "head"]
    assert job["image"] == project["services"][service]["image"]
    assert job["environment"][f"{facts.prefix}_DATABASE_URL"] == \
        project["services"][service]["environment"][f"{facts.prefix}_DATABASE_URL"]
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert job["restart"] == "no"
    assert job["healthcheck"]["disable"] is True


@pytest.mark.usefixtures("console_too")
def test_the_service_is_built_from_its_own_dockerfile(project: dict, service: str,
                                                      root: Path) -> None:
    spec = project["services"][service]
    assert spec["build"]["dockerfile"] == f"services/{service}/Dockerfile"
    assert Path(spec["build"]["context"]).resolve() == root, "the workspace root is the context"
    assert spec["image"].startswith(f"club-{service}:")


@pytest.mark.usefixtures("console_too")
def test_the_service_has_a_health_check(project: dict, service: str) -> None:
    check = project["services"][service]["healthcheck"]
    assert check["test"][0] == "CMD" and "python" in check["test"]
    assert "/health/ready" in check["test"][-1]
    for key in ("interval", "timeout", "retries", "start_period"):
        assert check.get(key), f"healthcheck.{key} is set"


def test_the_service_starts_after_its_database_kafka_topics_and_migrations(
        project: dict, service: str) -> None:
    conditions = {name: spec["condition"]
                  for name, spec in project["services"][service]["depends_on"].items()}
    assert conditions == {
        "postgres": "service_healthy",
        "kafka": "service_healthy",
        "topics": "service_completed_successfully",
        f"{service}-migrate": "service_completed_successfully",
    }


@pytest.mark.usefixtures("console_too")
def test_the_service_container_is_hardened(project: dict, service: str, facts) -> None:
    jobs = (f"{service}-migrate", "topics") if facts.owns_data else ()
    for name in (service, *jobs):
        spec = project["services"][name]
        assert spec["read_only"] is True, f"{name}: read-only root filesystem"
        assert spec["cap_drop"] == ["ALL"], f"{name}: no capabilities"
        assert "no-new-privileges:true" in spec["security_opt"]
        assert any(t.split(":")[0] == "/tmp" for t in spec["tmpfs"]), f"{name}: /tmp writable"
        assert "user" not in spec or spec["user"] not in ("root", "0"), "the image's user"


@pytest.mark.usefixtures("console_too")
def test_the_service_environment_is_its_own_and_complete(project: dict, service: str,
                                                         facts) -> None:
    env = project["services"][service]["environment"]
    unknown = {k for k in env if k not in facts.variables}
    assert not unknown, f"not settings of {service} (typo, or another service's): {unknown}"
    missing = facts.required - set(env)
    assert not missing, f"{service} would refuse to start without {missing}"
    ports = project["services"][service]["ports"]
    assert [p["target"] for p in ports] == [int(env[f"{facts.prefix}_HTTP_PORT"])]
    assert all(p["host_ip"] == "127.0.0.1" for p in ports), "published on loopback only"
    assert env[f"{facts.prefix}_HTTP_HOST"] == "0.0.0.0"


def test_the_service_settings_validate_from_that_environment(
        project: dict, service: str, facts, secret_values: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = project["services"][service]["environment"]
    for name in facts.variables:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = facts.settings_class()
    assert settings.environment == "production"
    assert settings.oidc_issuer == secret_values["CLUB_OIDC_ISSUER"]
    assert settings.jwt_secret is None, "production takes no shared-secret tokens"
    url = settings.database_url.get_secret_value()
    password = secret_values[f"{facts.prefix}_DB_PASSWORD"]
    assert url == f"postgresql+asyncpg://{service}:{password}@postgres:5432/{service}", \
        "each service reaches its own database with its own role"


def test_the_console_needs_no_database_kafka_or_secret(
        project: dict, console_facts, secret_values: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It starts after the four services (never after their database, Kafka or migrations)
    and reaches each by its Compose name, signs in at the club's provider, and is given no
    database URL, broker or secret."""
    console = project["services"]["console"]
    assert {name: spec["condition"] for name, spec in console["depends_on"].items()} == {
        s: "service_started" for s in ("booking", "reception", "crm", "hr")}
    env = console["environment"]
    assert not [k for k in env if "DATABASE" in k or "KAFKA" in k or "SECRET" in k]
    assert not [n for n in project["services"] if n.startswith("console-")], "no jobs"
    for name in console_facts.variables:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CLUB_TIME_ZONE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = console_facts.settings_class()
    assert settings.environment == "production"
    assert settings.oidc_issuer == secret_values["CLUB_OIDC_ISSUER"]
    ports = {"booking": 8101, "reception": 8102, "crm": 8103, "hr": 8104}
    for service, port in ports.items():
        assert settings.service_url(service) == f"http://{service}:{port}"
        assert project["services"][service]["environment"][
            f"{service.upper()}_HTTP_PORT"] == str(port)
    published = console["ports"][0]["published"]
    assert settings.public_url == f"http://127.0.0.1:{published}", \
        "the provider returns people to where the console is published"
    assert not settings.secure_cookies


def test_crm_sends_through_the_clubs_relay(project: dict, secret_values: dict[str, str]) -> None:
    env = project["services"]["crm"]["environment"]
    assert env["CRM_SMTP_HOST"] == secret_values["CRM_SMTP_HOST"]
    assert env["CRM_MAIL_FROM"] == secret_values["CRM_MAIL_FROM"]
    assert (env["CRM_SMTP_PORT"], env["CRM_SMTP_STARTTLS"]) == ("587", "true")
