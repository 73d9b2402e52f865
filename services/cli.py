"""The ``uzdik`` command line: serve, migrate, token, demo, replay, audit."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.registry import SERVICES, WRITERS, spec
from services.reporting.replay import EventSource
from shared.auth import ROLES, issue_dev_token
from shared.logging import configure_logging
from shared.settings import Settings

app = typer.Typer(
    help="uzdik — the Best Rural Akim competition, event-sourced.", no_args_is_help=True
)
audit_app = typer.Typer(help="Auditors' tools: verify the logs, print a candidate's trail.")
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    settings = Settings()
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _settings_for(data_dir: Path | None) -> Settings:
    """``--data-dir`` means the embedded databases in that folder: DATABASE_URL and Kafka from
    the environment would otherwise win over it (``Settings.database_url_for``)."""
    if data_dir is None:
        return _settings()
    embedded = {"data_dir": data_dir, "database_url": None, "kafka_bootstrap_servers": None}
    return _settings().model_copy(update=embedded)


@app.command()
def serve(
    service: Annotated[str, typer.Argument(help=f"one of {', '.join(SERVICES)}")],
    relay: Annotated[bool, typer.Option(help="run the outbox relay in this process")] = True,
    consume: Annotated[bool, typer.Option(help="run the Kafka consumers in this process")] = True,
) -> None:
    """Run a service: HTTP API, relay and consumers (distributed: PostgreSQL + Kafka)."""
    from services.serve import serve as run

    settings = _settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    _run_fast(run(spec(service), settings, relay=relay, consume=consume))


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """Run a server's coroutine on uvloop where it is installed (Linux wheels; same
    behaviour, a faster event loop), else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


@app.command()
def relay(
    service: Annotated[str, typer.Argument(help=f"one of {', '.join(SERVICES)}")],
) -> None:
    """Run only a service's outbox relay (store → Kafka), with /healthz, /readyz and /metrics
    on the HTTP port: a process of its own beside ``uzdik serve <service> --no-relay``, so that
    publishing never takes the API's CPU. One relay is active at a time; others wait."""
    from dataclasses import replace

    from services.serve import serve as run

    settings = _settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    relay_only = replace(spec(service), routers=lambda _ctx: [], fast_routes=lambda _ctx: [])
    _run_fast(run(relay_only, settings, relay=True, consume=False))


@app.command()
def migrate(service: Annotated[str, typer.Argument(help="service, or 'all'")]) -> None:
    """Apply the database migrations of a service (or all) and exit."""
    from shared.runtime import ServiceRuntime

    async def run() -> None:
        for name in SERVICES if service == "all" else [service]:
            rt = ServiceRuntime(spec(name), _settings())
            await rt.migrate()
            await rt.store.close()
            console.print(f"{name}: migrated")

    asyncio.run(run())


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="subject: the person's id")],
    role: Annotated[list[str], typer.Option(help=f"role(s): {', '.join(sorted(ROLES))}")],
    region: Annotated[str | None, typer.Option(help="KATO code of the region")] = None,
    commission: Annotated[str | None, typer.Option(help="commission id")] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    hours: Annotated[float, typer.Option(help="lifetime in hours")] = 8.0,
) -> None:
    """Issue a token from the dev issuer (local runs only)."""
    unknown = set(role) - ROLES
    if unknown:
        raise typer.BadParameter(f"unknown role(s) {sorted(unknown)}; one of {sorted(ROLES)}")
    print(
        issue_dev_token(
            _settings(), sub, role, region, commission, name, ttl=timedelta(hours=hours)
        )
    )


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Option(help="where the embedded databases go")] = Path(
        ".uzdik/demo"
    ),
    fresh: Annotated[bool, typer.Option(help="start from empty databases")] = True,
    region: Annotated[
        list[str] | None, typer.Option(help="only these regions (KATO); default all 17")
    ] = None,
    per_district: Annotated[int, typer.Option(help="applications per district")] = 4,
    responses: Annotated[int, typer.Option(help="survey responses per nominee")] = 12,
    pdf: Annotated[
        str, typer.Option(help="PDF protocols: finals (interviews, stage II), all, none")
    ] = "finals",
    seed: Annotated[int, typer.Option(help="random seed of the synthetic edition")] = 2020,
) -> None:
    """Run a whole 2020 edition in the embedded mode (SQLite, nothing to start)."""
    from services.demo import run_demo
    from services.scenario import Scale

    configure_logging(json=False, level="WARNING")
    scale = Scale(
        regions=region or None, per_district=per_district, responses_per_survey=responses, seed=seed
    )
    code = asyncio.run(
        run_demo(_settings(), data_dir, fresh=fresh, console=Console(), scale=scale, pdf=pdf)
    )
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]replay"),
        BarColumn(),
        TextColumn("{task.completed:,} events"),
        TextColumn("{task.fields[rate]:,.0f} ev/s"),
        TextColumn("lag {task.fields[lag]:,}"),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def replay(
    data_dir: Annotated[
        Path | None, typer.Option(help="embedded mode: the databases' folder")
    ] = None,
    swap: Annotated[bool, typer.Option(help="swap the rebuilt read models in")] = True,
) -> None:
    """Rebuild reporting's read models from offset zero of every log; prove they equal the
    live ones (a digest per read model), then swap them in."""
    from services.reporting.replay import replay as run_replay

    settings = _settings_for(data_dir)

    async def run() -> int:
        from shared.store.eventstore import EventStore

        reporting = EventStore("reporting", settings.database_url_for("reporting"))
        source = _source(settings)
        with _progress() as bar:
            task = bar.add_task("replay", total=None, rate=0.0, lag=0)

            def tick(done: int, total: int, rate: float) -> None:
                bar.update(task, completed=done, total=total, rate=rate, lag=total - done)

            report = await run_replay(source, reporting, tick, swap=swap)
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
    from shared.store.eventstore import EventStore

    if settings.kafka_bootstrap_servers:
        from services.reporting.kafka_source import KafkaSource

        return KafkaSource(
            settings.kafka_bootstrap_servers, [topic_for(s, settings.topic_prefix) for s in WRITERS]
        )
    return StoreSource([EventStore(s, settings.database_url_for(s)) for s in WRITERS])


@audit_app.command("verify")
def audit_verify(
    data_dir: Annotated[
        Path | None, typer.Option(help="embedded mode: the databases' folder")
    ] = None,
    service: Annotated[list[str] | None, typer.Option(help="only these services")] = None,
) -> None:
    """Recompute every service's hash chain (and, with Kafka, compare the topics); name the
    first discrepancy and exit non-zero."""
    from services.audit import verify_all

    settings = _settings_for(data_dir)
    ok = asyncio.run(verify_all(settings, service or list(WRITERS), console))
    raise typer.Exit(0 if ok else 1)


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="where docs/ lives")] = Path("docs"),
) -> None:
    """Regenerate the integrators' contract: JSON Schemas and the AsyncAPI document."""
    from services.reporting.contract import write

    for path in write(out):
        console.print(f"wrote {path}")


@audit_app.command("trail")
def audit_trail(
    candidate: Annotated[str, typer.Option(help="the candidate's id")],
    data_dir: Annotated[
        Path | None, typer.Option(help="embedded mode: the databases' folder")
    ] = None,
) -> None:
    """Print the history of a candidate's scores: every sheet, correction and decision."""
    from rich.table import Table

    from services.audit import candidate_trail
    from shared.store.eventstore import EventStore

    settings = _settings_for(data_dir)

    async def run() -> list[dict[str, object]]:
        store = EventStore("scoring", settings.database_url_for("scoring"))
        try:
            return await candidate_trail(store, candidate)
        finally:
            await store.close()

    rows = asyncio.run(run())
    table = Table(title=f"candidate {candidate}: {len(rows)} events")
    for column in (
        "position",
        "event",
        "occurred_at",
        "actor",
        "sitting",
        "kind",
        "total",
        "supersedes",
        "reason",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[c] or "")
                for c in (
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
            )
        )
    Console(width=240).print(table)
    if not rows:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
