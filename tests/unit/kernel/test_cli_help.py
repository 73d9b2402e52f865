"""`uzdik --help` and every subcommand's help read as plain text (issue 15, item 5): no reST
or rich markup, no boxes, no summary cut off mid-sentence, every option explained."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from services.cli import app

COMMANDS = [
    [],
    ["serve"],
    ["relay"],
    ["migrate"],
    ["token"],
    ["demo"],
    ["replay"],
    ["docs"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "trail"],
    ["sign-protocol"],
    ["signing-key"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "uzdik")
def test_help_is_plain_text(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("Usage: ")
    for markup in ("``", "[bold", "[/", ":class:", ":meth:", "─", "│", "╭", "\x1b["):
        assert markup not in text, f"{markup!r} in:\n{text}"
    listed = re.findall(r"^  (\S+)\s{2,}(.+)$", text.split("Commands:")[-1], re.M)
    if "Commands:" in text:
        assert listed
        for name, summary in listed:
            assert not summary.endswith("..."), f"{name}: cut off: {summary}"
    options = text.split("Options:")[-1]
    for line in options.splitlines():
        if line.startswith("  --") and not line.startswith(("  --help", "  --install", "  --show")):
            assert re.search(r"\S\s{2,}\S", line) or line.rstrip().endswith("]"), line
