"""Group commit: the requests that arrive together are written by one call, each request
answered with its own result once the batch is committed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Counter, Histogram

T = TypeVar("T")


R = TypeVar("R")


BATCH_SIZE = Histogram(
    "uzdik_survey_batch_size",
    "Responses written per group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)


BATCH_RETRIES = Counter(
    "uzdik_survey_batch_retries",
    "Group-commit batches tried again (what they read went stale, or the connection was lost)",
)


BATCH_SECONDS = Histogram(
    "uzdik_survey_batch_seconds",
    "A group commit: whole (read, decide, write), and its write (the statement under the lock)",
    ["part"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class GroupCommit(Generic[T, R]):
    """Collects concurrent submissions and hands them to ``write`` in batches.

    At most ``in_flight`` batches are being written at a time; what arrives while none can
    start forms the next batch, written as soon as one finishes. A batch that can start at
    once waits for more submissions first: until they stop coming (``quiet``), at most
    ``linger`` (``quiet=0``: ``linger`` always). ``write`` returns one outcome per item, in
    order: a result, or an exception that becomes that item's answer.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        max_items: int = 500,
        linger: float = 0.002,
        quiet: float = 0.0,
        in_flight: int = 1,
    ) -> None:
        self._write = write
        self.max_items = max_items
        self.linger = linger
        self.quiet = quiet
        self.in_flight = max(1, in_flight)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._collector: asyncio.Task[None] | None = None
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.items = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop the submissions run on, asked once: CPython 3.11's ``get_running_loop``
        makes a ``getpid`` system call each time (~4 µs here, 1.9 % of the survey's CPU under
        load). Asked again only once that loop is closed (a later loop, as in tests)."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = self._running_loop().create_future()
        self._pending.append((item, future))
        self._start(fresh=True)
        return await future

    async def close(self) -> None:
        """Wait for the batches in flight and the queued ones."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start(self, fresh: bool) -> None:
        """Start a batch if one may start and none is being collected."""
        if self._collector is not None or not self._pending or self._running >= self.in_flight:
            return
        task = self._running_loop().create_task(self._batch(fresh))
        self._collector = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _collect(self) -> None:
        """Wait for more submissions: until none arrived for ``quiet`` seconds (the requests in
        flight have all been read), at most ``linger`` seconds, or ``max_items``."""
        if not self.quiet:
            await asyncio.sleep(self.linger)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger
        seen = -1
        while (count := len(self._pending)) != seen and count < self.max_items:
            left = deadline - loop.time()
            if left <= 0:
                return
            seen = count
            await asyncio.sleep(min(self.quiet, left))

    async def _batch(self, fresh: bool) -> None:
        try:
            if fresh and self.linger:
                await self._collect()
            batch = self._pending[: self.max_items]
            del self._pending[: self.max_items]
        finally:
            self._collector = None
        self._running += 1
        try:
            self._start(fresh=False)  # more than one batch's worth was waiting
            await self._settle(batch)
        finally:
            self._running -= 1
            self._start(fresh=False)  # what arrived meanwhile

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._write([item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutting down): no request is left waiting
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise
        self.batches += 1
        self.items += len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the client went away; the response is recorded all the same
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
