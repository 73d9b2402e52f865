"""``uzdik serve --all``: the five services as five processes (Procfile-style), logs prefixed.

Each child is ``uzdik serve <service>`` with the same environment (PostgreSQL and Kafka) and
its own port: ``UZDIK_HTTP_PORT`` + 1, + 2, + 3, + 4 in the order nominations, scoring, survey,
reporting (8001-8004 by default). Their stdout and stderr lines come out on this process's
stdout as ``<service> | <line>``. SIGINT or SIGTERM stops them all (SIGTERM, then SIGKILL after
the grace period); one that exits on its own stops the others, and its exit code is ours.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from asyncio.subprocess import Process
from contextlib import suppress
from typing import TextIO

from services.registry import SERVICES

GRACE_SECONDS = 20.0
CHILD = [sys.executable, "-c", "from services.cli import main; main()"]


WIDTH = max(len(n) for n in SERVICES)  # the prefix column: every service's name and uzdik's


def ports(base: int) -> dict[str, int]:
    return {name: base + i for i, name in enumerate(SERVICES, start=1)}


async def _pump(name: str, process: Process, out: TextIO) -> None:
    assert process.stdout is not None
    async for raw in process.stdout:
        out.write(f"{name:<{WIDTH}} | {raw.decode('utf-8', errors='replace').rstrip()}\n")
        out.flush()


async def _start(base_port: int, out: TextIO) -> dict[str, Process]:
    children: dict[str, Process] = {}
    for name, port in ports(base_port).items():
        children[name] = await asyncio.create_subprocess_exec(
            *CHILD,
            "serve",
            name,
            env={**os.environ, "UZDIK_HTTP_PORT": str(port)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out.write(
            f"{'uzdik':<{WIDTH}} | {name} started on port {port} (pid {children[name].pid})\n"
        )
    out.flush()
    return children


async def _stop(processes: list[Process]) -> None:
    """SIGTERM to those still running; SIGKILL to those still running after the grace."""
    for process in processes:
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), GRACE_SECONDS)
    except TimeoutError:
        for process in processes:
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
        await asyncio.gather(*(p.wait() for p in processes))


async def run_all(base_port: int, out: TextIO = sys.stdout) -> int:
    """Start the five, wait for a signal or for one of them to exit, stop the rest."""
    children = await _start(base_port, out)
    pumps = [asyncio.create_task(_pump(n, p, out)) for n, p in children.items()]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waits = {asyncio.create_task(p.wait()): n for n, p in children.items()}
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopping, *waits], return_when=asyncio.FIRST_COMPLETED)
    first_exit = next((waits[t] for t in done if t in waits), None)
    await _stop(list(children.values()))
    await asyncio.gather(*pumps, return_exceptions=True)
    stopping.cancel()
    for name, process in children.items():
        out.write(f"{'uzdik':<{WIDTH}} | {name} exited with {process.returncode}\n")
    out.flush()
    if first_exit is not None:
        code = children[first_exit].returncode
        return code if code is not None and code > 0 else 1
    failed = [p.returncode for p in children.values() if p.returncode not in (0, -signal.SIGTERM)]
    return failed[0] if failed and failed[0] is not None else 0
