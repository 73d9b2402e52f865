"""The shape every service keeps (pyproject.toml ``[tool.importlinter]``), enforced by
``make test`` as well as ``make check``: no service imports another's package, the kernel
imports no service, the product does not import the demo, a domain does no I/O."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "4 kept, 0 broken" in done.stdout, done.stdout[-2000:]


def test_no_service_package_holds_demo_code() -> None:
    found = sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py") if "demo" in p.name
    )
    assert found == [], f"demo code belongs in the top-level demo/ package: {found}"
