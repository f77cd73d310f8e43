"""Each service's Dockerfile: BuildKit's lint rules pass, and the image it describes is
multi-stage, built from the lock file for that service alone, runs as a non-root user on a
read-only root filesystem, checks its own liveness and serves `python -m club_<service>`.
The console's Dockerfile is held to the same (`console_too`), except that it carries no
migrations and no topic definitions: it owns no data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.timeout(1800)  # the first test may install the tools

SERVICES = ("booking", "reception", "crm", "hr")
DEPLOYABLES = (*SERVICES, "console")


def stage(dockerfile: dict, name: str) -> dict:
    return next(s for s in dockerfile["stages"] if s["name"] == name)


def commands(stage_: dict, instruction: str) -> list[dict]:
    return [c for c in stage_["commands"] if c["instruction"] == instruction]


def env_of(stage_: dict) -> dict[str, str]:
    return {pair["Key"]: pair["Value"] for c in commands(stage_, "ENV")
            for pair in c["detail"]["Env"]}


def meta_args(dockerfile: dict) -> dict[str, str]:
    return {arg["Key"]: arg.get("Value") for group in dockerfile["meta_args"] or []
            for arg in group["Args"]}


def test_buildkit_lint_rules_pass(tools) -> None:
    """`docker build --check` with every rule, experimental ones too, finds nothing."""
    result = tools.run("dockerfile-check", *(f"services/{s}/Dockerfile" for s in DEPLOYABLES),
                       check=False)
    assert result.returncode == 0, f"Dockerfile lint findings:\n{result.stdout}{result.stderr}"


def test_the_linter_reports_what_it_should(tools, tmp_path: Path) -> None:
    """The lint is no rubber stamp: a Dockerfile with known mistakes fails with their rules."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim as build\nENV API_PASSWORD=hunter2\n"
                   "FROM build AS Runtime\nCMD python -m club_booking\n")
    result = tools.run("dockerfile-check", str(bad), check=False)
    assert result.returncode == 1
    for rule in ("FromAsCasing", "StageNameCasing", "SecretsUsedInArgOrEnv",
                 "JSONArgsRecommended"):
        assert rule in result.stdout


@pytest.mark.usefixtures("console_too")
def test_lint_errors_fail_a_real_build(dockerfiles: dict, service: str) -> None:
    # With this directive `docker build` itself stops on any rule, experimental ones included.
    directives = dockerfiles[service]["directives"]
    assert directives.get("check") == "error=true;experimental=all"
    assert directives.get("syntax", "").startswith("docker/dockerfile:1")
    assert dockerfiles[service]["findings"] in (None, [])


@pytest.mark.usefixtures("console_too")
def test_multi_stage_with_a_slim_runtime(dockerfiles: dict, service: str) -> None:
    d = dockerfiles[service]
    names = [s["name"] for s in d["stages"]]
    assert names == ["build", "runtime"], "a build stage, then the runtime stage last"
    base = meta_args(d)["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11[\w.]*-slim(-\w+)?", base), base
    assert all(s["base"] == "${PYTHON_IMAGE}" for s in d["stages"]), \
        "both stages share one interpreter, so the virtual environment moves across"


@pytest.mark.usefixtures("console_too")
def test_build_stage_installs_this_service_alone_from_the_lock(dockerfiles: dict, service: str,
                                                               root: Path) -> None:
    build = stage(dockerfiles[service], "build")
    syncs = [c["detail"]["CmdLine"][0] for c in commands(build, "RUN") if "uv sync" in
             c["detail"]["CmdLine"][0]]
    assert syncs, "the environment comes from `uv sync`"
    for sync in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable", f"--package club-{service}"):
            assert flag in sync, f"{flag!r} missing from {sync!r}"
    copied = [path for c in commands(build, "COPY") if not c["detail"]["From"]
              for path in c["detail"]["SourcePaths"]]
    allowed = ("pyproject.toml", "uv.lock", "shared/", f"services/{service}/")
    for path in copied:
        assert path.startswith(allowed), f"the build copies {path!r}, outside {allowed}"
    assert "uv.lock" in copied and f"services/{service}/" in copied
    uv_version = meta_args(dockerfiles[service]).get("UV_VERSION") or next(
        a["Value"] for c in commands(build, "ARG") for a in c["detail"]["Args"]
        if a["Key"] == "UV_VERSION")
    makefile = (root / "Makefile").read_text()
    assert re.search(rf"^UV_VERSION := {re.escape(uv_version)}$", makefile, re.M), \
        "the image builds with the uv version the Makefile pins"


@pytest.mark.usefixtures("console_too")
def test_runtime_runs_as_a_fixed_non_root_user(dockerfiles: dict, service: str, root: Path) -> None:
    runtime = stage(dockerfiles[service], "runtime")
    users = commands(runtime, "USER")
    assert users, "the runtime stage sets USER"
    user = users[-1]["detail"]["User"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0, f"USER {user}: numeric and not root"
    assert gid.isdigit() and int(gid) > 0
    # Kubernetes checks runAsNonRoot against the numeric uid; the chart names the same one.
    values = yaml.safe_load((root / "deploy/helm/club-service/values.yaml").read_text())
    assert (values["runAsUser"], values["runAsGroup"]) == (int(uid), int(gid))
    later = runtime["commands"][runtime["commands"].index(users[-1]) + 1:]
    assert not [c for c in later if c["instruction"] == "RUN"], "nothing runs after USER"


@pytest.mark.usefixtures("console_too")
def test_runtime_writes_nothing_to_its_root_filesystem(dockerfiles: dict, service: str) -> None:
    d = dockerfiles[service]
    assert env_of(stage(d, "build")).get("UV_COMPILE_BYTECODE") == "1", \
        "bytecode is compiled at build time"
    env = env_of(stage(d, "runtime"))
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env["PATH"].startswith("/app/.venv/bin:")
    for c in commands(stage(d, "runtime"), "COPY"):
        assert not c["detail"]["Chown"], "copied files stay root-owned, read-only to the user"


@pytest.mark.usefixtures("console_too")
def test_runtime_serves_the_module_on_its_port(dockerfiles: dict, service: str, facts) -> None:
    runtime = stage(dockerfiles[service], "runtime")
    assert not commands(runtime, "ENTRYPOINT"), \
        "no ENTRYPOINT, so the migrate and topics commands replace CMD"
    cmd = commands(runtime, "CMD")[-1]["detail"]
    assert cmd["CmdLine"] == ["python", "-m", f"club_{service}"]
    assert cmd["PrependShell"] is False, "exec form: the service gets SIGTERM itself"
    env = env_of(runtime)
    port = str(facts.port)
    assert env[f"{facts.prefix}_HTTP_PORT"] == port
    assert env[f"{facts.prefix}_HTTP_HOST"] == "0.0.0.0"
    assert env[f"{facts.prefix}_ENVIRONMENT"] == "production"
    assert commands(runtime, "EXPOSE")[-1]["detail"]["Ports"] == [port]


def test_runtime_carries_its_migrations_and_the_topic_definitions(dockerfiles: dict,
                                                                  service: str) -> None:
    runtime = stage(dockerfiles[service], "runtime")
    destinations = {c["detail"]["DestPath"] for c in commands(runtime, "COPY")}
    assert {f"services/{service}/alembic.ini", f"services/{service}/migrations",
            "deploy/kafka/topics.yaml", "/app/.venv"} <= destinations
    workdir = commands(runtime, "WORKDIR")[-1]["detail"]["Path"]
    assert workdir == "/app", "the migrate and topics commands use paths relative to /app"


def test_the_console_runtime_carries_its_environment_only(dockerfiles: dict) -> None:
    """The console owns no data: nothing to migrate, no topics to apply, one command."""
    runtime = stage(dockerfiles["console"], "runtime")
    copies = commands(runtime, "COPY")
    assert [(c["detail"]["From"], c["detail"]["DestPath"]) for c in copies] == [
        ("build", "/app/.venv")]
    assert commands(runtime, "WORKDIR")[-1]["detail"]["Path"] == "/app"


@pytest.mark.usefixtures("console_too")
def test_healthcheck_probes_liveness_with_the_standard_library(dockerfiles: dict,
                                                               service: str) -> None:
    checks = commands(stage(dockerfiles[service], "runtime"), "HEALTHCHECK")
    assert checks, "the image declares a HEALTHCHECK"
    health = checks[-1]["detail"]["Health"]
    test = health["Test"]
    assert test[0] == "CMD" and test[1] == "python", "exec form, python only (no curl)"
    assert "/health/live" in test[-1] and "urllib.request" in test[-1]
    assert health["Retries"] >= 1 and 0 < health["Timeout"] < health["Interval"]


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        code = self.status if self.path == "/health/live" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def _run_healthcheck(test: list[str], env_name: str, port: int) -> int:
    command = [sys.executable, *test[2:]]  # "CMD", "python", then its arguments
    return subprocess.run(command, env={env_name: str(port)}, capture_output=True,
                          timeout=30).returncode


def test_healthcheck_command_passes_on_200_and_fails_otherwise(dockerfiles: dict) -> None:
    """The very command of the HEALTHCHECK, against a stand-in server on loopback."""
    test = commands(stage(dockerfiles["booking"], "runtime"), "HEALTHCHECK")[-1]
    test = test["detail"]["Health"]["Test"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert _run_healthcheck(test, "BOOKING_HTTP_PORT", port) == 0
        _Health.status = 503
        assert _run_healthcheck(test, "BOOKING_HTTP_PORT", port) != 0
    finally:
        _Health.status = 200
        server.shutdown()
        server.server_close()
    assert _run_healthcheck(test, "BOOKING_HTTP_PORT", port) != 0, "nothing listening: unhealthy"


def test_the_four_dockerfiles_differ_only_in_the_service(root: Path, all_facts: dict) -> None:
    """Same shape everywhere (docs/service-shape.md): a fix to one is a fix to all."""

    def normalised(facts) -> str:
        text = (root / f"services/{facts.name}/Dockerfile").read_text()
        text = re.sub(rf"(?<![A-Za-z]){facts.prefix}(?=_)", "<PREFIX>", text)
        text = re.sub(rf"(?<![A-Za-z]){facts.name}(?![A-Za-z])", "<service>", text)
        return text.replace(str(facts.port), "<port>")

    reference = normalised(all_facts["booking"])
    for name, facts in all_facts.items():
        assert normalised(facts) == reference, f"services/{name}/Dockerfile drifted"


def test_the_console_dockerfile_is_a_services_without_migrations_and_topics(
        dockerfiles: dict) -> None:
    """Instruction by instruction, the console's image is booking's with the service name
    replaced, less the three copies of what only a data-owning service needs."""

    def instructions(service: str, prefix: str, port: int) -> list[str]:
        found = []
        for s in dockerfiles[service]["stages"]:
            for c in s["commands"]:
                text = json.dumps(c["detail"], sort_keys=True)
                text = re.sub(rf"(?<![A-Za-z]){prefix}(?=_)", "<PREFIX>", text)
                text = re.sub(rf"(?<![A-Za-z]){service}(?![A-Za-z])", "<service>", text)
                found.append(f"{s['name']} {c['instruction']} {text.replace(str(port), '<port>')}")
        return found

    booking = [i for i in instructions("booking", "BOOKING", 8101)
               if not ("COPY" in i and ("alembic.ini" in i or "migrations" in i
                                         or "topics.yaml" in i))]
    assert instructions("console", "CONSOLE", 8100) == booking


@pytest.mark.usefixtures("console_too")
def test_build_context_admits_only_what_the_dockerfile_copies(dockerfiles: dict, service: str,
                                                              root: Path) -> None:
    ignore = (root / f"services/{service}/Dockerfile.dockerignore").read_text().splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", "everything is excluded first"
    admitted = [rule[1:].rstrip("/") for rule in rules if rule.startswith("!")]
    assert not [a for a in admitted if a.startswith("services/") and a != f"services/{service}"]
    for s in dockerfiles[service]["stages"]:
        for c in commands(s, "COPY"):
            if c["detail"]["From"]:
                continue
            for source in c["detail"]["SourcePaths"]:
                source = source.rstrip("/")
                assert any(source == a or source.startswith(a + "/") for a in admitted), \
                    f"{source} is copied but left out of the build context"
