"""The services as ``uzdik serve <service>`` processes on PostgreSQL and Kafka (as
tests/e2e/test_processes.py starts them), the portal as ``uzdik serve portal`` beside them, and
an edition rehearsed up to admission through the demo's own HTTP steps.

A process reads its business clock once, at start (``UZDIK_CLOCK_START``; only the
one-process ``uzdik serve`` has ``PUT /clock``), and production settings (a JWKS URL: a real
identity provider) refuse a simulated clock altogether. So the rehearsal — the demo's scenario,
as harness.py's — runs nominations and scoring in this process on the deployment's own
databases, topics and data directory, on a simulated 2020 clock; the organiser then extends the
stage-I deadline (and the later ones, the calendar staying in order) past today, so that the
processes, started afterwards to trust the provider, sit on the real clock.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from demo.scenario import Scale, Scenario, SimClock
from demo.scoring.api import Board, candidates
from services.registry import spec
from shared.auth import issue_dev_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.conftest import ROOT
from tests.e2e.test_processes import (
    UZDIK,
    Deployment,
    Process,
    eventually,
    free_port,
    stop_all,
)
from tests.harness import applied_count

REHEARSAL = ("nominations", "scoring")  # the services the rehearsal's commands go to
PORTAL_CALLS = ("nominations", "scoring", "survey", "reporting")  # the services the portal calls
STARTUP_TIMEOUT = 90.0  # five processes importing at once on a small, busy machine
LATER_FIRST = ("defences", "materials", "finalists", "interviews", "stage_one")


@dataclass
class Rehearsed:
    """The edition, stage I open on the real clock, waiting for the region's commission."""

    edition_id: str
    board: Board  # the region's commission: its people (ids) and keys
    candidates: list[dict[str, Any]]  # scoring's view of the admitted candidates
    names: dict[str, str]  # the commission's people by id, as scoring knows them


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
        for name in PORTAL_CALLS
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
    services: Sequence[str] = PORTAL_CALLS,
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
            await asyncio.gather(*(answers_ready(client, p) for p in deployment.processes.values()))
        yield deployment
    finally:
        await stop_all(deployment)
        for process in deployment.processes.values():
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait(timeout=10)


async def answers_ready(client: httpx.AsyncClient, process: Process) -> None:
    """Until ``process`` answers ready (the portal: with every service it calls up)."""

    async def ready() -> bool:
        code = process.popen.poll()
        assert code is None, f"{process.service} exited ({code}):\n{process.log_tail()}"
        try:
            r = await client.get(f"{process.base}/readyz")
        except httpx.TransportError:
            return False
        said = r.json() if r.status_code == 200 else {}
        return said.get("status") == "ready" and not said.get("down")

    await eventually(ready, f"{process.service}'s /readyz", timeout=STARTUP_TIMEOUT)


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


@asynccontextmanager
async def rehearsal_services(
    env: dict[str, str], clock: SimClock
) -> AsyncIterator[dict[str, ServiceRuntime]]:
    """Nominations and scoring in this process on the deployment's databases, topics and data
    directory, on ``clock`` (the processes' own clock is read once, at start)."""
    settings = Settings(
        kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
        topic_prefix=env["UZDIK_TOPIC_PREFIX"],
        data_dir=Path(env["UZDIK_DATA_DIR"]),
        relay_idle_seconds=0.02,
    )
    runtimes: dict[str, ServiceRuntime] = {}
    try:
        for name in REHEARSAL:
            url = env["DATABASE_URL"].replace("{service}", name)
            runtimes[name] = ServiceRuntime(spec(name), settings, url=url, clock=clock.now)
            await runtimes[name].start_distributed()
        yield runtimes
    finally:
        for runtime in runtimes.values():
            await runtime.stop()


async def rehearse(env: dict[str, str], region: str, seed: int) -> Rehearsed:
    """The demo's edition up to admission in ``region`` (one application per district), its
    stage-I deadline then extended past today; scoring knows the candidates and the deadline."""
    clock = SimClock()
    async with rehearsal_services(env, clock) as runtimes:
        api = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=rt.app), base_url=f"http://{name}"
            )
            for name, rt in runtimes.items()
        }
        try:
            settle = partial(settled, runtimes)
            scenario = Scenario(api, Settings(), clock=clock)
            scale = Scale(regions=[region], per_district=1, seed=seed, edition=str(uuid.uuid4()))
            outcome = await scenario.edition(scale, settle=settle, until="admission")
            assert outcome.admitted, "the rehearsal admitted no one"
            until = await extend_past_today(api["nominations"], outcome.edition_id)
            await settle()
            board = outcome.commissions.regional[region]
            assert await stage_one_deadline(api["scoring"], outcome.edition_id) == until
            found = await candidates(api["scoring"], dev_bearer, board)
            assert len(found) == outcome.admitted, found
            names = await people(api["scoring"], board)
        finally:
            for client in api.values():
                await client.aclose()
    return Rehearsed(outcome.edition_id, board, found, names)


async def people(client: httpx.AsyncClient, board: Board) -> dict[str, str]:
    """The names of the commission's members and secretary."""
    r = await client.get(
        f"/v1/commissions/{board.commission_id}", headers=dev_bearer("auditor-1", ["auditor"])
    )
    assert r.status_code == 200, r.text
    view = r.json()
    return {p["person_id"]: p["name"] for p in [*view["members"], view["secretary"]]}


async def settled(runtimes: dict[str, ServiceRuntime]) -> None:
    """Until both relays published everything and scoring applied every nominations event."""
    nominations, scoring = runtimes["nominations"], runtimes["scoring"]

    async def calm() -> bool:
        if await nominations.relay.backlog() or await scoring.relay.backlog():
            return False
        return await applied_count(scoring, "scoring-intake") >= await nominations.store.head()

    await eventually(calm, "scoring to apply every nominations event", timeout=60.0)


async def stage_one_deadline(client: httpx.AsyncClient, edition_id: str) -> datetime | None:
    """The stage-I deadline scoring holds for the edition (None: not heard of yet)."""
    r = await client.get(f"/v1/editions/{edition_id}", headers=dev_bearer("auditor-1", ["auditor"]))
    assert r.status_code == 200, r.text
    deadline = r.json()["deadlines"].get("stage_one")
    return None if deadline is None else datetime.fromisoformat(deadline)


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
