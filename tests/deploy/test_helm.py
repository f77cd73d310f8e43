"""The Helm chart, rendered for each service on two kinds of cluster (deploy/helm/environments),
linted by `helm lint --strict`, validated by kubeconform against the Kubernetes API's own
schemas, and read for the properties a platform team relies on: probes on the right paths,
resources, non-root with a read-only root filesystem, settings from a ConfigMap, secrets only
by reference, and the migration and topics Jobs. The console's release is rendered and held
to the same (`console_too`) except what it does not own: no database, Kafka, Secret or Jobs,
and exactly one replica."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.timeout(1800)

CHART = "deploy/helm/club-service"
ENVIRONMENTS = ("example", "single-node")
SERVICES = ("booking", "reception", "crm", "hr")
DEPLOYABLES = (*SERVICES, "console")
SECRET_NAMES = ("DATABASE_URL", "JWT_SECRET", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD")


# What a club gives CRM's release of its own: its mail relay and sender.
CLUB_MAIL = ["--set", "settings.SMTP_HOST=relay.example.org",
             "--set", "settings.MAIL_FROM=Club <service@club.example>"]


# What a club gives the console's release of its own: where people reach it.
CONSOLE_ADDRESS = ["--set", "console.settings.PUBLIC_URL=https://console.club.example"]


def values_args(service: str, environment: str) -> list[str]:
    return ["-f", f"deploy/helm/values/{service}.yaml",
            "-f", f"deploy/helm/environments/{environment}.yaml",
            *(CLUB_MAIL if service == "crm" else []),
            *(CONSOLE_ADDRESS if service == "console" else [])]


@pytest.fixture(scope="module")
def renders(tools, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """`helm template` of every service (and the console) on every environment, written to
    files."""
    out = tmp_path_factory.mktemp("helm")
    files = {}
    for service in DEPLOYABLES:
        for environment in ENVIRONMENTS:
            result = tools.run("helm", "template", service, CHART,
                               *values_args(service, environment), "--namespace", "club",
                               "--kube-version", tools.kubernetes_version)
            path = out / f"{service}-{environment}.yaml"
            path.write_text(result.stdout)
            files[service, environment] = path
    return files


@pytest.fixture(params=ENVIRONMENTS, scope="module")
def environment(request: pytest.FixtureRequest) -> str:
    return request.param


class Manifests:
    def __init__(self, path: Path) -> None:
        self.documents = [d for d in yaml.safe_load_all(path.read_text()) if d]

    def of(self, kind: str) -> list[dict]:
        return [d for d in self.documents if d["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict:
        found = [d for d in self.of(kind) if name is None or d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]


@pytest.fixture
def manifests(renders: dict, service: str, environment: str) -> Manifests:
    return Manifests(renders[service, environment])


@pytest.fixture
def env_file(root: Path, environment: str) -> dict:
    return yaml.safe_load((root / f"deploy/helm/environments/{environment}.yaml").read_text())


def container_env(container: dict, configmap: dict) -> dict[str, dict | str]:
    """Every variable the container gets: ConfigMap values and its own env entries."""
    env: dict[str, dict | str] = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == configmap["metadata"]["name"]
        env.update(configmap["data"])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("valueFrom") or entry.get("value")
    return env


def assert_hardened(pod_spec: dict, what: str) -> None:
    pod = pod_spec["securityContext"]
    assert pod["runAsNonRoot"] is True, f"{what}: runAsNonRoot"
    assert pod["runAsUser"] == 10001 and pod["runAsGroup"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec["automountServiceAccountToken"] is False
    tmp = {v["name"]: v for v in pod_spec["volumes"]}["tmp"]
    assert "emptyDir" in tmp and tmp["emptyDir"]["sizeLimit"]
    for container in pod_spec["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, f"{what}: read-only root"
        assert context["allowPrivilegeEscalation"] is False
        assert context["runAsNonRoot"] is True
        assert context.get("privileged") is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts.get("/tmp") == "tmp", f"{what}: /tmp is the writable emptyDir"
        for kind in ("requests", "limits"):
            assert container["resources"][kind]["memory"], f"{what}: memory {kind}"
        assert container["resources"]["requests"]["cpu"]


@pytest.mark.usefixtures("console_too")
def test_helm_lint_strict(tools, service: str, environment: str) -> None:
    result = tools.run("helm", "lint", "--strict", CHART, *values_args(service, environment))
    assert "0 chart(s) failed" in result.stdout


def test_manifests_are_valid_kubernetes_objects(tools, renders: dict) -> None:
    """kubeconform, strict (unknown fields fail), against the pinned Kubernetes version."""
    location = str(tools.schemas / "{{ .NormalizedKubernetesVersion }}"
                   / "{{ .ResourceKind }}{{ .KindSuffix }}.json")
    result = tools.run("kubeconform", "-strict", "-summary", "-output", "json",
                       "-kubernetes-version", tools.kubernetes_version,
                       "-schema-location", location, *map(str, renders.values()), check=False)
    report = json.loads(result.stdout)
    problems = [r for r in report["resources"] if r["status"] != "statusValid"]
    assert result.returncode == 0 and not problems, json.dumps(problems, indent=2)
    summary = report["summary"]
    documents = sum(len(Manifests(path).documents) for path in renders.values())
    assert summary["valid"] == documents, "every rendered object was checked against a schema"
    assert summary["invalid"] == summary["errors"] == summary["skipped"] == 0


def test_kubeconform_catches_a_misspelt_field(tools, renders: dict, tmp_path: Path) -> None:
    """The schemas are loaded and strict: a typo in a rendered Deployment fails."""
    text = renders["booking", "example"].read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("readOnlyRootFilesystem:", "readOnlyRootFileSystem:", 1))
    location = str(tools.schemas / "{{ .NormalizedKubernetesVersion }}"
                   / "{{ .ResourceKind }}{{ .KindSuffix }}.json")
    result = tools.run("kubeconform", "-strict", "-kubernetes-version", tools.kubernetes_version,
                       "-schema-location", location, str(broken), check=False)
    assert result.returncode == 1
    assert "readOnlyRootFileSystem" in result.stdout


@pytest.mark.usefixtures("console_too")
def test_the_deployment_probes_liveness_and_readiness(manifests: Manifests, facts) -> None:
    container = manifests.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": facts.port}
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready"),
                        ("startupProbe", "/health/live")):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert "command" not in container and "args" not in container, \
        "the image's own command serves the service"


@pytest.mark.usefixtures("console_too")
def test_the_deployment_is_hardened(manifests: Manifests) -> None:
    spec = manifests.one("Deployment")["spec"]["template"]["spec"]
    assert_hardened(spec, "Deployment")
    assert spec["serviceAccountName"] == manifests.one("ServiceAccount")["metadata"]["name"]
    assert manifests.one("ServiceAccount")["automountServiceAccountToken"] is False


@pytest.mark.usefixtures("console_too")
def test_settings_come_from_the_configmap_and_secrets_by_reference(
        manifests: Manifests, facts, service: str) -> None:
    configmap = manifests.one("ConfigMap")
    container = manifests.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = container_env(container, configmap)
    unknown = {k for k in env if k not in facts.variables}
    assert not unknown, f"not settings of {service}: {unknown}"
    missing = facts.required - set(env)
    assert not missing, f"{service} would refuse to start without {missing}"
    assert configmap["data"][f"{facts.prefix}_HTTP_PORT"] == str(facts.port)
    for name in SECRET_NAMES:
        variable = f"{facts.prefix}_{name}"
        assert variable not in configmap["data"], f"{variable} is a secret, not configuration"
        if variable in env:
            reference = env[variable]["secretKeyRef"]
            assert reference["name"] == f"club-{service}"
    assert not manifests.of("Secret"), "the chart never carries secret values"


def test_sasl_credentials_are_referenced_only_with_sasl(manifests: Manifests, facts,
                                                        env_file: dict) -> None:
    container = manifests.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = container_env(container, manifests.one("ConfigMap"))
    sasl = env_file["settings"]["KAFKA_SECURITY_PROTOCOL"].startswith("SASL")
    for name in ("KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        assert (f"{facts.prefix}_{name}" in env) == sasl


def fake_secret(name: str) -> str:
    """A value of the shape the setting expects: keys are 32 random bytes, URL-safe base64."""
    return secrets.token_urlsafe(32) if name.endswith("_KEYS") else "s" * 48


@pytest.mark.usefixtures("console_too")
def test_the_service_settings_validate_from_the_rendered_environment(
        manifests: Manifests, facts, monkeypatch: pytest.MonkeyPatch) -> None:
    container = manifests.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = container_env(container, manifests.one("ConfigMap"))
    for name in facts.variables:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        # What the kubelet would put there from the Secret.
        monkeypatch.setenv(name, value if isinstance(value, str) else fake_secret(name))
    settings = facts.settings_class()
    assert settings.environment == "production"
    assert settings.http_host == "0.0.0.0" and settings.http_port == facts.port


def test_the_migration_job_runs_before_the_release_changes(manifests: Manifests,
                                                          service: str, facts) -> None:
    job = manifests.one("Job", f"club-{service}-migrate")
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in hooks["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert_hardened(spec, "migration Job")
    container = spec["containers"][0]
    assert container["command"] == ["alembic", "-c", f"services/{service}/alembic.ini",
                                    "upgrade", "head"]
    assert container["image"] == manifests.one("Deployment")["spec"]["template"]["spec"][
        "containers"][0]["image"]
    env = {e["name"]: e for e in container["env"]}
    assert env[f"{facts.prefix}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == \
        f"club-{service}"
    # A hook runs before the release's own objects exist: it may use only the Secret.
    assert "envFrom" not in container and "serviceAccountName" not in spec


def test_the_topics_job_applies_topics_yaml(manifests: Manifests, facts, env_file: dict) -> None:
    job = next(j for j in manifests.of("Job") if j["metadata"]["name"].endswith("-topics"))
    hooks = job["metadata"]["annotations"]
    assert set(hooks["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    spec = job["spec"]["template"]["spec"]
    assert_hardened(spec, "topics Job")
    container = spec["containers"][0]
    factor = str(env_file["topics"]["replicationFactor"])
    assert container["command"] == ["club", "topics", "apply", "--file",
                                    "deploy/kafka/topics.yaml", "--replication-factor", factor]
    env = {e["name"]: e for e in container["env"]}
    configmap = manifests.one("ConfigMap")["data"]
    assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == \
        configmap[f"{facts.prefix}_KAFKA_BOOTSTRAP_SERVERS"]
    assert env["CLUB_KAFKA_SECURITY_PROTOCOL"]["value"] == \
        configmap[f"{facts.prefix}_KAFKA_SECURITY_PROTOCOL"]
    if configmap[f"{facts.prefix}_KAFKA_SECURITY_PROTOCOL"].startswith("SASL"):
        assert "secretKeyRef" in env["CLUB_KAFKA_SASL_PASSWORD"]["valueFrom"]
    assert "envFrom" not in container and "serviceAccountName" not in spec


@pytest.mark.usefixtures("console_too")
def test_the_service_routes_to_serving_pods_only(manifests: Manifests) -> None:
    service = manifests.one("Service")
    selector = service["spec"]["selector"]
    pods = manifests.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pods.items()
    assert manifests.one("Deployment")["spec"]["selector"]["matchLabels"] == selector
    for job in manifests.of("Job"):
        labels = job["spec"]["template"]["metadata"]["labels"]
        assert not selector.items() <= labels.items(), "no traffic to a migration or topics pod"
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_replicas_and_disruption_budget(manifests: Manifests, env_file: dict) -> None:
    replicas = manifests.one("Deployment")["spec"]["replicas"]
    assert replicas == env_file["replicaCount"]
    assert len(manifests.of("PodDisruptionBudget")) == (1 if replicas > 1 else 0)


@pytest.mark.usefixtures("console_too")
def test_a_config_change_rolls_the_pods(manifests: Manifests) -> None:
    annotations = manifests.one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["checksum/config"]) == 64


def test_values_explain_why_replicas_are_safe(root: Path) -> None:
    values = (root / CHART / "values.yaml").read_text()
    assert "advisory" in values and "lock" in values and "partition" in values


def test_rendering_without_the_cluster_settings_fails_clearly(tools) -> None:
    result = tools.run("helm", "template", "booking", CHART, "-f",
                       "deploy/helm/values/booking.yaml", check=False)
    assert result.returncode != 0
    assert "settings.KAFKA_BOOTSTRAP_SERVERS is required" in result.stderr


def test_a_secret_in_the_settings_is_refused(tools) -> None:
    result = tools.run("helm", "template", "booking", CHART,
                       *values_args("booking", "single-node"),
                       "--set", "settings.JWT_SECRET=oops", check=False)
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr


def test_crm_does_not_render_without_the_clubs_mail_relay(tools) -> None:
    result = tools.run("helm", "template", "crm", CHART, "-f", "deploy/helm/values/crm.yaml",
                       "-f", "deploy/helm/environments/example.yaml", check=False)
    assert result.returncode != 0
    assert "is required: where the service's messages go" in result.stderr


def test_crm_sends_through_the_relay_it_was_given(renders) -> None:
    configmap = Manifests(renders["crm", "example"]).one("ConfigMap")
    assert configmap["data"]["CRM_SMTP_HOST"] == "relay.example.org"
    assert configmap["data"]["CRM_MAIL_FROM"] == "Club <service@club.example>"
    assert (configmap["data"]["CRM_SMTP_PORT"], configmap["data"]["CRM_SMTP_STARTTLS"]) == (
        "587", "true")


def test_the_console_release_owns_no_data(renders: dict, environment: str, env_file: dict,
                                          console_facts) -> None:
    """One replica whatever the cluster's file says (its sessions are in its memory), never
    two at once; no Secret, no Jobs, nothing about a database or Kafka; the provider's issuer
    shared with the services, the services reached by their releases' Services."""
    manifests = Manifests(renders["console", environment])
    deployment = manifests.one("Deployment")
    assert env_file["replicaCount"] >= 1
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not manifests.of("PodDisruptionBudget")
    assert not manifests.of("Job"), "nothing to migrate, no topics to apply"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in container, "no secret of its own"
    data = manifests.one("ConfigMap")["data"]
    assert not [k for k in data if "DATABASE" in k or "KAFKA" in k or "JWT" in k]
    assert data["CONSOLE_OIDC_ISSUER"] == env_file["settings"]["OIDC_ISSUER"]
    assert data["CONSOLE_PUBLIC_URL"] == "https://console.club.example"
    for service in SERVICES:
        assert data[f"CONSOLE_{service.upper()}_URL"] == f"http://club-{service}"
    assert "CONSOLE_OIDC_INTERNAL_URL" not in data, "left out when not given"
    for service in SERVICES:
        # The Service each URL names is the one that service's release makes, on port 80.
        made = Manifests(renders[service, environment]).one("Service")
        assert made["metadata"]["name"] == f"club-{service}"
        assert made["spec"]["ports"][0]["port"] == 80


def test_the_console_does_not_render_without_its_address(tools) -> None:
    result = tools.run("helm", "template", "console", CHART,
                       "-f", "deploy/helm/values/console.yaml",
                       "-f", "deploy/helm/environments/example.yaml", check=False)
    assert result.returncode != 0
    assert "console.settings.PUBLIC_URL is required" in result.stderr


def test_the_console_values_explain_why_one_replica(root: Path) -> None:
    for path in (root / CHART / "values.yaml", root / "deploy/helm/values/console.yaml"):
        text = path.read_text()
        assert "one replica" in text.lower() and "memory" in text, path
