"""README "Rehearsals": its commands, as written, in bash (only the port changed to a free one
and `.venv/bin` to the project's), in an empty folder."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.test_serve import bare_env
from tests.ports import free_port


def section_commands(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"### {title}", 1)[1].split("\n#", 1)[0]
    blocks: list[str] = re.findall(r"```sh\n(.*?)```", section, re.S)
    (block,) = blocks
    return block


def test_the_readme_rehearsal_commands_run_as_written(tmp_path: Path) -> None:
    port = free_port()
    script = (
        section_commands("Rehearsals: a simulated business clock")
        .replace("localhost:8000", f"127.0.0.1:{port}")
        .replace(".venv/bin/", f"{ROOT}/.venv/bin/")
    )
    done = subprocess.run(
        ["bash", "-c", "set -m\n" + script],
        env=bare_env(UZDIK_HTTP_PORT=str(port)),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 3, done.stdout
    assert '"simulated":true' in lines[0] and '"now":"2020-05-30T04:00' in lines[0]
    assert '"now":"2020-06-10T04:00' in lines[1]
    assert '"code":"clock_backwards"' in lines[2]
    databases = {p.name for p in (tmp_path / ".uzdik" / "rehearsal").glob("*.db")}
    assert databases >= {"nominations.db", "reporting.db"}
