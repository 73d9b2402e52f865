"""Fixtures for the checks of deploy/: tools, rendered overlays, resources by kind.

The tools (kustomize, checkov, hadolint, kubernetes-validate, a Python with PyYAML) are
located or installed by deploy/k8s/tools.sh, so these tests need nothing from the project's
venv but pytest. Every overlay is rendered once per session.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
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
# The web portal: a Deployment of its own with no database, no Kafka identity and no migration.
PORTAL = "portal"
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


# --- NetworkPolicies, evaluated as the cluster would for one namespace ---------------------------

Labels = dict[str, str]


def selects(selector: Resource, labels: Labels) -> bool:
    """A label selector (matchLabels and matchExpressions, ANDed) on a set of labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
    return True


def policies_of(r: Rendered, labels: Labels) -> list[Resource]:
    """The NetworkPolicies that select pods with these labels."""
    return [p for p in r.of_kind("NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]


def pod_labels(r: Rendered, deployment: str) -> Labels:
    labels: Labels = r.one("Deployment", deployment)["spec"]["template"]["metadata"]["labels"]
    return labels


def _peer_matches(peer: Resource, labels: Labels | None, namespace: str | None) -> bool:
    """Whether a policy's peer is a pod with ``labels`` in this namespace (``namespace`` None)
    or any pod of the namespace named ``namespace``. An ipBlock counts as matching: pod
    addresses may lie in it."""
    if "ipBlock" in peer:
        return True
    if "namespaceSelector" in peer:
        if namespace is None:
            return False  # add-on namespaces only: the deployment's own is never named
        named = {"kubernetes.io/metadata.name": namespace}
        return selects(peer["namespaceSelector"], named) and "podSelector" not in peer
    return namespace is None and labels is not None and selects(peer["podSelector"], labels)


def _allowed(
    policies: list[Resource], kind: str, side: str, match: Callable[[Resource], bool], port: int
) -> bool:
    isolating = [p for p in policies if kind in p["spec"]["policyTypes"]]
    if not isolating:
        return True
    rules = [rule for p in isolating for rule in p["spec"].get(kind.lower(), [])]
    return any(
        (not rule.get("ports") or port in {x["port"] for x in rule["ports"]})
        and (side not in rule or any(match(peer) for peer in rule[side]))
        for rule in rules
    )


def egress_allowed(r: Rendered, source: Labels, target: Labels, port: int) -> bool:
    """Whether the source pod's policies let it open a connection to the target pod's port."""
    return _allowed(
        policies_of(r, source), "Egress", "to", lambda p: _peer_matches(p, target, None), port
    )


def ingress_allowed(
    r: Rendered, target: Labels, port: int, *, pod: Labels | None = None, namespace: str = ""
) -> bool:
    """Whether the target pod's policies admit a pod of this namespace with the labels ``pod``,
    or (``namespace``) any pod of that other namespace, on ``port``."""
    return _allowed(
        policies_of(r, target),
        "Ingress",
        "from",
        lambda p: _peer_matches(p, pod, namespace or None),
        port,
    )
