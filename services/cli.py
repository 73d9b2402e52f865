"""The ``uzdik`` command line: serve, relay, migrate, token, demo, replay, audit, docs.

A mistake or an unreachable service ends in one line on stderr and an exit code (README,
"Exit codes"); a traceback only with ``--debug``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
from collections.abc import Coroutine, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.progress import Counting
from services.registry import CHAINED, SERVICES, WRITERS, spec
from services.reporting.replay import EventSource
from shared.auth import ROLES, issue_dev_token
from shared.logging import configure_logging
from shared.settings import Settings

DISTRIBUTED = SERVICES  # what `serve SERVICE`, `relay` and `migrate` take

# Exit codes (README, "Exit codes").
EXIT_FAILED = 1  # the command ran and found a problem (a broken chain, a replay that differs)
EXIT_USAGE = 2  # a mistake in the command: unknown service, role, option; a missing folder
EXIT_UNREACHABLE = 3  # the database, Kafka or the HTTP port cannot be reached or taken
EXIT_CONFIG = 4  # a setting is refused (e.g. the rehearsal clock in production)
EXIT_BUG = 70  # anything else: an unexpected error (the traceback with --debug)

app = typer.Typer(
    help="uzdik: the Best Rural Akim competition, event-sourced.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)
audit_app = typer.Typer(
    help="Auditors' tools: verify the logs, print a candidate's trail.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


class Refused(Exception):
    """A person's mistake or an unreachable resource: one line for them, and an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


@app.callback()
def _root(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", envvar="UZDIK_DEBUG", help="Show the traceback of an unexpected error."
        ),
    ] = False,
) -> None:
    """uzdik: the Best Rural Akim competition, event-sourced."""
    # main() reads --debug itself: the traceback it shows is of whatever the command raised.


def _settings(**overrides: object) -> Settings:
    settings = Settings()
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _existing(data_dir: Path) -> Path:
    """A ``--data-dir`` the person named must exist: nothing is created for a typo."""
    if not data_dir.is_dir():
        raise Refused(
            f"--data-dir {data_dir}: no such folder (run `make demo` or `uzdik demo` to make "
            "one, or name an existing folder)"
        )
    return data_dir


def _settings_for(data_dir: Path | None, needs: Iterable[str] = ()) -> Settings:
    """``--data-dir`` means the embedded databases in that folder: DATABASE_URL and Kafka from
    the environment would otherwise win over it (``Settings.database_url_for``). The databases
    of ``needs`` must be there already: reading a folder never creates one."""
    if data_dir is None:
        return _settings()
    missing = [f"{name}.db" for name in needs if not (_existing(data_dir) / f"{name}.db").is_file()]
    if missing:
        raise Refused(
            f"--data-dir {data_dir} holds no {', '.join(missing)}: not a folder of uzdik's "
            "embedded databases (`make demo` writes one to .uzdik/demo)"
        )
    embedded = {
        "data_dir": _existing(data_dir),
        "database_url": None,
        "kafka_bootstrap_servers": None,
    }
    return _settings().model_copy(update=embedded)


def _service(name: str) -> str:
    if name not in DISTRIBUTED:
        raise Refused(f"unknown service {name!r}; one of {', '.join(DISTRIBUTED)}")
    return name


def _endpoint(host: str, port: int, what: str, setting: str) -> None:
    """Refuse at once, naming host and port, when nothing answers there."""
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise Refused(
            f"cannot reach {what} at {host}:{port} ({setting}): {reason}", EXIT_UNREACHABLE
        ) from exc


def _reachable(settings: Settings, services: Iterable[str], kafka: bool = True) -> None:
    """The databases (and Kafka) the command needs answer, or a line naming which does not."""
    from sqlalchemy.engine import make_url

    for name in services:
        url = make_url(settings.database_url_for(name))
        if url.get_backend_name() == "postgresql":
            own = f"UZDIK_{name.upper()}_DATABASE_URL"
            setting = own if os.environ.get(own) else "DATABASE_URL"
            host, port = url.host or "localhost", url.port or 5432
            _endpoint(host, port, "the database", setting)
            _login(url, f"{host}:{port}", setting)
    if kafka and settings.kafka_bootstrap_servers:
        for server in settings.kafka_bootstrap_servers.split(","):
            kafka_host, _, kafka_port = server.strip().rpartition(":")
            _endpoint(
                kafka_host or "localhost",
                int(kafka_port or 9092),
                "Kafka",
                "KAFKA_BOOTSTRAP_SERVERS",
            )


def _login(url: Any, where: str, setting: str) -> None:
    """The server answers; the role must log in and the database exist (`createdb` forgotten
    is the usual first mistake)."""
    import asyncpg

    async def attempt() -> None:
        conn = await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=url.database,
            timeout=10,
        )
        await conn.close()

    try:
        asyncio.run(attempt())
    except asyncpg.InvalidCatalogNameError as exc:
        raise Refused(
            f"the database {url.database!r} does not exist at {where} ({setting}); create it "
            f"(createdb -h {url.host} -p {url.port or 5432} -U {url.username} {url.database})",
            EXIT_UNREACHABLE,
        ) from exc
    except (asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidPasswordError) as exc:
        raise Refused(
            f"the database at {where} refused the login of {url.username!r} ({setting}): {exc}",
            EXIT_UNREACHABLE,
        ) from exc
    except (OSError, TimeoutError) as exc:
        raise Refused(
            f"cannot reach the database at {where} ({setting}): {exc}", EXIT_UNREACHABLE
        ) from exc


def _deployed(settings: Settings, name: str) -> bool:
    """Whether an optional service (notifications) has its database here; said when not."""
    if settings.database_url_for(name).startswith("sqlite"):
        found = (settings.data_dir / f"{name}.db").is_file()
    else:
        try:
            _reachable(settings, [name], kafka=False)
            found = True
        except Refused:
            found = False
    if not found:
        console.print(f"--   {name}: not deployed here (no database); not verified")
    return found


def _free_port(settings: Settings) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.http_host, settings.http_port))
        except OSError as exc:
            raise Refused(
                f"cannot listen on {settings.http_host}:{settings.http_port} "
                f"(UZDIK_HTTP_HOST, UZDIK_HTTP_PORT): {exc.strerror or exc}",
                EXIT_UNREACHABLE,
            ) from exc


@app.command()
def serve(
    service: Annotated[
        str | None,
        typer.Argument(
            help=f"One of {', '.join(DISTRIBUTED)}: that service alone, distributed "
            "(needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL). Without it, all five in one "
            "process, embedded.",
            show_default=False,
            metavar="[SERVICE]",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="All five in one process on the embedded databases of this existing folder "
            "(e.g. .uzdik/demo after make demo). Default: UZDIK_DATA_DIR (.uzdik), created "
            "if absent.",
            show_default=False,
            metavar="DIR",
        ),
    ] = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="The five services as five processes (PostgreSQL and Kafka), on ports "
            "UZDIK_HTTP_PORT + 1 to + 4 (8001-8004), their logs prefixed with their names.",
        ),
    ] = False,
    relay: Annotated[bool, typer.Option(help="Run the outbox relay in this process.")] = True,
    consume: Annotated[bool, typer.Option(help="Run the Kafka consumers in this process.")] = True,
) -> None:
    """Run the system's HTTP APIs.

    With no service: all five services in one process on one port (UZDIK_HTTP_PORT, 8000),
    on the embedded SQLite databases and the in-process bus, each API under its name
    (/nominations, /scoring, /survey, /reporting), the start page and the dev sign-in at /.
    With a service: that service's HTTP API, relay and consumers, on PostgreSQL and Kafka.
    With --all: the five of them as processes.
    """
    if all_:
        _serve_processes(service, data_dir)
        return
    if service is not None:
        _serve_one(_service(service), data_dir, relay=relay, consume=consume)
        return
    from services.allinone import serve_all
    from shared.clock import business_clock

    if data_dir is None:
        settings = _settings()
        if settings.kafka_bootstrap_servers or settings.database_url:
            raise Refused(
                "DATABASE_URL or KAFKA_BOOTSTRAP_SERVERS is set: name a service "
                "(uzdik serve nominations) to run it distributed, or pass --data-dir for the "
                "embedded system, or unset them"
            )
        folder = settings.data_dir
    else:
        folder = _existing(data_dir)
        settings = _settings_for(folder)
    if "UZDIK_HTTP_HOST" not in os.environ:
        # one person's system, with the dev sign-in: this machine only, unless asked
        settings = settings.model_copy(update={"http_host": "127.0.0.1"})
    _free_port(settings)
    # a person at a terminal reads lines, not JSON, unless UZDIK_LOG_JSON says otherwise
    human = "UZDIK_LOG_JSON" not in os.environ
    configure_logging(json=settings.log_json and not human, level=settings.log_level)
    folder.mkdir(parents=True, exist_ok=True)
    clock = business_clock(settings)
    where = "localhost" if settings.http_host in ("0.0.0.0", "::") else settings.http_host
    console.print(
        f"uzdik: all five services at http://{where}:{settings.http_port}/ "
        f"(data {folder}; business clock {clock.now().isoformat(timespec='seconds')}"
        f"{', simulated' if clock.simulated else ''}); Ctrl-C stops",
        highlight=False,
        soft_wrap=True,
    )
    _run_fast(serve_all(settings, folder, clock))


def _serve_processes(service: str | None, data_dir: Path | None) -> None:
    from services.supervisor import ports, run_all

    if service is not None or data_dir is not None:
        raise Refused("--all starts every service distributed: name no service and no --data-dir")
    settings = _settings()
    if not settings.kafka_bootstrap_servers:
        raise Refused(
            "`uzdik serve --all` runs the five services distributed and needs "
            "KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL (with {service}); `uzdik serve` with no "
            "service runs all five in one process, embedded"
        )
    _reachable(settings, SERVICES)
    for port in ports(settings.http_port).values():
        _free_port(settings.model_copy(update={"http_port": port}))
    raise typer.Exit(asyncio.run(run_all(settings.http_port)))


def _serve_one(service: str, data_dir: Path | None, relay: bool, consume: bool) -> None:
    from services.serve import serve as run

    if data_dir is not None:
        raise Refused(
            "--data-dir is for the embedded system: `uzdik serve --data-dir DIR` (no service)"
        )
    settings = _settings()
    if not settings.kafka_bootstrap_servers:
        raise Refused(
            f"`uzdik serve {service}` runs one service distributed and needs "
            "KAFKA_BOOTSTRAP_SERVERS (and DATABASE_URL); `uzdik serve` with no service runs "
            "all five in one process, embedded"
        )
    _reachable(settings, [service])
    _free_port(settings)
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
    service: Annotated[str, typer.Argument(help=f"One of {', '.join(DISTRIBUTED)}.")],
) -> None:
    """Run only a service's outbox relay (store to Kafka).

    It serves /healthz, /readyz and /metrics on the HTTP port: a process of its own beside
    `uzdik serve SERVICE --no-relay`, so that publishing never takes the API's CPU. One relay
    is active at a time; others wait.
    """
    from dataclasses import replace

    from services.serve import serve as run

    _service(service)
    settings = _settings()
    if not settings.kafka_bootstrap_servers:
        raise Refused("`uzdik relay` publishes to Kafka: set KAFKA_BOOTSTRAP_SERVERS")
    _reachable(settings, [service])
    _free_port(settings)
    configure_logging(json=settings.log_json, level=settings.log_level)
    relay_only = replace(spec(service), routers=lambda _ctx: [], fast_routes=lambda _ctx: [])
    _run_fast(run(relay_only, settings, relay=True, consume=False))


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help=f"One of {', '.join(DISTRIBUTED)}, or all.")],
) -> None:
    """Apply the database migrations of a service (or all) and exit."""
    from shared.runtime import ServiceRuntime

    names = list(DISTRIBUTED) if service == "all" else [_service(service)]
    _reachable(_settings(), names, kafka=False)

    async def run() -> None:
        for name in names:
            rt = ServiceRuntime(spec(name), _settings())
            await rt.migrate()
            await rt.store.close()
            console.print(f"{name}: migrated")

    asyncio.run(run())


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="Subject: the person's id.")],
    role: Annotated[
        list[str], typer.Option(help=f"A role, repeatable: {', '.join(sorted(ROLES))}.")
    ],
    region: Annotated[str | None, typer.Option(help="KATO code of the region.")] = None,
    commission: Annotated[str | None, typer.Option(help="Commission id.")] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    hours: Annotated[float, typer.Option(help="Lifetime in hours.")] = 8.0,
) -> None:
    """Print a token from the dev issuer.

    For local runs, the demo and tests only: production turns the dev issuer off
    (UZDIK_DEV_JWT_SECRET empty). Paste it into a service's Authorize button, or send it as
    Authorization: Bearer TOKEN.
    """
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
    data_dir: Annotated[
        Path, typer.Option(help="Where the embedded databases go.", metavar="DATA_DIR")
    ] = Path(".uzdik/demo"),
    fresh: Annotated[bool, typer.Option(help="Start from empty databases.")] = True,
    region: Annotated[
        list[str] | None,
        typer.Option(help="Only this region (KATO), repeatable; default all 17.", metavar="KATO"),
    ] = None,
    per_district: Annotated[int, typer.Option(help="Applications per district.")] = 4,
    responses: Annotated[int, typer.Option(help="Survey responses per nominee.")] = 12,
    pdf: Annotated[
        str, typer.Option(help="PDF protocols: finals (interviews, stage II), all or none.")
    ] = "finals",
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic edition.")] = 2020,
) -> None:
    """Run a whole synthetic 2020 edition, embedded.

    SQLite, nothing to start: applications, checks, stage I, surveys, the regional finals and
    stage II through the services' own HTTP commands on a simulated 2020 clock; protocols and
    ratings go to DATA_DIR/out. Afterwards `uzdik serve --data-dir DATA_DIR` browses it.
    """
    try:
        from demo.run import run_demo
        from demo.scenario import Scale
    except ModuleNotFoundError as exc:
        if exc.name not in ("demo", "demo.run", "demo.scenario"):
            raise
        raise Refused(
            "the demo is not part of this installation (the image ships the services only); "
            "run it from a checkout: `make demo`"
        ) from exc

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
    from shared.store.eventstore import open_store

    if settings.kafka_bootstrap_servers:
        from services.reporting.kafka_source import KafkaSource

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


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="Where docs/ lives.")] = Path("docs"),
) -> None:
    """Regenerate the integrators' contract.

    The JSON Schemas of the results topic and its AsyncAPI document, under OUT.
    """
    from services.reporting.contract import write

    for path in write(out):
        console.print(f"wrote {path}")


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
    from rich.table import Table

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
    columns = (
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
    table = Table(title=f"candidate {name or '(name unknown)'} ({cid}): {len(rows)} events")
    for column in columns:
        table.add_column(column)
    for row in rows:
        actor = str(row["actor"] or "")
        person = people.get(actor.split(" ", 1)[0])
        shown = {**row, "actor": f"{person}, {actor}" if person else actor}
        table.add_row(*(str(shown[c] or "") for c in columns))
    Console(width=240).print(table)
    if not rows:
        raise typer.Exit(EXIT_FAILED)


def main() -> None:
    """The ``uzdik`` entry point: a person sees one line and an exit code, never a traceback
    unless ``--debug`` (or UZDIK_DEBUG=1) asks for it."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("UZDIK_DEBUG", "") not in ("", "0")
    try:
        app()
    except Refused as exc:
        _say(str(exc))
        sys.exit(exc.code)
    except ValidationError as exc:
        if debug:
            raise
        _say(f"configuration refused: {_settings_error(exc)}")
        sys.exit(EXIT_CONFIG)
    except KeyError as exc:  # services.registry.spec: an unknown service name
        if debug:
            raise
        _say(str(exc.args[0]) if exc.args else str(exc))
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        _say(
            f"unexpected {type(exc).__name__}: {first}. Run `uzdik --debug "
            f"{' '.join(sys.argv[1:])}` for the traceback"
        )
        # tasks the failure left behind would print theirs at exit
        logging.getLogger("asyncio").disabled = True
        sys.exit(EXIT_BUG)


def _say(message: str) -> None:
    console.print(f"uzdik: error: {message}", highlight=False, markup=False, soft_wrap=True)


def _settings_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ()))
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"UZDIK_{field.upper()}: {message}" if field else message)
    return "; ".join(parts)
