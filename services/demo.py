"""``uzdik demo``: an edition run end to end in the embedded mode, through the services' own
HTTP commands (in process), then read back from reporting's projections."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from services.embedded import Embedded
from services.scenario import Scenario
from shared.auth import issue_dev_token
from shared.settings import Settings


async def run_demo(settings: Settings, data_dir: Path, fresh: bool, console: Console) -> int:
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    started = time.perf_counter()
    async with Embedded(settings, data_dir) as system:
        scenario = Scenario(system.clients, settings, console=console)
        summary = await scenario.run(drain=system.drain)
        await system.drain()
        read = await read_models(system, settings)
    elapsed = time.perf_counter() - started
    show(console, summary, read, data_dir, elapsed)
    return 0


async def read_models(system: Embedded, settings: Settings) -> dict[str, list[dict[str, Any]]]:
    token = issue_dev_token(settings, "demo-auditor", ["auditor"])
    client = system.clients["reporting"]
    out: dict[str, list[dict[str, Any]]] = {}
    for model in ("editions", "commissions", "surveys"):
        r = await client.get(
            f"/v1/read-models/{model}", headers={"Authorization": f"Bearer {token}"}
        )
        r.raise_for_status()
        out[model] = r.json()["items"]
    return out


def show(
    console: Console,
    summary: dict[str, Any],
    read: dict[str, list[dict[str, Any]]],
    data_dir: Path,
    elapsed: float,
) -> None:
    table = Table(title="uzdik demo — read back from reporting's projections")
    table.add_column("read model")
    table.add_column("documents", justify="right")
    for model, items in read.items():
        table.add_row(model, str(len(items)))
    console.print(table)
    for line in summary.get("lines", []):
        console.print(line)
    console.print(f"databases: {data_dir}/*.db")
    console.print(f"done in {elapsed:.1f} s")


def new_id() -> str:
    return str(uuid.uuid4())
