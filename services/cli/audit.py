"""``uzdik replay`` and ``uzdik audit``: the auditors' commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Refused,
    _deployed,
    _progress,
    _reachable,
    _service,
    _settings_for,
    app,
    audit_app,
    console,
)
from services.progress import Counting
from services.registry import CHAINED, WRITERS
from services.reporting.replay import EventSource
from shared.settings import Settings


@app.command()
def replay(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Embedded mode: the existing folder of the databases (e.g. .uzdik/demo).",
            metavar="DIR",
        ),
    ] = None,
    swap: Annotated[bool, typer.Option(help="Swap the rebuilt read models in.")] = True,
) -> None:
    """Rebuild reporting's read models from the logs.

    Reads every log from offset zero, proves the rebuilt read models equal the live ones (a
    digest per read model), then swaps them in. Exit code 1 when they differ.
    """
    from services.registry import readers
    from services.reporting.replay import replay as run_replay

    settings = _settings_for(data_dir, needs=["reporting", *WRITERS])
    _reachable(settings, ["reporting", *WRITERS])

    async def run() -> int:
        from shared.store.eventstore import open_store

        reporting = open_store("reporting", settings.database_url_for("reporting"))
        source = _source(settings)
        with _progress() as bar:
            task = bar.add_task("replay", total=None, rate=0.0, lag=0)

            def tick(done: int, total: int, rate: float) -> None:
                bar.update(task, completed=done, total=total, rate=rate, lag=total - done)

            report = await run_replay(source, reporting, tick, swap=swap, readers=readers())
        await reporting.close()
        for model in sorted(set(report.rebuilt) | set(report.live)):
            same = "same" if report.rebuilt.get(model) == report.live.get(model) else "DIFFERENT"
            console.print(f"  {model:<14} {report.rebuilt.get(model, '-')[:16]}  {same}")
        print(
            json.dumps(
                {
                    "events": report.events,
                    "duplicates_skipped": report.duplicates,
                    "seconds": round(report.seconds, 3),
                    "events_per_s": round(report.events_per_s),
                    "identical": report.identical,
                    "differing": report.differing(),
                }
            )
        )
        return 0 if report.identical else 1

    raise typer.Exit(asyncio.run(run()))


def _source(settings: Settings) -> EventSource:
    from services.reporting.replay import StoreSource
    from shared.relay import topic_for
    from shared.store.eventstore import open_store

    if settings.kafka_bootstrap_servers:
        from services.reporting.adapters.kafka_source import KafkaSource

        return KafkaSource(
            settings.kafka_bootstrap_servers, [topic_for(s, settings.topic_prefix) for s in WRITERS]
        )
    return StoreSource([open_store(s, settings.database_url_for(s)) for s in WRITERS])


@audit_app.command("verify")
def audit_verify(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Embedded mode: the existing folder of the databases (e.g. .uzdik/demo).",
            metavar="DIR",
        ),
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="Only this service, repeatable.", metavar="SERVICE")
    ] = None,
) -> None:
    """Recompute every service's hash chain.

    With Kafka, the topics are compared with the stores too. The first discrepancy is named
    and the exit code is 1.
    """
    from services.audit import verify_all

    for name in service or []:
        _service(name)
    names = list(service or WRITERS)
    settings = _settings_for(data_dir, needs=names)
    _reachable(settings, names)
    if not service:  # the optional services' logs too, where they are deployed
        names += [n for n in CHAINED if n not in WRITERS and _deployed(settings, n)]
    with Counting("events", console) as counting:
        ok = asyncio.run(verify_all(settings, names, console, counting.tick))
    raise typer.Exit(0 if ok else 1)


@audit_app.command("trail")
def audit_trail(
    candidate: Annotated[
        str, typer.Option(help="The candidate's id, or a part of their name (any case).")
    ],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Embedded mode: the existing folder of the databases (e.g. .uzdik/demo).",
            metavar="DIR",
        ),
    ] = None,
) -> None:
    """Print the history of a candidate's scores.

    Every sheet, correction and decision, in order, with the people who acted by name. A name
    that fits several candidates lists them (exit code 2); none, or no event, exit code 1.
    """
    from services.audit import candidate_trail, directory, find_candidates
    from shared.store.eventstore import open_store

    settings = _settings_for(data_dir, needs=["scoring"])
    _reachable(settings, ["scoring"])

    async def lookup() -> tuple[list[tuple[str, str]], dict[str, str], list[dict[str, object]]]:
        store = open_store("scoring", settings.database_url_for("scoring"))
        try:
            candidates, people = await directory(store)
            found = find_candidates(candidates, candidate) or [(candidate, "")]
            rows = await candidate_trail(store, found[0][0]) if len(found) == 1 else []
            return found, people, rows
        finally:
            await store.close()

    found, people, rows = asyncio.run(lookup())
    if len(found) > 1:
        listing = Table(title=f"{len(found)} candidates match {candidate!r}: name one by id")
        listing.add_column("candidate id")
        listing.add_column("name")
        for cid, name in found:
            listing.add_row(cid, name)
        Console(width=160).print(listing)
        raise typer.Exit(EXIT_USAGE)
    ((cid, name),) = found
    if not rows and not name:
        raise Refused(f"no candidate with the id or a name containing {candidate!r}", EXIT_FAILED)
    Console(width=240).print(_trail_table(cid, name, rows, people))
    if not rows:
        raise typer.Exit(EXIT_FAILED)


TRAIL_COLUMNS = (
    "position",
    "event",
    "occurred_at",
    "actor",
    "sitting",
    "kind",
    "total",
    "supersedes",
    "reason",
)


def _trail_table(
    cid: str, name: str, rows: list[dict[str, object]], people: dict[str, str]
) -> Table:
    """The trail's events, each actor named by the directory where known."""
    table = Table(title=f"candidate {name or '(name unknown)'} ({cid}): {len(rows)} events")
    for column in TRAIL_COLUMNS:
        table.add_column(column)
    for row in rows:
        actor = str(row["actor"] or "")
        person = people.get(actor.split(" ", 1)[0])
        shown = {**row, "actor": f"{person}, {actor}" if person else actor}
        table.add_row(*(str(shown[c] or "") for c in TRAIL_COLUMNS))
    return table
