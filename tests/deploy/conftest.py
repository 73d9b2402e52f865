"""Fixtures for the checks of deploy/: tools, rendered overlays, resources by kind.

The tools (kustomize, checkov, hadolint, kubernetes-validate, a Python with PyYAML) are
located or installed by deploy/k8s/tools.sh, so these tests need nothing from the project's
venv but pytest. Every overlay is rendered once per session.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = sorted(
    p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file()
)
SERVICES = ("nominations", "scoring", "survey", "reporting", "notifications")
TOOL_NAMES = ("kustomize", "checkov", "hadolint", "kubernetes-validate", "python")

Resource = dict[str, Any]

# YAML -> JSON in the tools' Python (PyYAML is not a dependency of the project).
_YAML_TO_JSON = """
import json, sys, yaml
out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        out[path] = [d for d in yaml.safe_load_all(f) if d]
json.dump(out, sys.stdout)
"""


@dataclass(frozen=True)
class Rendered:
    """One overlay after `kustomize build`: its YAML file and its resources."""

    overlay: str
    path: Path
    resources: list[Resource]

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r["kind"] == kind]

    def one(self, kind: str, name: str) -> Resource:
        matches = [r for r in self.of_kind(kind) if r["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.overlay}: expected one {kind}/{name}, got {len(matches)}"
        return matches[0]


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    """Absolute path of each tool, installed on first use (deploy/k8s/tools.sh)."""
    result = subprocess.run(
        ["bash", str(K8S / "tools.sh"), *TOOL_NAMES],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"deploy/k8s/tools.sh failed:\n{result.stderr}"
    return dict(zip(TOOL_NAMES, result.stdout.split(), strict=True))


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rendered")


@pytest.fixture(scope="session")
def render_errors(tools: dict[str, str], render_dir: Path) -> dict[str, str]:
    """Build every overlay into <render_dir>/<overlay>.yaml; overlay -> error text if any."""
    errors = {}
    for overlay in OVERLAYS:
        result = subprocess.run(
            [tools["kustomize"], "build", str(K8S / "overlays" / overlay)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            errors[overlay] = result.stderr
        else:
            (render_dir / f"{overlay}.yaml").write_text(result.stdout, encoding="utf-8")
    return errors


def load_yaml(tools: dict[str, str], paths: list[Path]) -> dict[str, list[Resource]]:
    """Parse YAML files (multi-document) with the tools' Python; path -> documents."""
    result = subprocess.run(
        [tools["python"], "-c", _YAML_TO_JSON, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    parsed: dict[str, list[Resource]] = json.loads(result.stdout)
    return parsed


@pytest.fixture(scope="session")
def rendered(
    tools: dict[str, str], render_dir: Path, render_errors: dict[str, str]
) -> dict[str, Rendered]:
    """Every overlay that renders, parsed."""
    paths = [render_dir / f"{o}.yaml" for o in OVERLAYS if o not in render_errors]
    docs = load_yaml(tools, paths)
    return {p.stem: Rendered(p.stem, p, docs[str(p)]) for p in paths}


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, rendered: dict[str, Rendered]) -> Iterator[Rendered]:
    """Each overlay in turn (tests of one overlay are parametrised by its name)."""
    if request.param not in rendered:
        pytest.fail(f"overlay {request.param} does not render (see test_every_overlay_renders)")
    yield rendered[request.param]


def pod_spec(workload: Resource) -> Resource:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: Resource = spec["template"]["spec"]
    return pod


WORKLOAD_KINDS = ("Deployment", "Job", "CronJob", "StatefulSet", "DaemonSet")


def workloads(r: Rendered) -> list[Resource]:
    return [x for x in r.resources if x["kind"] in WORKLOAD_KINDS]
