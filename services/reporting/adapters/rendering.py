"""PDFs are rendered off the event loop, in worker processes: a large protocol takes a fraction
of a second of CPU (hundreds of pages in a national edition), and a reporting process keeps
answering meanwhile (and renders several at
once on several cores). Spawned, not forked: a worker shares no connection or loop with the
service."""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from services.reporting.documents.protocol import render_pdf

_pool: ProcessPoolExecutor | None = None
NICE = 10  # the workers' scheduling priority below their service's (the CPU it leaves idle)


def workers() -> int:
    """``UZDIK_RENDER_PROCESSES``, else the cores this process may use."""
    wanted = os.environ.get("UZDIK_RENDER_PROCESSES", "")
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return max(1, len(os.sched_getaffinity(0)))


def _shared_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            workers(),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=os.nice,  # a PDF waits for the requests and commands, never they for it
            initargs=(NICE,),
        )
        atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
    return _pool


def shutdown() -> None:
    """Stop the workers (a process that ends without running its exit handlers would leave
    them behind). They hold nothing but the render in hand, cancelled: they are terminated
    rather than left to unload fpdf2 and the fonts (most of a second)."""
    global _pool
    pool, _pool = _pool, None
    if pool is None:
        return
    workers = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    for process in workers:
        process.join()


def warm() -> None:
    """Start the workers now rather than on the first PDF asked for: each imports fpdf2 and
    reads the fonts' metrics while the caller does something else."""
    pool = _shared_pool()
    for _ in range(workers()):
        pool.submit(_ready)


def _ready() -> None:
    from services.reporting.documents import pdf

    pdf.warm()  # once per worker, ahead of its first render


async def pdf(page: dict[str, Any], attachments: dict[str, bytes], at: str | None) -> bytes:
    """:func:`render_pdf` in a worker process."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_shared_pool(), render_pdf, page, attachments, at)
