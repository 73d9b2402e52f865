"""``python -m bench.demo``: ``uzdik demo`` as ``make demo`` runs it (the national edition: 17
regions, four applicants per district, every document), its total and its time per step, beside
a reference measured in the same run: the demo's own event rows written again into a fresh
SQLite file with the embedded stores' settings (WAL, ``synchronous=NORMAL``), one transaction
per row, by ``sqlite3`` in this process: what the stores' writes cost without the services.

One run:

1. ``uzdik demo --data-dir DIR [--pdf MODE]`` as a subprocess (the very command; DIR under
   ``.uzdik/bench-demo``, fresh); its lines ``  <step>: <s> s`` and ``export: ... in <s> s``
   are the per-step times; wall-clock and CPU seconds (the demo's process and its render
   workers: ``RUSAGE_CHILDREN``); the load average before and after.
2. **Reference**: every event row of the five stores inserted again, one transaction each.

Last line on stdout: ``demo seconds=<n> cpu_s=<n> events=<n> events_per_s=<n>
reference_events_per_s=<n> target_s=60``. The figures are appended to bench/README.md
(section "The demo").
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.common import README, ROOT, append_row, machine, say

MARKER = "bench-demo:results"
TARGET_S = 60
STORES = ("nominations", "scoring", "survey", "reporting", "notifications")
STEP = re.compile(r"^\s+([a-zA-Z][\w ]*?): ([\d.]+) s\b")
EXPORT = re.compile(r"export: (\d+) documents .* in ([\d.]+) s")


def run_demo(folder: Path, pdf: str | None) -> tuple[float, float, dict[str, float], str]:
    """The demo as a subprocess: wall seconds, CPU seconds (it and its children), the seconds
    of each step, its output."""
    shutil.rmtree(folder, ignore_errors=True)
    command = [str(ROOT / ".venv" / "bin" / "uzdik"), "demo", "--data-dir", str(folder)]
    if pdf:
        command += ["--pdf", pdf]
    say(f"demo: {' '.join(command[1:])}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"}
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"the demo failed with exit code {done.returncode}")
    steps: dict[str, float] = {}
    for line in done.stdout.replace("\r", "\n").splitlines():
        if m := EXPORT.search(line):
            steps["export"] = float(m.group(2))
        elif (m := STEP.match(line)) and m.group(1) != "export":
            steps[m.group(1)] = float(m.group(2))
    return seconds, cpu, steps, done.stdout


def rows_of(folder: Path) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for store in STORES:
        with sqlite3.connect(folder / f"{store}.db") as conn:
            found = conn.execute("SELECT * FROM events ORDER BY global_position").fetchall()
        # a stream's name is unique within its store: prefixed, across the five of them
        rows += [(row[0], f"{store}/{row[1]}", *row[2:]) for row in found]
    return rows


def reference(folder: Path, rows: list[tuple[object, ...]]) -> float:
    """Seconds to insert ``rows`` again into a fresh copy of the events table, one transaction
    per row, with the embedded stores' pragmas."""
    target = folder / "reference.db"
    target.unlink(missing_ok=True)
    with sqlite3.connect(folder / "nominations.db") as source:
        ddl = source.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0]
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(ddl)
    marks = ", ".join("?" * len(rows[0])) if rows else ""
    started = time.perf_counter()
    for position, row in enumerate(rows, start=1):
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO events VALUES ({marks})", (position, *row[1:]))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    target.unlink(missing_ok=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--pdf", default=None, help="the demo's --pdf (default: its own)")
    parser.add_argument("--no-readme", action="store_true", help="do not record in bench/README.md")
    args = parser.parse_args(argv)
    folder = ROOT / ".uzdik" / "bench-demo"
    load = os.getloadavg()[0]
    say(f"demo: {machine()}, load average {load:.1f}")
    seconds, cpu, steps, _ = run_demo(folder, args.pdf)
    load_after = os.getloadavg()[0]
    rows = rows_of(folder)
    ref = reference(folder, rows)
    for name, s in steps.items():
        say(f"  {name:<16} {s:7.1f} s")
    rate, ref_rate = len(rows) / seconds, len(rows) / ref if ref > 0 else 0.0
    say(
        f"demo: {seconds:.1f} s wall, {cpu:.1f} s CPU (it and every process it started), "
        f"{len(rows)} events ({rate:,.0f}/s over the whole run); reference: the same rows "
        f"inserted one transaction each in {ref:.1f} s ({ref_rate:,.0f}/s); load average "
        f"{load:.1f} before, {load_after:.1f} after"
    )
    if not args.no_readme:
        order = ["applications", "admission", "stage I", "survey", "survey closed"]
        order += ["regional final", "stage II", "notifications", "export"]
        row = [
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            _revision(),
            args.pdf or "default",
            f"{seconds:.1f} s",
            f"{cpu:.0f} s",
            " / ".join(f"{steps.get(k, 0):.0f}" for k in order),
            f"{len(rows):,}",
            f"{ref:.1f} s ({ref_rate:,.0f}/s)",
            f"{load:.1f} → {load_after:.1f}",
            machine(),
        ]
        append_row(README, MARKER, row)
    print(
        f"demo seconds={seconds:.1f} cpu_s={cpu:.1f} events={len(rows)} events_per_s={rate:.0f} "
        f"reference_events_per_s={ref_rate:.0f} target_s={TARGET_S}",
        flush=True,
    )
    return 0


def _revision() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return found.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
