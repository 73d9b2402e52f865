"""Linters on the Dockerfile and on what the overlays render (one checkov run per session)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import K8S, REPO, Rendered

CHECKOV_CONFIG = K8S / "checkov.yaml"


def test_dockerfile_passes_hadolint(tools: dict[str, str]) -> None:
    result = subprocess.run(
        [tools["hadolint"], "--config", str(REPO / ".hadolint.yaml"), str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_runs_uzdik_as_a_non_root_user() -> None:
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    assert 'ENTRYPOINT ["uzdik"]' in final
    assert 'CMD ["serve", "nominations"]' in final
    assert "USER 10001:10001" in final
    assert all(not line.startswith("RUN pip") for line in final), "no build tools at run time"
    froms = {line.split()[1] for line in lines if line.startswith("FROM ")}
    assert len(froms) == 1 and froms.pop().startswith("python:3.11."), "one pinned base image"


@pytest.fixture(scope="session")
def checkov_report(
    tools: dict[str, str], render_dir: Path, render_errors: dict[str, str]
) -> list[dict[str, Any]]:
    """checkov over every rendered overlay and the Dockerfile, once."""
    shutil.copy(REPO / "Dockerfile", render_dir / "Dockerfile")
    result = subprocess.run(
        [
            tools["checkov"],
            "--config-file",
            str(CHECKOV_CONFIG),
            "-d",
            str(render_dir),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"PATH": "/usr/bin:/bin", "BC_SKIP_MAPPING": "TRUE", "HOME": str(render_dir)},
    )
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    return report if isinstance(report, list) else [report]


@pytest.mark.parametrize("framework", ["kubernetes", "dockerfile"])
def test_checkov_passes(checkov_report: list[dict[str, Any]], framework: str) -> None:
    (scan,) = [r for r in checkov_report if r["check_type"] == framework]
    failed = [
        f"{f['check_id']} {f['resource']} ({f['file_path']})"
        for f in scan["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert scan["summary"]["parsing_errors"] == 0
    assert scan["summary"]["passed"] > 0


def test_every_checkov_skip_says_why(
    checkov_report: list[dict[str, Any]], rendered: dict[str, Rendered]
) -> None:
    annotated = 0
    for r in rendered.values():
        for resource in r.resources:
            for key, value in resource["metadata"].get("annotations", {}).items():
                if key.startswith("checkov.io/skip"):
                    check, _, reason = value.partition("=")
                    assert check.startswith("CKV") and len(reason.split()) >= 5, value
                    annotated += 1
    (kubernetes,) = [s for s in checkov_report if s["check_type"] == "kubernetes"]
    assert kubernetes["summary"]["skipped"] == annotated
    text = CHECKOV_CONFIG.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip().startswith("- CKV"):
            check = line.strip()[2:]
            assert f"# {check} " in text, f"{check} is skipped without a comment"
