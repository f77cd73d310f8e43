"""Checks of deploy/ that need no Docker engine and no cluster: the Dockerfiles (BuildKit's
own lint rules and their parsed structure), the Compose file (loaded by compose-go, the
library Docker Compose uses), the Helm chart (helm lint, helm template, kubeconform against
the Kubernetes API schemas), the PostgreSQL init script and the image's build recipe.

The tools come from deploy/tools/install.sh (`make tools`; `make test` runs it first). When
they are missing this session installs them, and when that fails every test that needs them
fails with the installer's message: nothing here is ever skipped.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "deploy" / "tools" / "install.sh"
SERVICES = ("booking", "reception", "crm", "hr")
# The web console (services/console) is deployed like a service — its own image, Compose
# service and Helm release — but owns no database and no topics: it is checked for what it
# has, never for migrations, Kafka or a database.
CONSOLE = "console"
DEPLOYABLES = (*SERVICES, CONSOLE)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A test that takes `service` (or `facts`) runs once per service; one that also uses the
    # fixture `console_too` (@pytest.mark.usefixtures) runs for the console as well.
    if "service" in metafunc.fixturenames:
        names = DEPLOYABLES if "console_too" in metafunc.fixturenames else SERVICES
        # Module scope, so a module may build something once per service.
        metafunc.parametrize("service", names, scope="module")


@pytest.fixture
def console_too() -> None:
    """Marks a check that holds for the console as much as for the four services (its image,
    its container, its Deployment): `service` then runs over the console too."""


@dataclass(frozen=True)
class ServiceFacts:
    """What the service's own code says about it: its settings are the source of truth."""

    name: str

    @property
    def prefix(self) -> str:
        return self.name.upper()

    @property
    def settings_class(self) -> type:
        module = importlib.import_module(f"club_{self.name}.settings")
        # The class the module defines (not one it imports, such as pydantic's BaseSettings).
        return next(value for key, value in vars(module).items()
                    if key.endswith("Settings") and key != "ServiceSettings"
                    and getattr(value, "__module__", None) == module.__name__)

    @property
    def variables(self) -> set[str]:
        """Every environment variable the service reads: <PREFIX>_<FIELD>."""
        return {f"{self.prefix}_{field.upper()}" for field in self.settings_class.model_fields}

    @property
    def required(self) -> set[str]:
        """The variables without which it refuses to start (and, in production, the identity
        provider's issuer: the shared-secret tokens are refused there)."""
        fields = self.settings_class.model_fields
        return {f"{self.prefix}_{field.upper()}" for field, info in fields.items()
                if info.is_required()} | {f"{self.prefix}_OIDC_ISSUER"}

    @property
    def port(self) -> int:
        return self.settings_class.model_fields["http_port"].default

    @property
    def owns_data(self) -> bool:
        """A service has a database and Kafka; the console has neither."""
        return self.name in SERVICES


@pytest.fixture
def facts(service: str) -> ServiceFacts:
    return ServiceFacts(service)


@pytest.fixture(scope="session")
def all_facts() -> dict[str, ServiceFacts]:
    return {service: ServiceFacts(service) for service in SERVICES}


@pytest.fixture(scope="session")
def console_facts() -> ServiceFacts:
    return ServiceFacts(CONSOLE)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@dataclass(frozen=True)
class Tools:
    bin: Path
    schemas: Path
    kubernetes_version: str
    helm_version: str
    kubeconform_version: str

    def path(self, name: str) -> str:
        return str(self.bin / name)

    def run(self, name: str, *args: str, check: bool = True,
            cwd: Path = ROOT) -> subprocess.CompletedProcess:
        result = subprocess.run([self.path(name), *args], cwd=cwd, capture_output=True,
                                text=True, timeout=300)
        if check and result.returncode != 0:
            pytest.fail(f"{name} {' '.join(args)} exited {result.returncode}:\n"
                        f"{result.stdout}\n{result.stderr}", pytrace=False)
        return result


def _installer_env() -> dict[str, str]:
    out = subprocess.run(["bash", str(INSTALLER), "--print-env"], capture_output=True,
                         text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _version(tools_bin: Path, name: str, *args: str) -> str:
    try:
        return subprocess.run([str(tools_bin / name), *args], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except OSError:
        return ""


@pytest.fixture(scope="session")
def tools() -> Tools:
    """helm, kubeconform, dockerfile-check, compose-config and the Kubernetes schemas, at
    the versions install.sh pins; installed now if they are missing or stale."""
    # Idempotent and quick when everything is there; builds from the Go module proxy if not.
    result = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True,
                            timeout=1500)
    if result.returncode != 0:
        pytest.fail("the deploy tools did not install (deploy/tools/install.sh), so deploy/ "
                    f"cannot be validated:\n{result.stdout}\n{result.stderr}", pytrace=False)
    env = _installer_env()
    tools = Tools(
        bin=Path(env["CLUB_TOOLS_BIN"]),
        schemas=Path(env["CLUB_K8S_SCHEMAS"]),
        kubernetes_version=env["CLUB_KUBERNETES_VERSION"],
        helm_version=env["CLUB_HELM_VERSION"],
        kubeconform_version=env["CLUB_KUBECONFORM_VERSION"],
    )
    helm = _version(tools.bin, "helm", "version", "--template", "{{.Version}}")
    kubeconform = _version(tools.bin, "kubeconform", "-v")
    if helm != tools.helm_version or kubeconform != tools.kubeconform_version:
        pytest.fail(f"expected helm {tools.helm_version} and kubeconform "
                    f"{tools.kubeconform_version} in {tools.bin}, found {helm or 'none'} and "
                    f"{kubeconform or 'none'}: run `make tools`", pytrace=False)
    for name in ("dockerfile-check", "compose-config"):
        if not os.access(tools.bin / name, os.X_OK):
            pytest.fail(f"{name} is missing from {tools.bin}: run `make tools`", pytrace=False)
    if not (tools.schemas / f"v{tools.kubernetes_version}" / "_definitions.json").exists():
        pytest.fail(f"no Kubernetes schemas in {tools.schemas}: run `make tools`", pytrace=False)
    return tools


@pytest.fixture(scope="session")
def dockerfiles(tools: Tools) -> dict[str, dict]:
    """Each service's (and the console's) Dockerfile as BuildKit parses it: stages,
    instructions, lint findings."""
    paths = [f"services/{service}/Dockerfile" for service in DEPLOYABLES]
    described = json.loads(tools.run("dockerfile-check", "-describe", *paths).stdout)
    return {service: d for service, d in zip(DEPLOYABLES, described, strict=True)}
