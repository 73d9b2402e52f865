"""``uzdik token``, ``demo``, ``docs``: tokens for trying it, the demo edition, the API
documents."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.cli.common import (
    EXIT_FAILED,
    Refused,
    _settings,
    app,
    console,
    run_fast,
)
from shared.auth import ROLES, issue_dev_token
from shared.logging import configure_logging


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
    per_district: Annotated[int, typer.Option(help="Applications per district.", min=1)] = 4,
    responses: Annotated[int, typer.Option(help="Survey responses per nominee.", min=0)] = 12,
    pdf: Annotated[
        str, typer.Option(help="PDF protocols: all, finals (interviews, stage II) or none.")
    ] = "all",
    seed: Annotated[int, typer.Option(help="Random seed of the synthetic edition.")] = 2020,
    until: Annotated[
        str | None,
        typer.Option(
            help="Stop after this step: admission (commissions formed, candidates admitted: "
            "stage I left to people in the portal), surveys (stage I and the surveys done: "
            "the regional finals and stage II left to the portal) or 'regional final'.",
            metavar="STEP",
        ),
    ] = None,
    one_process: Annotated[
        bool,
        typer.Option(
            "--one-process",
            help="All the services on one event loop (by default each runs in a process of "
            "its own, so that every core works).",
        ),
    ] = False,
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

    if until not in (None, "admission", "surveys", "regional final"):
        raise Refused(f"--until {until!r}: one of admission, surveys, 'regional final'")
    configure_logging(json=False, level="WARNING")
    scale = Scale(
        regions=region or None, per_district=per_district, responses_per_survey=responses, seed=seed
    )
    from services.embedded_processes import ServiceProcessFailed

    try:
        code = run_fast(
            run_demo(
                _settings(),
                data_dir,
                fresh=fresh,
                console=Console(),
                scale=scale,
                pdf=pdf,
                until=until,
                processes=not one_process,
            )
        )
    except ServiceProcessFailed as exc:
        raise Refused(str(exc), EXIT_FAILED) from exc
    raise typer.Exit(code)


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
