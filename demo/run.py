"""``uzdik demo``: a whole synthetic 2020 edition in the embedded mode (SQLite, nothing to
start), through the services' own HTTP commands, on a simulated 2020 clock; then the results,
protocols and ratings read back from reporting's projections."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Collection
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from demo.http import DemoStepFailed, gather
from demo.notify import DemoNotifications, PostOffice
from demo.scenario import Outcome, Scale, Scenario, SimClock, behind_local_proxy
from services.embedded import Embedded
from services.embedded_processes import ClockFile, EmbeddedProcesses
from services.progress import Counting, RequestSteps
from services.registry import SERVICES
from services.reporting.adapters import rendering
from shared.auth import issue_dev_token
from shared.settings import Settings


async def run_demo(
    settings: Settings,
    data_dir: Path,
    fresh: bool,
    console: Console,
    scale: Scale | None = None,
    pdf: str = "all",
    post: PostOffice | None = None,
    until: str | None = None,
    processes: bool = True,
) -> int:
    """``post``: the local mail server and webhook receiver the notifications go to (one of
    the demo's own when not given; a test passes its own to read what arrived).
    ``processes``: each service in a process of its own (every core at work); else all of
    them on this process's event loop."""
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    started = time.perf_counter()
    settings = behind_local_proxy(settings)
    data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the work
    if processes:
        clock = SimClock(share=ClockFile(data_dir / "clock", create=True))
        deployment: Embedded | EmbeddedProcesses = EmbeddedProcesses(
            settings, data_dir, clock=clock.share
        )
        how = f"{len(SERVICES)} processes"
    else:
        clock = SimClock()
        deployment = Embedded(settings, data_dir, clock=clock.now)
        how = "one process"
    console.print(
        f"[bold]uzdik demo[/bold]: the 2020 edition, embedded (SQLite, {how}), simulated clock"
    )
    with nullcontext(post) if post else PostOffice() as post:
        async with deployment as system:
            if pdf != "none":  # reporting's render workers start on an idle core
                await system.control("reporting", "warm")
            scenario = Scenario(system.clients, settings, console=console, clock=clock)
            notify = DemoNotifications(system, settings, post)
            await notify.use_post_office()
            await notify.subscribe()

            async def settle() -> int:  # who became known is reachable before being told
                delivered = await system.drain()
                await notify.reach_everyone()
                return delivered + await system.drain()

            with Counting("requests", console) as counting:
                steps = RequestSteps(counting, system.clients.values())
                out = data_dir / "out"
                early: asyncio.Task[dict[str, Any]] | None = None

                def on_step(name: str) -> None:
                    nonlocal early
                    steps.begin(name)
                    # stage I's sittings were signed and settled before the surveys: their
                    # protocols (the largest) are final, and written during the regional final,
                    # one at a time, on the core its commissions' sheets leave idle (the
                    # survey's residents keep this process itself busy)
                    if name == "regional final" and early is None:
                        early = asyncio.create_task(
                            export(
                                system,
                                settings,
                                out,
                                pdf=pdf,
                                concurrency=1,
                                ratings=False,
                                progress=lambda done, _: counting.tick(
                                    "documents", done, "documents"
                                ),
                            )
                        )

                scenario.on_step = on_step
                try:
                    outcome = await scenario.edition(scale or Scale(), settle=settle, until=until)
                    before: dict[str, Any] = {"documents": 0, "sittings": []}
                    if early is not None:
                        before = await early
                    # the documents are read from reporting, which follows nominations, scoring
                    # and the survey only: the notifications' step changes none of them, so the
                    # export (its PDFs on the render workers' core) runs beside it
                    began = time.perf_counter()
                    exporting = asyncio.create_task(
                        export(
                            system,
                            settings,
                            out,
                            pdf=pdf,
                            skip=set(before["sittings"]),
                            progress=lambda done, _: counting.tick(
                                "documents", before["documents"] + done, "documents"
                            ),
                        )
                    )
                    steps.begin("notifications")
                    try:
                        await notify.ceremony(outcome.republican_commission, clock.now())
                        await system.drain()
                        await notify.deliver()
                    except BaseException:
                        exporting.cancel()
                        raise
                    console.print(
                        f"  notifications: {time.perf_counter() - began:.1f} s (the export beside)"
                    )
                    steps.begin("export")
                    written = await exporting
                    console.print(
                        f"  export: {written['documents']} documents "
                        f"({len(written['sittings'])} sittings) in "
                        f"{time.perf_counter() - began:.1f} s (from the end of stage II, beside "
                        f"the notifications); {before['documents']} documents of "
                        f"{len(before['sittings'])} sittings signed in stage I written before"
                    )
                    written["documents"] += before["documents"]
                finally:
                    if early is not None and not early.done():
                        early.cancel()
                    await steps.close()
            show(console, outcome, written, data_dir, time.perf_counter() - started)
            handover = {
                "admission": ("stage I", "2020-06-29T10:00"),
                "surveys": ("the regional final and stage II", "2020-07-28T10:00"),
            }
            if until in handover:
                what, start = handover[until]
                console.print(
                    f"{what} is the commissions' now, in the portal: UZDIK_CLOCK_START="
                    f"{start} uzdik serve --data-dir {data_dir}, then "
                    "http://localhost:8000/portal/ (the dev sign-in lists the commissions' people)"
                )
            await notify.show(console)
    return 0


async def export(
    system: Embedded | EmbeddedProcesses,
    settings: Settings,
    out: Path,
    pdf: str,
    progress: Callable[[int, int], None] | None = None,
    skip: Collection[str] = (),
    concurrency: int | None = None,
    ratings: bool = True,
) -> dict[str, Any]:
    """Protocols (HTML ru+kk; PDF ru+kk of the finals, or all, or none) and ratings (CSV, XLSX),
    through reporting's API; ``progress(written, total)`` after each protocol's file. A stage-I
    protocol of a large region holds hundreds of sheets. ``skip``: sittings written already;
    ``concurrency``: requests at a time (by default enough to keep every render worker busy).
    The sittings written are in ``sittings``; ``protocols`` counts every sitting reporting
    has."""
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the work
    if pdf != "none":  # reporting's render workers start while the first pages are made
        await system.control("reporting", "warm")
    token = issue_dev_token(settings, "demo-auditor", ["auditor"])
    headers = {"Authorization": f"Bearer {token}"}
    client = system.clients["reporting"]
    listed = await _all(client, "/v1/read-models/protocols", headers)
    sittings = [p for p in listed if p["sitting_id"] not in skip]
    # the largest first, so that reporting's render workers finish together, not one of them
    # alone on the longest protocol at the end; a protocol's four files one after the other
    # (reporting renders each language's page once for its HTML and its PDF)
    sittings.sort(key=lambda p: -len(p.get("sheets") or {}))
    wanted = [
        (p["sitting_id"], lang, kind)
        for p in sittings
        for lang in ("ru", "kk")
        for kind in ("html", "pdf")
        if kind == "html"
        or pdf == "all"
        or (pdf == "finals" and p.get("stage") != "stage1_selection")
    ]
    written = 0
    if progress is not None:
        progress(0, len(wanted))

    async def write(item: tuple[str, str, str]) -> None:
        nonlocal written
        sid, lang, kind = item
        r = await client.get(f"/v1/protocols/{sid}.{kind}", params={"lang": lang}, headers=headers)
        if r.status_code != 200:
            raise DemoStepFailed(f"protocol {sid} ({kind}, {lang}): {r.status_code} {r.text[:300]}")
        (out / f"protocol-{sid}.{lang}.{kind}").write_bytes(r.content)
        written += 1
        if progress is not None:
            progress(written, len(wanted))

    # reporting renders PDFs in worker processes: keep each of them busy with one and the next
    # one's page ready (the pages are made in reporting's own process meanwhile)
    await gather(write, wanted, concurrency=concurrency or 2 * max(2, rendering.workers()))
    if ratings:
        for fmt in ("csv", "xlsx"):
            r = await client.get(f"/v1/ratings.{fmt}", headers=headers)
            (out / f"ratings.{fmt}").write_bytes(r.content)
    return {
        "dir": out,
        "protocols": len(listed),
        "sittings": [p["sitting_id"] for p in sittings],
        "documents": written,
    }


async def _all(client: Any, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = (await client.get(path, params=params, headers=headers)).json()
        items += page["items"]
        if not page.get("next"):
            return items
        params["after"] = page["next"]


def show(
    console: Console, o: Outcome, written: dict[str, Any], data_dir: Path, elapsed: float
) -> None:
    console.print(
        f"\napplications {o.applications}, admitted {o.admitted}, "
        f"rejected {len(o.rejected)}; survey responses {o.responses}"
    )
    reasons: dict[str, int] = {}
    for errors in o.rejected.values():
        for e in errors:
            reasons[e["code"]] = reasons.get(e["code"], 0) + 1
    console.print(
        "rejections by rule: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    )
    nominees = Table(title="Stage-I nominees per region (§12)")
    nominees.add_column("region")
    nominees.add_column("nominees", justify="right")
    nominees.add_column("first of them")
    for region, items in sorted(o.nominees.items()):
        first = items[0] if items else {}
        nominees.add_row(region, str(len(items)), str(first.get("name", "")))
    console.print(nominees)
    finalists = Table(title="Regional finalists (§16)")
    for column in ("region", "finalist", "regional total"):
        finalists.add_column(column)
    for region, f in sorted(o.finalists.items()):
        finalists.add_row(
            region, str(f.get("name", f.get("candidate_id"))), str(f.get("regional_total"))
        )
    console.print(finalists)
    winners = Table(title="The three winners (§21)")
    for column in ("place", "winner", "mean of Annex 7 sheets", "sum"):
        winners.add_column(column)
    for w in o.winners:
        winners.add_row(
            str(w.get("place")),
            str(w.get("name", w.get("candidate_id"))),
            str(w.get("mean")),
            str(w.get("sum")),
        )
    console.print(winners)
    console.print(
        f"protocols ({written['protocols']} sittings: HTML and PDF in ru and kk) and ratings "
        f"(CSV, XLSX): {written['dir']}"
    )
    console.print(
        f"event stores: {data_dir}/{{nominations,scoring,survey,reporting,notifications}}.db"
    )
    console.print(f"done in {elapsed:.1f} s")
    console.print(f"browse it: uzdik serve --data-dir {data_dir}, then http://localhost:8000")
