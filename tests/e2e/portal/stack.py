"""The services as ``uzdik serve <service>`` processes on PostgreSQL and Kafka (as
tests/e2e/test_processes.py starts them), the portal as ``uzdik serve portal`` beside them, and
an edition rehearsed up to admission through the demo's own HTTP steps.

A process reads its business clock once, at start (``UZDIK_CLOCK_START``; there is no
``PUT /clock`` outside the one-process ``uzdik serve``), and production settings (a JWKS URL:
a real identity provider) refuse a simulated clock. So the rehearsal runs in two starts of the
services on the dev issuer — one in the 2020 application window, one in the check period —
and the organiser extends the stage-I deadline (and the later ones, the calendar staying in
order) past today, so that the services, restarted to trust the provider, sit on the real clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import httpx

from demo.nominations import steps as nominations
from demo.scoring import steps as scoring
from demo.scoring.api import Board
from services.registry import SERVICES
from shared.auth import issue_dev_token
from shared.settings import Settings
from tests.conftest import ROOT
from tests.e2e.test_processes import (
    READY_TIMEOUT,
    UZDIK,
    Deployment,
    Process,
    eventually,
    free_port,
    stop_all,
    wait_ready,
)

APPLICATIONS = "2020-06-10T10:00:00"  # Asia/Almaty: the application window is open
ADMISSION = "2020-06-25T10:00:00"  # the window closed, the check period runs
REHEARSAL = ("nominations", "scoring")  # the services the rehearsal's commands go to
LATER_FIRST = ("defences", "materials", "finalists", "interviews", "stage_one")


@dataclass
class Rehearsed:
    edition_id: str
    board: Board  # the region's commission: its people (ids) and keys
    candidates: list[dict[str, Any]]  # scoring's view of the admitted candidates


def dev_bearer(
    sub: str, roles: list[str], region: str | None = None, commission: str | None = None
) -> dict[str, str]:
    """A dev-issuer token (the rehearsal's services accept it; the provider's do not)."""
    token = issue_dev_token(Settings(), sub, roles, region=region, commission=commission)
    return {"Authorization": f"Bearer {token}"}


def spawn(name: str, env: dict[str, str], port: int, logs: Path) -> Process:
    """``uzdik serve <name>`` on ``port``, its stdout and stderr in ``logs``."""
    stderr = logs / f"{name}.log"
    with (logs / f"{name}.out").open("wb") as out, stderr.open("wb") as err:
        popen = subprocess.Popen(
            [str(UZDIK), "serve", name],
            env={**env, "UZDIK_HTTP_PORT": str(port)},
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    return Process(name, port, popen, stderr)


def portal_env(env: dict[str, str], ports: dict[str, int], port: int) -> dict[str, str]:
    """``uzdik serve portal``'s settings: the services' URLs, its own public URL and secret."""
    urls = {
        f"UZDIK_PORTAL_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}"
        for name in ("nominations", "scoring", "survey", "reporting")
    }
    return {
        **env,
        **urls,
        "UZDIK_PORTAL_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "UZDIK_PORTAL_SESSION_SECRET": "portal-session-secret-" + "s" * 32,
    }


@asynccontextmanager
async def serving(
    env: dict[str, str],
    logs: Path,
    services: Sequence[str] = SERVICES,
    portal_port: int | None = None,
) -> AsyncIterator[Deployment]:
    """``services`` as processes (and the portal over them on ``portal_port``), all ready; all
    of them stopped on leaving, whatever happened."""
    logs.mkdir(parents=True, exist_ok=True)
    deployment = Deployment(env)
    ports = {name: free_port() for name in services}
    try:
        for name in services:
            deployment.processes[name] = spawn(name, env, ports[name], logs)
        if portal_port is not None:
            wired = portal_env(env, ports, portal_port)
            deployment.processes["portal"] = spawn("portal", wired, portal_port, logs)
        async with httpx.AsyncClient(timeout=15.0, trust_env=False) as client:
            await asyncio.gather(
                *(wait_ready(client, deployment[name]) for name in services),
                *([portal_ready(client, deployment["portal"])] if portal_port else []),
            )
        yield deployment
    finally:
        await stop_all(deployment)
        for process in deployment.processes.values():
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait(timeout=10)


async def portal_ready(client: httpx.AsyncClient, process: Process) -> None:
    """Until the portal answers ready with every service it calls up."""

    async def ready() -> bool:
        assert process.popen.poll() is None, f"the portal exited:\n{process.log_tail()}"
        try:
            r = await client.get(f"{process.base}/readyz")
        except httpx.TransportError:
            return False
        return r.status_code == 200 and r.json() == {"status": "ready", "down": []}

    await eventually(ready, "the portal's /readyz", timeout=READY_TIMEOUT)


@asynccontextmanager
async def clients(deployment: Deployment) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    made = {
        name: httpx.AsyncClient(base_url=p.base, timeout=30.0, trust_env=False)
        for name, p in deployment.processes.items()
    }
    try:
        yield made
    finally:
        for client in made.values():
            await client.aclose()


async def rehearse(env: dict[str, str], logs: Path, region: str, seed: int) -> Rehearsed:
    """An edition up to admission in ``region`` (one application per district), its stage-I
    deadline extended past today; scoring knows its candidates and the new deadline."""
    edition_id = str(uuid.uuid4())
    rng = Random(seed)
    async with (
        serving({**env, "UZDIK_CLOCK_START": APPLICATIONS}, logs / "applications", REHEARSAL) as up,
        clients(up) as api,
    ):
        await nominations.announce_2020(api["nominations"], dev_bearer, edition_id)
        await eventually(lambda: known(api["scoring"], edition_id), "scoring to hear of it")
        boards = await scoring.form_commissions(
            api["scoring"], dev_bearer, Random(rng.getrandbits(64)), edition_id, [region]
        )
        await nominations.submit_region_batch(
            api["nominations"], dev_bearer, edition_id, region, 1, Random(rng.getrandbits(64))
        )
    board = boards.regional[region]
    async with (
        serving({**env, "UZDIK_CLOCK_START": ADMISSION}, logs / "admission", REHEARSAL) as up,
        clients(up) as api,
    ):
        admitted, _ = await nominations.check_all(
            api["nominations"], dev_bearer, edition_id, region
        )
        assert admitted, "the rehearsal admitted no one"
        until = await extend_past_today(api["nominations"], edition_id)

        async def registered() -> list[dict[str, Any]]:
            ready = await known(api["scoring"], edition_id, stage_one=until)
            found = await scoring.candidates(api["scoring"], dev_bearer, board)
            return found if ready and len(found) == len(admitted) else []

        found = await eventually(registered, "scoring's candidates and the extended deadline")
    return Rehearsed(edition_id, board, found)


async def known(
    client: httpx.AsyncClient, edition_id: str, stage_one: datetime | None = None
) -> bool:
    """Whether scoring has consumed the announcement (and the stage-I deadline ``stage_one``)."""
    r = await client.get(f"/v1/editions/{edition_id}", headers=dev_bearer("auditor-1", ["auditor"]))
    assert r.status_code == 200, r.text
    view = r.json()
    if stage_one is None:
        return bool(view["known"])
    deadline = view["deadlines"].get("stage_one")
    return deadline is not None and datetime.fromisoformat(deadline) == stage_one


async def extend_past_today(client: httpx.AsyncClient, edition_id: str) -> datetime:
    """The organiser moves stage I's deadline (and every later one) past today; the new
    stage-I deadline."""
    today = datetime.now(UTC).replace(microsecond=0)
    moved = {step: today + timedelta(days=7 - i) for i, step in enumerate(LATER_FIRST)}
    for step in LATER_FIRST:
        body = {
            "step": step,
            "new_deadline": moved[step].isoformat(),
            "reason": "Репетиция портала на PostgreSQL и Kafka",
        }
        r = await client.post(
            f"/v1/editions/{edition_id}/deadline-extensions",
            json=body,
            headers=dev_bearer("organiser-1", ["organiser"]),
        )
        assert r.status_code == 201, r.text
    return moved["stage_one"]
