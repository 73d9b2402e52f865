"""SQLite for the embedded stores, run on the event loop's own thread.

aiosqlite runs every call (each statement, each ``fetchall``, each commit) on a thread of its
own and hands the result back through the event loop: a thread switch, a future and a wake-up of
the loop per call. The embedded deployment's statements are short reads and writes of a local
file (tens of microseconds; ``uzdik demo`` makes half a million calls), so the hand-over cost
many times the statement, and a writer holding its store's lock waited, between two of its
statements, for every other request the loop had queued meanwhile (``bench/README.md``, "The
demo"). :class:`InlineConnection` is aiosqlite's connection with the thread taken out: each call
runs at once, on the calling thread, and its coroutine completes without yielding to the loop.

What that asks of the embedded mode, which it already keeps: one process owns the files, and its
writes go through the store's one writer (``SqliteEventStore._writing``), so a statement never
waits for another connection's write lock while the loop is blocked (SQLite's own
``busy_timeout`` still covers a reader checkpointing, the only other case).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class _Inline:
    """Stands for aiosqlite's queue to its thread: what is put runs at once, and the future
    put beside it gets its outcome (SQLAlchemy's adapter sets the isolation level that way)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, every call run inline instead of on a worker thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _Inline()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start

    async def _connect(self) -> aiosqlite.Connection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> asyncio.Future[Any] | None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        try:
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        except RuntimeError:  # no loop (finalised at exit): nothing waits for it
            return None
        done.set_result(None)
        return done

    def __del__(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(path: str, timeout: float) -> Callable[[], Any]:
    """An ``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`: SQLite
    at ``path`` through :class:`InlineConnection`."""

    async def create() -> InlineConnection:
        connection = InlineConnection(
            partial(sqlite3.connect, path, timeout=timeout, check_same_thread=False)
        )
        await connection
        return connection

    return create
