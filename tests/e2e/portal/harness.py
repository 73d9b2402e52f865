"""The portal in a real browser: the embedded system (``uzdik serve``'s one process) on a
rehearsal clock, an edition prepared up to admission by the demo's own HTTP steps, served by
uvicorn on a free port in the test's event loop; Playwright drives Debian's Chromium.

Artifacts (screenshots per page at phone and desktop width, axe reports) go to
``.artifacts/portal/`` at the repository's root (``UZDIK_ARTIFACTS`` to change it)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from demo.scenario import ALMATY, Outcome, Scale, Scenario, behind_local_proxy
from services.allinone import OneSystem
from shared.clock import BusinessClock
from shared.settings import Settings
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(os.environ.get("UZDIK_ARTIFACTS", ROOT / ".artifacts")) / "portal"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
HANDOVER = {  # where people take over
    "applications": (2020, 6, 25),
    "admission": (2020, 6, 29),
    "stage I": (2020, 7, 5),
    "surveys": (2020, 7, 28),
}
DESKTOP = {"width": 1280, "height": 900}


class Rehearsal(BusinessClock):
    """The business clock the scenario moves (``set``) and the services read."""

    def set(self, year: int, month: int, day: int, hour: int = 10) -> None:
        self.move_to(datetime(year, month, day, hour, tzinfo=ALMATY))


@dataclass
class Running:
    url: str  # the portal's base URL (…/portal)
    system: OneSystem
    clock: Rehearsal
    outcome: Outcome
    settings: Settings
    data_dir: Path
    facts: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def serving(system: OneSystem, port: int | None = None) -> AsyncIterator[str]:
    """``system`` on ``port`` (a free one) in this event loop, tailing its bus; its root URL."""
    port = port or free_port()
    config = uvicorn.Config(
        system,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    stop = asyncio.Event()
    tail = asyncio.create_task(system.tail(stop))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the embedded system did not start serving within 10 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        stop.set()
        await tail


@asynccontextmanager
async def rehearsal(
    data_dir: Path,
    regions: list[str],
    per_district: int,
    settings: Settings | None = None,
    until: str = "admission",
    handover: tuple[int, ...] | None = None,
) -> AsyncIterator[Running]:
    """An edition announced, commissions formed, applications checked and admitted (the
    demo's steps over HTTP); the clock at the start of stage I (29 June 2020). With
    ``until="surveys"``: stage I and the surveys done too, the clock at the regional finals
    (28 July 2020). ``handover``: another moment to hand over at (year, month, day, hour), no
    earlier than the last step's."""
    settings = behind_local_proxy(settings or Settings())
    clock = Rehearsal(start=datetime(2020, 5, 29, tzinfo=ALMATY))
    system = OneSystem(settings, data_dir, clock)
    async with system.embedded:
        scenario = Scenario(system.embedded.clients, settings, clock=clock)  # type: ignore[arg-type]
        outcome = await scenario.edition(
            Scale(regions=regions, per_district=per_district),
            settle=system.settle,
            until=until,
        )
        clock.set(*(handover or HANDOVER[until]))
        async with serving(system) as root:
            yield Running(root + "/portal", system, clock, outcome, settings, data_dir)


async def launch(pw: Any) -> Any:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh")
    return await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)


async def keep(page: Any, name: str) -> None:
    """A screenshot of the page at phone and desktop width, kept as an artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for tag, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        await page.set_viewport_size(viewport)
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{tag}.png"), full_page=True)
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"{name} is {wide} px wide at {tag} width"
    await page.set_viewport_size(size)


async def accessible(page: Any, name: str) -> None:
    """axe-core on the page: no serious or critical violation (the report kept)."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}-axe.txt").write_text(results.generate_snapshot() or "no violations\n")
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    details = [(v["id"], v["impact"], [n["html"][:120] for n in v["nodes"][:3]]) for v in bad]
    assert not bad, f"{name}: accessibility violations {details}"
