"""``make bench-protocols``: the demo edition's documents written as ``uzdik demo --pdf all``
writes them (issue 18 item 6: under 30 s on the 2-core machine), beside a reference measured in
the same run: the same export with no PDF (HTML in both languages and the ratings — the reads,
the signed documents' checks and folds and the templates, everything but the PDF writer).

One run:

1. **The edition**, built once: ``uzdik demo --pdf none --data-dir DIR`` (the national demo:
   17 regions, 4 applicants per district; ``--region KATO`` for a subset, stated in the output)
   as a subprocess; DIR (``.uzdik/bench-protocols/<seed>[-<regions>]``) is kept and reused by
   the next run (``--rebuild`` builds it again). Building it takes minutes and is not measured.
   No PostgreSQL or Kafka: the demo is embedded (SQLite), and so is this benchmark.
2. **Reference**: ``demo.run.export(..., pdf="none")`` on the embedded services over DIR, timed.
3. **The documents**: ``demo.run.export(..., pdf="all")`` into a fresh folder, timed — the very
   step the demo runs: every sitting's protocol in HTML and PDF, Kazakh and Russian, through
   reporting's HTTP API (its render worker processes, spawned on first use, are part of it),
   and the ratings (CSV, XLSX). The PDFs' pages are counted afterwards (pypdf).
4. ``--profile``: cProfile of the largest protocol's PDF rendered in this process (its top
   functions by cumulative time on stderr).

Last line on stdout: ``protocols documents=<n> pages=<n> seconds=<n> html_only_s=<n>
target_s=30``; ``documents`` counts the protocols' files (HTML and PDF, both languages) and
``pages`` the PDFs' pages (both languages). The figures are appended to bench/README.md
(section "Protocols").
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from bench.common import README, ROOT, append_row, machine, say
from demo.run import export
from services.embedded import Embedded
from services.reporting.adapters import rendering
from shared.logging import configure_logging
from shared.settings import Settings

MARKER = "bench-protocols:results"
TARGET_S = 30


def edition(args: argparse.Namespace) -> Path:
    """The demo edition's data folder, built by ``uzdik demo --pdf none`` unless already there."""
    name = str(args.seed) + ("-" + "-".join(args.region) if args.region else "")
    folder = ROOT / ".uzdik" / "bench-protocols" / name
    done = folder / "built"
    if done.exists() and not args.rebuild:
        say(f"edition: reusing {folder} ({done.read_text().strip()})")
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    command = [str(ROOT / ".venv" / "bin" / "uzdik"), "demo", "--pdf", "none", "--seed"]
    command += [str(args.seed), "--data-dir", str(folder)]
    for kato in args.region:
        command += ["--region", kato]
    say(f"edition: building it ({' '.join(command[1:])}); minutes, not measured")
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=sys.stderr, cwd=ROOT)
    done.write_text(f"built in {time.perf_counter() - started:.0f} s by {' '.join(command[1:])}\n")
    return folder


@dataclass(frozen=True)
class Timed:
    seconds: float  # wall clock
    main_cpu: float  # CPU seconds of this process (reporting's HTTP side, the export's client)
    workers_cpu: float  # CPU seconds of reporting's render worker processes
    machine_cpu: float  # CPU seconds the whole machine was busy meanwhile (anyone's processes)

    @property
    def cpu(self) -> float:
        return self.main_cpu + self.workers_cpu


async def timed_export(folder: Path, out: Path, pdf: str) -> Timed:
    """The demo's export step over the edition in ``folder``, into ``out``, timed."""
    shutil.rmtree(out, ignore_errors=True)
    settings = Settings()
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if done == total or time.perf_counter() - last > 5:
            last = time.perf_counter()
            say(f"  {pdf}: {done}/{total} documents")

    async with Embedded(settings, folder) as system:
        workers_before, busy = workers_cpu(), machine_busy()
        started, cpu = time.perf_counter(), time.process_time()
        await export(system, settings, out, pdf=pdf, progress=progress)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return Timed(seconds, cpu, workers_cpu() - workers_before, machine_busy() - busy)


def machine_busy() -> float:
    """CPU seconds all the machine's cores have been busy since boot (/proc/stat: every state
    but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def workers_cpu() -> float:
    """CPU seconds (user and system) of reporting's render worker processes so far."""
    pool = rendering._pool
    pids = list(pool._processes) if pool is not None else []  # a benchmark looks inside
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def pages_of(out: Path) -> dict[str, int]:
    return {p.name: len(PdfReader(p).pages) for p in sorted(out.glob("protocol-*.pdf"))}


def profile(out: Path) -> None:
    """cProfile of the largest protocol rendered again in this process, from the signed
    document its PDF carries (as ``uzdik verify-protocol`` renders it)."""
    import json

    from services.reporting.documents import signed
    from services.reporting.documents.protocol import render_pdf
    from services.scoring.events import registry

    biggest = max(out.glob("protocol-*.pdf"), key=lambda p: len(PdfReader(p).pages))
    files = {n: c[0] for n, c in PdfReader(biggest).attachments.items()}
    document, sealed, rendering = (
        json.loads(files[n]) for n in ("protocol.json", "signatures.json", "rendering.json")
    )
    page = signed.render_signed(document, sealed, rendering, registry).page
    render_pdf(page, files, sealed["signed_at"])  # the fonts read once, as a worker does
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    render_pdf(page, files, sealed["signed_at"])
    profiler.disable()
    say(f"profile: {biggest.name} rendered in {time.perf_counter() - started:.1f} s")
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(30)
    print(text.getvalue(), file=sys.stderr)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.protocols", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--region", action="append", default=[], metavar="KATO", help="a subset (repeatable)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build the edition again")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest protocol")
    parser.add_argument("--no-readme", action="store_true", help="do not record in bench/README.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    configure_logging(json=False, level="WARNING")
    folder = edition(args)
    scope = "regions " + ", ".join(args.region) if args.region else "national demo"
    say(f"protocols: {scope}, {machine()}, load average {os.getloadavg()[0]:.1f}")
    reference = asyncio.run(timed_export(folder, folder / "out-html", "none"))
    say(f"reference (export, no PDF): {reference.seconds:.1f} s, {reference.cpu:.1f} s CPU")
    out = folder / "out-all"
    load = os.getloadavg()[0]
    timed = asyncio.run(timed_export(folder, out, "all"))
    documents = len(list(out.glob("protocol-*.html")) + list(out.glob("protocol-*.pdf")))
    pages = pages_of(out)
    say(
        f"documents (export --pdf all): {documents} in {timed.seconds:.1f} s, "
        f"{timed.cpu:.1f} s CPU ({timed.main_cpu:.1f} s this process, "
        f"{timed.workers_cpu:.1f} s the render workers; the machine was busy "
        f"{timed.machine_cpu:.0f} of {timed.seconds * (os.cpu_count() or 1):.0f} s), "
        f"{sum(pages.values())} PDF pages; load average at the start {load:.1f}"
    )
    for name, count in sorted(pages.items(), key=lambda kv: -kv[1])[:5]:
        say(f"  {name}: {count} pages")
    if args.profile:
        profile(out)
    if not args.no_readme:
        record(scope, documents, pages, timed, reference, load)
    print(
        f"protocols documents={documents} pages={sum(pages.values())} "
        f"seconds={timed.seconds:.1f} html_only_s={reference.seconds:.1f} target_s={TARGET_S}",
        flush=True,
    )
    return 0


def record(
    scope: str,
    documents: int,
    pages: dict[str, int],
    timed: Timed,
    reference: Timed,
    load: float,
) -> None:
    per_lang = {lang: sum(n for k, n in pages.items() if f".{lang}." in k) for lang in ("ru", "kk")}
    row: list[Any] = [
        time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        _revision(),
        scope,
        documents,
        f"{per_lang['ru']} / {per_lang['kk']}",
        max(pages.values(), default=0),
        f"{timed.seconds:.1f} s",
        f"{timed.cpu:.0f} s",
        f"{max(0.0, timed.machine_cpu - timed.cpu):.0f} s",
        f"{reference.seconds:.1f} s",
        f"{load:.1f}",
        machine(),
    ]
    append_row(README, MARKER, [str(x) for x in row])


def _revision() -> str:
    found = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return found.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())
