"""``uzdik serve`` with nothing configured, as a new user runs it: a subprocess in an empty
folder (no DATABASE_URL, no Kafka), all five services on one port, a short 2020 edition
driven over HTTP on the rehearsal clock (UZDIK_CLOCK_START, moved with ``PUT /clock``)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from openpyxl import load_workbook

from demo.scenario import ALMATY, Scale, Scenario, SimClock
from services.registry import SERVICES
from shared.auth import issue_dev_token
from shared.settings import Settings
from tests.conftest import ROOT
from tests.ports import free_port

UZDIK = ROOT / ".venv" / "bin" / "uzdik"
READY_TIMEOUT = 120.0  # five processes starting at once on two busy cores take their time
STOP_TIMEOUT = 20.0
SCALE = Scale(regions=["110000000"], per_district=2, responses_per_survey=3, seed=11)


def bare_env(**extra: str) -> dict[str, str]:
    """The environment of someone who configured nothing."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("UZDIK_") and k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    env.update(extra)
    return env


@dataclass
class Served:
    base: str
    popen: subprocess.Popen[bytes]
    stderr: Path

    def tail(self) -> str:
        return "\n".join(self.stderr.read_text(errors="replace").splitlines()[-40:])


@asynccontextmanager
async def served(folder: Path, *args: str, **env: str) -> AsyncIterator[Served]:
    """``uzdik serve ARGS`` in ``folder`` on a free port; SIGINT at the end, exit 0 asserted."""
    port = free_port()
    stderr = folder.parent / f"{folder.name}-serve.log"
    with stderr.open("wb") as err:
        popen = subprocess.Popen(  # noqa: ASYNC220 - started once, then polled over HTTP
            [str(UZDIK), "serve", *args],
            env=bare_env(UZDIK_HTTP_HOST="127.0.0.1", UZDIK_HTTP_PORT=str(port), **env),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    process = Served(f"http://127.0.0.1:{port}", popen, stderr)
    try:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            deadline = time.monotonic() + READY_TIMEOUT
            while True:
                assert popen.poll() is None, f"exited {popen.returncode}:\n{process.tail()}"
                try:
                    if (await client.get(f"{process.base}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"not ready:\n{process.tail()}"
                await asyncio.sleep(0.3)
        yield process
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGINT)
        try:
            code = await asyncio.to_thread(popen.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            popen.kill()
            raise AssertionError(f"still running after SIGINT:\n{process.tail()}") from None
    assert code == 0, f"exit {code}:\n{process.tail()}"


class HttpClock(SimClock):
    """The scenario's clock, moved on the server: ``PUT /clock`` as the organiser."""

    def __init__(self, base: str, settings: Settings) -> None:
        super().__init__()
        token = issue_dev_token(settings, "organiser-1", ["organiser"])
        self.base, self.headers = base, {"Authorization": f"Bearer {token}"}

    def set(self, year: int, month: int, day: int, hour: int = 10) -> None:
        super().set(year, month, day, hour)
        r = httpx.put(
            f"{self.base}/clock",
            json={"now": self.current.isoformat()},
            headers=self.headers,
            trust_env=False,
        )
        assert r.status_code == 200, r.text
        assert r.json()["simulated"] is True


async def test_uzdik_serve_with_nothing_configured_runs_a_short_edition_on_the_rehearsal_clock(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    settings = Settings(_env_file=None)  # the dev issuer's defaults, as the subprocess has them
    async with served(
        folder,
        UZDIK_CLOCK_START="2020-05-30T09:00:00",
        UZDIK_SURVEY_TRUSTED_PROXIES="127.0.0.1/32",
        UZDIK_LOG_JSON="1",
    ) as system:
        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            start = (await client.get(f"{system.base}/clock")).json()
            assert start["simulated"] is True
            began = datetime.fromisoformat(start["now"]).astimezone(ALMATY)
            assert (began.year, began.month, began.day, began.hour) == (2020, 5, 30, 9)
            page = await client.get(f"{system.base}/")
            assert page.status_code == 200
            for name in SERVICES:
                assert f"/{name}/docs" in page.text
                r = await client.get(f"{system.base}/{name}/healthz")
                assert r.json() == {"status": "ok", "service": name}
            # the clock only moves forward, and only for an organiser
            organiser = HttpClock(system.base, settings).headers
            back = await client.put(
                f"{system.base}/clock", json={"now": "2019-01-01T00:00:00Z"}, headers=organiser
            )
            assert back.status_code == 409 and back.json()["code"] == "clock_backwards"
            nobody = await client.put(f"{system.base}/clock", json={"now": "2021-01-01T00:00Z"})
            assert nobody.status_code == 401

        clients = {
            name: httpx.AsyncClient(base_url=f"{system.base}/{name}", timeout=60.0, trust_env=False)
            for name in SERVICES
        }

        async def settle() -> None:
            async with httpx.AsyncClient(timeout=60.0, trust_env=False) as c:
                r = await c.post(f"{system.base}/bus/settle")
                assert r.status_code == 200, r.text

        try:
            scenario = Scenario(clients, settings, clock=HttpClock(system.base, settings))
            outcome = await scenario.edition(SCALE, settle=settle)
        finally:
            for c in clients.values():
                await c.aclose()
        assert outcome.applications > 0 and outcome.admitted > 0
        assert set(outcome.finalists) == {"110000000"}
        assert outcome.winners and outcome.winners[0]["place"] == 1

        async with httpx.AsyncClient(timeout=10.0, trust_env=False) as client:
            now = datetime.fromisoformat((await client.get(f"{system.base}/clock")).json()["now"])
            assert now.astimezone(ALMATY).date().isoformat() == "2020-09-15"
            auditor = issue_dev_token(settings, "auditor-1", ["auditor"])
            r = await client.get(
                f"{system.base}/reporting/v1/read-models/editions",
                headers={"Authorization": f"Bearer {auditor}"},
            )
            assert r.status_code == 200
            assert [e["edition_id"] for e in r.json()["items"]] == [outcome.edition_id]
    # the data stayed in the folder, one embedded database per service
    assert {p.name for p in (folder / ".uzdik").glob("*.db")} == {f"{s}.db" for s in SERVICES}


async def test_uzdik_serve_data_dir_serves_what_the_demo_produced(tmp_path: Path) -> None:
    folder = tmp_path / "cwd"
    folder.mkdir()
    demo = await asyncio.to_thread(
        subprocess.run,
        [str(UZDIK), "demo", "--region", "110000000", "--per-district", "1", "--responses", "2"],
        env=bare_env(),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    # progress: every step with its count of requests and its rate
    said = demo.stdout + demo.stderr
    for step in ("announce", "applications", "stage I", "regional final", "stage II", "export"):
        assert re.search(rf"^{step}\s.*\s[\d,]+ requests\s+[\d,]+ requests/s", said, re.M), said
    data = folder / ".uzdik" / "demo"
    verify = await asyncio.to_thread(
        subprocess.run,
        [str(UZDIK), "audit", "verify", "--data-dir", ".uzdik/demo"],
        env=bare_env(),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    for service in ("nominations", "scoring", "survey"):
        assert re.search(rf"^{service}\s.*\s[\d,]+ events\s+[\d,]+ events/s", verify.stderr, re.M)
    stores = {p: p.stat().st_size for p in data.glob("*.db")}
    settings = Settings()
    auditor = {"Authorization": f"Bearer {issue_dev_token(settings, 'auditor-1', ['auditor'])}"}
    async with served(folder, "--data-dir", ".uzdik/demo") as system:
        async with httpx.AsyncClient(base_url=system.base, timeout=30.0, trust_env=False) as c:
            start = await c.get("/")
            assert ".uzdik/demo" in start.text and "Dev sign-in" in start.text
            # the edition in a browser: winners and finalists by name, protocols to open
            assert "Лучший сельский аким" in start.text and "Winners" in start.text
            links = re.findall(r"href='(/browse/protocols/[^']+)'", start.text)
            assert links and any(link.endswith(".pdf") for link in links)
            for link in links[:3]:
                opened = await c.get(link.replace("&amp;", "&"))
                assert opened.status_code == 200, (link, opened.text[:300])
            csv = await c.get("/browse/ratings.csv")
            assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
            assert csv.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
            book = await c.get("/browse/ratings.xlsx")
            assert book.status_code == 200
            opened = load_workbook(io.BytesIO(book.content))
            assert opened.sheetnames == [
                "Выдвижение по районам",
                "Финалисты регионов",
                "Победители",
            ]
            for sheet in opened.worksheets:  # names, codes beside, numeric totals
                rows = list(sheet.iter_rows(min_row=2, values_only=True))
                assert rows, sheet.title
                assert all(isinstance(r[6], float | int) for r in rows), sheet.title
                assert all(r[0] and r[1] and r[0] != r[1] for r in rows), sheet.title
            outside = await c.get("/browse/read-models/applications")
            assert outside.status_code == 404  # only protocols and ratings are browsable
            clock = (await c.get("/clock")).json()
            assert clock["simulated"] is False  # browsing: the real clock
            editions = (await c.get("/reporting/v1/read-models/editions", headers=auditor)).json()
            assert len(editions["items"]) == 1 and editions["items"][0]["year"] == 2020
            protocols = await c.get("/reporting/v1/read-models/protocols", headers=auditor)
            assert protocols.status_code == 200 and protocols.json()["items"]
            sitting = protocols.json()["items"][0]["sitting_id"]
            page = await c.get(f"/reporting/v1/protocols/{sitting}.html", headers=auditor)
            assert page.status_code == 200 and "<html" in page.text.lower()
            token = await c.get("/dev/token", params={"sub": "me", "role": "auditor"})
            assert token.status_code == 200
            mine = await c.get(
                "/reporting/v1/read-models/editions",
                headers={"Authorization": f"Bearer {token.text}"},
            )
            assert mine.json() == editions
    # the demo's databases were served, not replaced
    assert set(data.glob("*.db")) == set(stores)
