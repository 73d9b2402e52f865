"""Progress for a person at a terminal: named steps, each with its count and its rate (rich)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


class Counting:
    """A rich progress display of named steps, each with its count and its rate."""

    def __init__(self, unit: str, out: Console) -> None:
        self.unit = unit
        self.bar = Progress(
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(bar_width=24),
            TextColumn("{task.completed:>10,} {task.fields[unit]}"),
            TextColumn("{task.fields[rate]:>10,.0f} {task.fields[unit]}/s"),
            TimeElapsedColumn(),
            console=out,
        )
        self.tasks: dict[str, tuple[Any, float]] = {}

    def __enter__(self) -> Counting:
        self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        for step in self.tasks:
            self.finish(step)
        self.bar.stop()

    def finish(self, step: str) -> None:
        """The step is done: its bar full, its time and rate frozen."""
        if step in self.tasks:
            task, _started = self.tasks[step]
            if not self.bar.tasks[task].finished:
                self.bar.update(task, total=self.bar.tasks[task].completed or 1)
                self.bar.stop_task(task)

    def tick(self, step: str, done: int, unit: str | None = None) -> None:
        """``done`` of ``step`` so far, counted in ``unit`` (the display's own by default)."""
        if step in self.tasks and self.bar.tasks[self.tasks[step][0]].finished:
            return
        if step not in self.tasks:
            task = self.bar.add_task(step, total=None, rate=0.0, unit=unit or self.unit)
            self.tasks[step] = (task, time.perf_counter())
        task, started = self.tasks[step]
        rate = done / max(time.perf_counter() - started, 1e-6)
        self.bar.update(task, completed=done, rate=rate)


class RequestSteps:
    """Counts the HTTP requests of ``clients`` per step (``begin(step)``), shown by a
    :class:`Counting` that a background task refreshes."""

    def __init__(self, counting: Counting, clients: Iterable[httpx.AsyncClient]) -> None:
        self.counting, self.requests, self.step, self.base = counting, 0, "", 0
        for client in clients:
            client.event_hooks.setdefault("response", []).append(self._count)
        self._refresh: asyncio.Task[None] | None = None

    async def _count(self, _: httpx.Response) -> None:
        self.requests += 1

    def begin(self, step: str) -> None:
        self.show()
        self.counting.finish(self.step)
        self.step, self.base = step, self.requests
        self.counting.tick(step, 0)
        if self._refresh is None:
            self._refresh = asyncio.get_running_loop().create_task(self._refreshing())

    def show(self) -> None:
        if self.step:
            self.counting.tick(self.step, self.requests - self.base)

    async def _refreshing(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self.show()

    async def close(self) -> None:
        self.show()
        self.counting.finish(self.step)
        if self._refresh is not None:
            self._refresh.cancel()
            with suppress(asyncio.CancelledError):
                await self._refresh
