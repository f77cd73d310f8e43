"""The image's build recipe, replayed without Docker: the build stage's COPY instructions
(read from the Dockerfile as BuildKit parses it) lay out a scratch directory, its `uv sync`
commands run there, and the resulting environment must hold this service and nothing of the
other three (nor the console); from it, the image's three commands (serve, migrate, apply
topics) must start. The console's image is replayed the same way: it holds the console and no
service, and serves, with its templates, static files and message catalogues.

What differs from a real build: the interpreter is this machine's Python 3.11 rather than
the base image's, and bytecode is compiled on first import rather than at build time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(1800)

APP = "/app"
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".venv")


def _copy(root: Path, workdir: Path, sources: list[str], dest: str) -> None:
    """COPY's semantics for what these Dockerfiles use: files and directory contents."""
    target = workdir / dest.removeprefix(APP).lstrip("/")
    for source in sources:
        origin = root / source
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=LEFT_OUT, dirs_exist_ok=True)
        elif dest.endswith("/") or len(sources) > 1:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / origin.name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


@pytest.fixture(scope="module")
def builds(dockerfiles: dict, root: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Each image's environment, built once in this module however many tests ask for it."""
    made: dict[str, Path] = {}

    def build(service: str) -> Path:
        if service not in made:
            made[service] = _build(dockerfiles, service, root, tmp_path_factory)
        return made[service]

    return build


@pytest.fixture(scope="module")
def built(builds: Callable[[str], Path], service: str) -> Path:
    return builds(service)


def _build(dockerfiles: dict, service: str, root: Path,
           tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = next(s for s in dockerfiles[service]["stages"] if s["name"] == "build")
    workdir = tmp_path_factory.mktemp(service) / "app"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    quicker = {"UV_COMPILE_BYTECODE": "0", "UV_LINK_MODE": "hardlink"}
    for command in build["commands"]:
        detail = command["detail"]
        if command["instruction"] == "ENV":
            env.update({pair["Key"]: pair["Value"].replace(APP, str(workdir))
                        for pair in detail["Env"]})
            env.update(quicker)
        elif command["instruction"] == "COPY" and not detail["From"]:
            _copy(root, workdir, detail["SourcePaths"], detail["DestPath"])
        elif command["instruction"] == "RUN" and detail["CmdLine"][0].startswith("uv "):
            result = subprocess.run(detail["CmdLine"][0], shell=True, cwd=workdir, env=env,
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, (
                f"`{detail['CmdLine'][0]}` failed in the build stage:\n{result.stderr}")
    runtime = next(s for s in dockerfiles[service]["stages"] if s["name"] == "runtime")
    for command in runtime["commands"]:
        detail = command["detail"]
        if command["instruction"] == "COPY" and not detail["From"]:
            _copy(root, workdir, detail["SourcePaths"], detail["DestPath"])
    return workdir


@pytest.fixture(scope="module")
def built_console(builds: Callable[[str], Path]) -> Path:
    return builds("console")


def _run(workdir: Path, *command: str) -> subprocess.CompletedProcess:
    venv_bin = workdir / ".venv" / "bin"
    # Bytecode is written here (unlike in the image, where it is compiled at build time), so
    # the second command does not compile every module again.
    env = {"PATH": f"{venv_bin}:/usr/bin:/bin", "HOME": "/nonexistent"}
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.usefixtures("console_too")
def test_the_environment_holds_this_service_and_no_other(built: Path, service: str) -> None:
    others = [s for s in ("booking", "reception", "crm", "hr", "console") if s != service]
    probe = ("import importlib.util as u, json; print(json.dumps({n: bool(u.find_spec(n)) "
             f"for n in {['club_' + s for s in others] + ['pytest', 'ruff', 'testcontainers']}}}))")
    result = _run(built, "python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert "true" not in result.stdout, f"installed but not needed: {result.stdout}"
    assert not (built / "services" / others[0]).exists()


@pytest.mark.usefixtures("console_too")
def test_the_serve_command_imports(built: Path, service: str) -> None:
    # What `python -m club_<service>` imports before it reads its settings.
    result = _run(built, "python", "-c", f"import club_{service}.__main__, club_{service}.app")
    assert result.returncode == 0, result.stderr


def test_the_migrate_command_finds_its_migrations(built: Path, service: str) -> None:
    result = _run(built, "alembic", "-c", f"services/{service}/alembic.ini", "heads")
    assert result.returncode == 0, result.stderr
    assert "(head)" in result.stdout


def test_the_topics_command_finds_every_catalogue_topic(built: Path) -> None:
    result = _run(built, "club", "topics", "check", "--file", "deploy/kafka/topics.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every catalogue topic is defined" in result.stdout


def test_the_console_serves_its_pages_from_the_installed_package(built_console: Path) -> None:
    """Templates, static files and the message catalogues are package data of club_console
    (the image has no source tree): the app builds from the installed package alone, on the
    server the image runs (uvloop, httptools)."""
    probe = (
        "import importlib.resources as r, uvloop, httptools\n"
        "from club_console.app import build_app\n"
        "from club_console.settings import ConsoleSettings\n"
        "root = r.files('club_console')\n"
        "assert (root / 'templates' / 'base.html').is_file()\n"
        "assert (root / 'static' / 'console.css').is_file()\n"
        "assert list((root / 'locale' / 'zh_CN' / 'LC_MESSAGES').iterdir())\n"
        "build_app(ConsoleSettings(oidc_issuer='https://sso.example.org/realms/club',"
        " booking_url='http://b', reception_url='http://r', crm_url='http://c',"
        " hr_url='http://h'))\n"
        "print('served from', root)\n")
    result = _run(built_console, "python", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert "/.venv/" in result.stdout, "club_console comes from the environment, not the tree"
