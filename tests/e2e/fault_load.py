"""Steady load for the fault test: a few concurrent clients that POST commands at a modest rate
and retry what failed as a real client would — the same body with the same Idempotency-Key —
until it is acknowledged (2xx) or the test's time runs out. Every request is kept as an
:class:`Item`, so the test can ask afterwards what was acknowledged and what was not."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_PAUSE = 0.3


@dataclass
class Item:
    """One command a client wants acknowledged, whatever it takes."""

    name: str  # for failure messages: which item
    service: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    key: str  # the Idempotency-Key, the same on every attempt
    impatience: float | None = None  # the first attempt gives up this soon (answer lost)
    reached: bool = False  # an attempt reached the server (only that one is impatient)
    attempts: int = 0
    answer: dict[str, Any] | None = None  # the body of the 2xx
    replayed: bool = False  # the 2xx was the stored answer of an earlier attempt
    refused: str | None = None  # a refusal that retrying cannot change (a bug here)
    failures: Counter[str] = field(default_factory=Counter)  # why attempts failed

    @property
    def acknowledged(self) -> bool:
        return self.answer is not None


def retryable(status: int, code: str | None) -> bool:
    """What a client retries: the service down or overloaded, or a lost race on a stream."""
    return status >= 500 or status == 429 or code == "concurrency_conflict"


@dataclass
class Load:
    """``workers`` clients taking items from ``source``, one every ``interval`` seconds each,
    until the source runs dry or :meth:`stop` is called; each item is retried until
    acknowledged, refused for good, or ``deadline`` (monotonic) passes."""

    clients: dict[str, httpx.AsyncClient]  # by service (a restarted process keeps its port)
    source: Iterator[Item]
    workers: int
    interval: float
    deadline: float
    items: list[Item] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]

    def stop(self) -> None:
        """No new items; the ones under way are still retried until acknowledged."""
        self._stopping.set()

    def burst(self, n: int, impatience: float | None = None) -> None:
        """``n`` more items at once, all in flight together: a rush of clients at the moment of
        a fault, so that some requests are cut off before, during and after their commit.
        ``impatience``: each first attempt stops waiting for its answer after that many
        seconds, as a client on a bad line does — the work done, the answer lost."""
        for _ in range(n):
            item = next(self.source, None)
            if item is None:
                return
            item.impatience = impatience
            self.items.append(item)
            self._tasks.append(asyncio.create_task(self._deliver(item)))

    async def finished(self) -> None:
        await asyncio.gather(*self._tasks)

    async def cancel(self) -> None:
        """Abandon everything under way (the test failed)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def acknowledged(self) -> list[Item]:
        return [i for i in self.items if i.acknowledged]

    def summary(self) -> str:
        failures: Counter[str] = Counter()
        for item in self.items:
            failures.update(item.failures)
        replayed = sum(i.replayed for i in self.items)
        return (
            f"{len(self.items)} sent, {len(self.acknowledged)} acknowledged "
            f"({replayed} by a replayed answer), failed attempts {dict(failures)}"
        )

    async def _worker(self) -> None:
        while not self._stopping.is_set():
            item = next(self.source, None)
            if item is None:
                return
            self.items.append(item)
            await self._deliver(item)
            await asyncio.sleep(self.interval)

    async def _deliver(self, item: Item) -> None:
        client = self.clients[item.service]
        headers = {**item.headers, "Idempotency-Key": item.key}
        while time.monotonic() < self.deadline:
            item.attempts += 1
            # impatient until an attempt reaches the server: one that found the service down
            # (restarting under a loaded machine) sent nothing and tested nothing
            impatient = None if item.reached else item.impatience
            # sent in full, then hardly waited for: the server does the work, the answer is lost
            timeout = (
                httpx.USE_CLIENT_DEFAULT
                if impatient is None
                else httpx.Timeout(10.0, read=impatient)
            )
            try:
                r = await client.post(item.path, json=item.body, headers=headers, timeout=timeout)
            except httpx.TransportError as exc:
                item.failures[type(exc).__name__] += 1
                item.reached = not isinstance(exc, httpx.ConnectError)
            else:
                item.reached = True
                if r.is_success:
                    item.answer = r.json()
                    item.replayed = r.headers.get("Idempotent-Replayed") == "true"
                    return
                code = _code(r)
                if not retryable(r.status_code, code):
                    item.refused = f"{r.status_code} {code}: {r.text[:500]}"
                    return
                item.failures[f"{r.status_code} {code}"] += 1
            await asyncio.sleep(RETRY_PAUSE)


def _code(r: httpx.Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
