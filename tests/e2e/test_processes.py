"""The deployment entry points as an operator runs them: four ``uzdik serve <service>``
processes (PostgreSQL + Kafka), commands over HTTP, reporting reading them back, structlog JSON
on stderr, Prometheus metrics, SIGTERM, then ``uzdik audit verify`` and ``uzdik replay``.

This is README "Running it distributed" as subprocesses. The business clock is the real one, so
the 2020 edition only proves the late refusal; an edition announced now (the 2020 figures moved
to today) takes the application.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.nominations.domain.figures import (
    build_announcement,
    default_edition_2020,
    load_figures,
)
from services.nominations.domain.values import ALMATY
from services.registry import SERVICES
from shared.auth import issue_dev_token
from shared.settings import Settings
from tests.conftest import ROOT
from tests.ports import free_port
from tests.unit.nominations.builders import questionnaire

UZDIK = ROOT / ".venv" / "bin" / "uzdik"
REGION = "190000000"  # Алматинская область
RURAL_DISTRICT = "193633000"  # Акдалинский с.о., Балхашский район
READY_TIMEOUT = 120.0  # several processes starting at once on two busy cores take their time
STOP_TIMEOUT = 15.0


@dataclass
class Process:
    service: str
    port: int
    popen: subprocess.Popen[bytes]
    stderr: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        text = self.stderr.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Deployment:
    env: dict[str, str]
    processes: dict[str, Process] = field(default_factory=dict)

    def __getitem__(self, service: str) -> Process:
        return self.processes[service]


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def process_env(database_url: str, kafka: str, prefix: str, data_dir: Path) -> dict[str, str]:
    """The operator's environment: one database per service through ``{service}``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("UZDIK_") and k.endswith("_DATABASE_URL"))
    }
    env.update(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka,
        UZDIK_TOPIC_PREFIX=prefix,
        UZDIK_LOG_JSON="1",
        UZDIK_LOG_LEVEL="INFO",
        UZDIK_HTTP_HOST="127.0.0.1",
        UZDIK_DATA_DIR=str(data_dir),
    )
    return env


def current_edition(edition_id: str) -> dict[str, Any]:
    """The 2020 figures moved to today: announced a minute ago, its window open three weeks."""
    figures = load_figures("edition-2020.json")
    now = datetime.now(ALMATY)
    cal = figures.calendar
    shift = now.date() - cal.announced_on
    moved = {
        name: getattr(cal, name) + shift
        for name in type(cal).model_fields
        if isinstance(getattr(cal, name), date)
    }
    figures = figures.model_copy(
        update={"year": now.year, "calendar": cal.model_copy(update=moved)}
    )
    command = build_announcement(figures, edition_id, announced_at=now - timedelta(minutes=1))
    return command.model_dump(mode="json")


def bearer(sub: str, roles: list[str], region: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_dev_token(Settings(), sub, roles, region=region)}"}


def start(deployment: Deployment, logs: Path) -> None:
    for service in SERVICES:
        port = free_port()
        stderr = logs / f"{service}.log"
        with (logs / f"{service}.out").open("wb") as out, stderr.open("wb") as err:
            popen = subprocess.Popen(
                [str(UZDIK), "serve", service],
                env={**deployment.env, "UZDIK_HTTP_PORT": str(port)},
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        deployment.processes[service] = Process(service, port, popen, stderr)


async def wait_ready(client: httpx.AsyncClient, process: Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise AssertionError(
                f"{process.service} exited with {process.popen.returncode} before it was ready:\n"
                f"{process.log_tail()}"
            )
        try:
            r = await client.get(f"{process.base}/readyz")
            if r.status_code == 200:
                assert r.json() == {"status": "ready", "service": process.service}
                return
            last = f"{r.status_code} {r.text}"
        except httpx.TransportError as exc:
            last = repr(exc)
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"{process.service} not ready in {READY_TIMEOUT} s ({last}):\n{process.log_tail()}"
    )


async def eventually(probe: Any, what: str, timeout: float = 20.0) -> Any:
    """Poll ``probe()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.2)


def log_lines(process: Process) -> tuple[list[dict[str, Any]], list[str]]:
    """(structlog JSON records, lines that are not one) of a process's stderr."""
    records, other = [], []
    for line in process.stderr.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            other.append(line)
            continue
        if isinstance(record, dict) and {"event", "level", "timestamp"} <= record.keys():
            records.append(record)
        else:
            other.append(line)
    return records, other


async def stop_all(deployment: Deployment) -> dict[str, tuple[int | None, float]]:
    """SIGTERM every process at once; each one's exit code (None: still running) and time."""
    sent = time.monotonic()
    for process in deployment.processes.values():
        process.popen.send_signal(signal.SIGTERM)

    async def exited(process: Process) -> tuple[int | None, float]:
        try:
            code = await asyncio.to_thread(process.popen.wait, STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - sent
        return code, time.monotonic() - sent

    codes = await asyncio.gather(*(exited(p) for p in deployment.processes.values()))
    return dict(zip(deployment.processes, codes, strict=True))


async def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [str(UZDIK), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


async def test_four_serve_processes_take_commands_report_them_and_stop_on_sigterm(
    tmp_path: Path, pg_admin_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    assert UZDIK.exists(), f"{UZDIK} missing: run `make venv`"
    stem = f"uzdik_t_{uuid.uuid4().hex[:10]}"
    base = pg_admin_url.rpartition("/")[0]
    for service in SERVICES:
        await admin(pg_admin_url, f'CREATE DATABASE "{stem}_{service}"')
    deployment = Deployment(
        process_env(f"{base}/{stem}_{{service}}", kafka_bootstrap, topic_prefix, tmp_path / "data")
    )
    problems: list[str] = []  # the checks that do not stop the run; all reported at the end
    try:
        start(deployment, tmp_path)
        async with httpx.AsyncClient(timeout=15.0, trust_env=False) as client:
            await asyncio.gather(*(wait_ready(client, p) for p in deployment.processes.values()))
            for process in deployment.processes.values():
                r = await client.get(f"{process.base}/healthz")
                assert r.status_code == 200, (process.service, r.text)

            await commands_and_read_back(client, deployment, problems)
            await metrics(client, deployment, topic_prefix, problems)

        stopped = await stop_all(deployment)
        for service, (code, seconds) in stopped.items():
            process = deployment[service]
            if code is None:
                problems.append(f"{service}: still running {STOP_TIMEOUT} s after SIGTERM")
            elif code not in (0, -signal.SIGTERM):
                problems.append(f"{service}: exit code {code} after SIGTERM:\n{process.log_tail()}")
            records, _ = log_lines(process)
            if not any(r["event"] == "service.stopped" for r in records):
                problems.append(
                    f"{service}: exited ({code}, {seconds:.1f} s) without its graceful stop "
                    "(no service.stopped log: runtime.stop() did not run)"
                )
        for process in deployment.processes.values():
            records, other = log_lines(process)
            assert records, f"{process.service}: no structlog JSON line on stderr"
            if other:
                problems.append(
                    f"{process.service}: stderr lines that are not structlog JSON: {other[:3]}"
                )

        verify = await run_cli(deployment.env, "audit", "verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        for service in ("nominations", "scoring", "survey"):
            assert f"ok   {service}: topic {topic_prefix}.{service}.events matches" in verify.stderr
        replayed = await run_cli(deployment.env, "replay")
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        report = json.loads(replayed.stdout.strip().splitlines()[-1])
        assert report["identical"] is True and report["events"] >= 3, report
    finally:
        for process in deployment.processes.values():
            if process.popen.poll() is None:
                process.popen.kill()
                process.popen.wait(timeout=10)
        for service in SERVICES:
            await admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{stem}_{service}" WITH (FORCE)')
    assert not problems, "\n".join(problems)


async def commands_and_read_back(
    client: httpx.AsyncClient, deployment: Deployment, problems: list[str]
) -> None:
    nominations, reporting = deployment["nominations"].base, deployment["reporting"].base
    organiser = bearer("organiser-1", ["organiser"])
    nominator = bearer(f"nominator-{REGION}", ["nominator"], REGION)
    auditor = bearer("auditor-1", ["auditor"])
    run = uuid.uuid4().hex[:8]

    # The 2020 edition, announced as the README does: its window closed in June 2020.
    old = str(uuid.uuid4())
    r = await client.post(
        f"{nominations}/v1/editions",
        headers=organiser,
        json=default_edition_2020(old).model_dump(mode="json"),
    )
    assert r.status_code == 201, r.text
    late = {"edition_id": old, "questionnaire": questionnaire().model_dump(mode="json")}
    r = await client.post(f"{nominations}/v1/applications", json=late, headers=nominator)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "application_late"

    # An edition announced now takes the application.
    edition_id = str(uuid.uuid4())
    announce_cid = f"e2e-announce-{run}"
    r = await client.post(
        f"{nominations}/v1/editions",
        json=current_edition(edition_id),
        headers={**organiser, "X-Correlation-ID": announce_cid},
    )
    assert r.status_code == 201, r.text
    submit_cid = f"e2e-submit-{run}"
    body = {
        "edition_id": edition_id,
        "questionnaire": questionnaire(rural_district_kato=RURAL_DISTRICT).model_dump(mode="json"),
    }
    r = await client.post(
        f"{nominations}/v1/applications",
        json=body,
        headers={**nominator, "X-Correlation-ID": submit_cid, "Idempotency-Key": run},
    )
    assert r.status_code == 201, r.text
    assert r.headers["X-Correlation-ID"] == submit_cid
    application_id = r.json()["id"]
    assert r.json()["status"] == "submitted"

    async def read(model: str, **params: str) -> list[dict[str, Any]]:
        r = await client.get(f"{reporting}/v1/read-models/{model}", headers=auditor, params=params)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def application() -> list[dict[str, Any]]:
        return [
            a
            for a in await read("applications", edition_id=edition_id)
            if a["application_id"] == application_id
        ]

    async def edition() -> list[dict[str, Any]]:
        return await read("editions", edition_id=edition_id)

    [app] = await eventually(application, "reporting's applications read model")
    assert (app["status"], app["region"], app["rural_district"]) == (
        "submitted",
        REGION,
        RURAL_DISTRICT,
    )
    [ed] = await eventually(edition, "reporting's editions read model")
    assert ed["edition_id"] == edition_id

    # The correlation id travels with the events through Kafka into reporting's audit trail.
    trail = await read("audit")
    by_cid = {e["correlation_id"]: e["event_type"] for e in trail}
    assert by_cid.get(announce_cid) == "EditionAnnounced", by_cid
    assert by_cid.get(submit_cid) == "ApplicationSubmitted", by_cid

    # ...and names the request in the service's own JSON log lines.
    records, _ = log_lines(deployment["nominations"])
    if not any(rec.get("correlation_id") == submit_cid for rec in records):
        problems.append(
            f"nominations: no stderr JSON line carries correlation_id={submit_cid!r} "
            f"(it logged only {sorted({rec['event'] for rec in records})})"
        )


async def metrics(
    client: httpx.AsyncClient, deployment: Deployment, prefix: str, problems: list[str]
) -> None:
    for process in deployment.processes.values():
        text = (await client.get(f"{process.base}/metrics")).text
        for name in ("uzdik_relay_backlog", "uzdik_consumer_lag"):
            if f"# TYPE {name} gauge" not in text:
                problems.append(f"{process.service}: /metrics does not expose {name}")
        backlog = f'uzdik_relay_backlog{{service="{process.service}"}}'
        if backlog not in text:
            problems.append(f"{process.service}: /metrics has no {backlog} sample")

    source = f'source="{prefix}.nominations.events"'
    for service, consumer in (("reporting", "reporting"), ("scoring", "scoring-intake")):
        sample = f'uzdik_consumer_lag{{consumer="{consumer}",{source}}}'

        async def lag(base: str = deployment[service].base, sample: str = sample) -> bool:
            return sample in (await client.get(f"{base}/metrics")).text

        try:
            await eventually(lag, f"{service}'s {sample}", timeout=10.0)
        except AssertionError as exc:
            problems.append(str(exc))
