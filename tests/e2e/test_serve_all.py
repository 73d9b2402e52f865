"""``uzdik serve --all``: the five services as processes on PostgreSQL and Kafka, on ports
UZDIK_HTTP_PORT + 1..4, every line of their logs prefixed with the service's name; SIGINT
stops them all and the supervisor exits 0."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx

from services.registry import SERVICES
from services.supervisor import WIDTH
from tests import ports
from tests.e2e.test_processes import UZDIK, admin, process_env

READY_TIMEOUT = 120.0  # five processes starting at once on two busy cores take their time


def free_block(size: int = 5) -> int:
    """A base port whose next ``size - 1`` ports are free too."""
    for _ in range(50):
        base = ports.free_port()  # below the ephemeral range (tests/ports.py)
        if base + size >= 65535:
            continue
        try:
            probes = []
            for port in range(base, base + size):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise AssertionError("no block of free ports")


async def test_serve_all_runs_every_service_as_a_process_with_prefixed_logs_and_stops_them(
    tmp_path: Path, pg_admin_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    stem = f"uzdik_a_{uuid.uuid4().hex[:10]}"
    base_url = pg_admin_url.rpartition("/")[0]
    for service in SERVICES:
        await admin(pg_admin_url, f'CREATE DATABASE "{stem}_{service}"')
    env = process_env(f"{base_url}/{stem}_{{service}}", kafka_bootstrap, topic_prefix, tmp_path)
    base = free_block()
    env["UZDIK_HTTP_PORT"] = str(base)
    out = tmp_path / "all.out"
    with out.open("wb") as sink:
        popen = subprocess.Popen(  # noqa: ASYNC220 - started once, then polled over HTTP
            [str(UZDIK), "serve", "--all"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
            for offset, service in enumerate(SERVICES, start=1):
                deadline = time.monotonic() + READY_TIMEOUT
                while True:
                    assert popen.poll() is None, out.read_text()
                    try:
                        r = await client.get(f"http://127.0.0.1:{base + offset}/readyz")
                        if r.status_code == 200:
                            assert r.json()["service"] == service
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, out.read_text()[-4000:]
                    await asyncio.sleep(0.3)
    finally:
        popen.send_signal(signal.SIGINT)
        code = await asyncio.to_thread(popen.wait, 40)
    text = out.read_text()
    assert code == 0, text[-4000:]
    lines = [line for line in text.splitlines() if line.strip()]
    prefixes = {line.split(" | ", 1)[0].strip() for line in lines}
    assert prefixes <= {*SERVICES, "uzdik"}, prefixes
    for service in SERVICES:
        assert any(
            line.startswith(f"{service:<{WIDTH}} | {{") and "service.started" in line
            for line in lines
        ), f"{service}: no prefixed start line in\n{text[-4000:]}"
        assert f"{service} exited with 0" in text, text[-4000:]
    for service in SERVICES:
        await admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{stem}_{service}" WITH (FORCE)')
