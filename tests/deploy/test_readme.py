"""deploy/README.md keeps up with the code it documents."""

from __future__ import annotations

import subprocess
from pathlib import Path

from club_platform.settings import ServiceSettings


def test_every_setting_is_documented(root: Path) -> None:
    readme = (root / "deploy/README.md").read_text()
    # A setting read without the service's prefix (CLUB_TIME_ZONE) is documented by its alias.
    missing = [name for name, field in ServiceSettings.model_fields.items()
               if f"<P>_{name.upper()}" not in readme
               and not (field.validation_alias is not None
                        and f"`{name.upper()}`" in readme)]
    assert not missing, f"deploy/README.md does not document {missing}"


def test_the_pinned_tool_versions_are_the_documented_ones(root: Path) -> None:
    readme = (root / "deploy/README.md").read_text()
    pins = subprocess.run(["bash", "deploy/tools/install.sh", "--print-env"], cwd=root,
                          capture_output=True, text=True, check=True).stdout
    env = dict(line.split("=", 1) for line in pins.splitlines())
    for key in ("CLUB_HELM_VERSION", "CLUB_KUBECONFORM_VERSION"):
        assert f"{env[key]}" in readme, f"{key}={env[key]} is not what deploy/README.md says"
    assert f"Kubernetes v{env['CLUB_KUBERNETES_VERSION']}" in readme
