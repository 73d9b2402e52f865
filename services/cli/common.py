"""What every ``uzdik`` command shares: the application, exit codes, settings, reachability
checks."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from services.registry import SERVICES
from shared.settings import Settings

T = TypeVar("T")

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
    help="Verify the logs; print a candidate's trail.",
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


def run_fast(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop where it is installed (Linux wheels; same behaviour, a
    faster event loop), else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
