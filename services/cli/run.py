"""``uzdik serve``, ``relay``, ``migrate``: running the services."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from services.cli.common import (
    DISTRIBUTED,
    Refused,
    _existing,
    _free_port,
    _reachable,
    _service,
    _settings,
    _settings_for,
    app,
    console,
    run_fast,
)
from services.registry import SERVICES, spec
from shared.logging import configure_logging


@app.command()
def serve(
    service: Annotated[
        str | None,
        typer.Argument(
            help=f"One of {', '.join(DISTRIBUTED)}: that service alone, distributed "
            "(needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL); or portal: the web portal over "
            "the services' URLs (UZDIK_PORTAL_<SERVICE>_URL). Without it, all five in one "
            "process, embedded, with the portal at /portal.",
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
    if service == "portal":
        _serve_portal(data_dir)
        return
    if service is not None:
        _serve_one(_service(service), data_dir, relay=relay, consume=consume)
        return
    _serve_embedded(data_dir)


def _serve_embedded(data_dir: Path | None) -> None:
    """All five in one process on the embedded databases (of ``data_dir``, or a new one)."""
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
    run_fast(serve_all(settings, folder, clock))


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


def _serve_portal(data_dir: Path | None) -> None:
    """The portal alone: pages over the services' HTTP APIs (it keeps no store)."""
    import asyncio

    from services.portal.serve import serve_portal

    if data_dir is not None:
        raise Refused("--data-dir is for the embedded system: the portal keeps no data")
    settings = _settings()
    configure_logging(json=settings.log_json, level=settings.log_level)
    try:
        asyncio.run(serve_portal(settings))
    except ValueError as exc:
        raise Refused(str(exc)) from exc


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
    run_fast(run(spec(service), settings, relay=relay, consume=consume))


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
    run_fast(run(relay_only, settings, relay=True, consume=False))


@app.command()
def migrate(
    service: Annotated[str, typer.Argument(help=f"One of {', '.join(DISTRIBUTED)}, or all.")],
) -> None:
    """Apply the migrations of a service (or all), then exit."""
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
