"""The event store on SQLite (the embedded mode: one process owns the files). Its one writer
in process is the append lock; a batch is written in a transaction of that writer with the
same checks ``uzdik_write`` makes on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import StaleRead
from shared.events import Envelope
from shared.store import schema
from shared.store.batch import Batch, Written
from shared.store.canonical import GENESIS
from shared.store.docs import DocStore
from shared.store.eventstore import Clock, EventStore, UnitOfWork, utcnow
from shared.store.rows import StoredRow, row_to_envelope
from shared.store.sqlite_inline import inline_creator

_EVENT_COLUMNS = ", ".join(StoredRow._fields)
_RAW_STREAM_VERSION = "SELECT max(stream_version) FROM events WHERE stream_id = ?"
_RAW_STREAM_AFTER = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version > ? "
    "ORDER BY stream_version"
)
_RAW_HEAD = "SELECT global_position, hash FROM events ORDER BY global_position DESC LIMIT 1"
_RAW_CHUNK = 500  # keys per statement (SQLite's bound parameters are limited)


class SqliteUnitOfWork(UnitOfWork):
    """The hot reads (a stream, its version, the head, documents) go to the transaction's own
    sqlite3 connection as plain SQL: the calls run inline (``sqlite_inline``), and SQLAlchemy's
    layers around each statement cost several times the statement (``bench/README.md``, "The
    demo"). Writes whose failure means something (an event or a new document that exists) stay
    with SQLAlchemy, which names the failure."""

    def __init__(self, store: EventStore, conn: AsyncConnection) -> None:
        self._sqlite: sqlite3.Connection | None = None
        super().__init__(store, conn)

    def _doc_store(self, conn: AsyncConnection) -> DocStore:
        return DocStore(conn, raw=self.raw)

    async def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection under this unit of work's (inline: its calls run here)."""
        if self._sqlite is None:
            fairy = await self.conn.get_raw_connection()
            self._sqlite = fairy.driver_connection._conn  # type: ignore[union-attr]
        return self._sqlite

    async def stream_version(self, stream_id: str) -> int:
        found = (await self.raw()).execute(_RAW_STREAM_VERSION, (stream_id,)).fetchone()
        return int(found[0] or 0)

    async def load(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        rows = (await self.raw()).execute(_RAW_STREAM_AFTER, (stream_id, after_version))
        return [row_to_envelope(self.store.service, StoredRow(*r)) for r in rows.fetchall()]

    async def _documents(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        by_model: dict[str, list[str]] = {}
        for model, key in wanted:
            by_model.setdefault(model, []).append(key)
        found: dict[tuple[str, str], str] = {}
        raw = await self.raw()
        for model, keys in by_model.items():
            unique = sorted(set(keys))
            for start in range(0, len(unique), _RAW_CHUNK):
                chunk = unique[start : start + _RAW_CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = raw.execute(
                    f'SELECT "key", doc FROM documents WHERE model = ? AND "key" IN ({marks})',
                    (model, *chunk),
                )
                found.update({(model, key): doc for key, doc in rows.fetchall()})
        return found

    async def _take_lock(
        self, wanted: list[tuple[str, str]], names: list[str]
    ) -> tuple[tuple[int, str], dict[tuple[str, str], str], dict[str, int]]:
        # the store's writer lock is held already (see SqliteEventStore._writing)
        last = (await self.raw()).execute(_RAW_HEAD).fetchone()
        head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        docs = await self._documents(wanted)
        return head, docs, {name: await self.stream_version(name) for name in names}

    async def write(self, batch: Batch) -> Written:
        try:
            return await self._write(batch)
        except IntegrityError as exc:  # a new document that exists
            raise StaleRead(str(exc.orig)[:300]) from exc

    async def _write(self, batch: Batch) -> Written:
        await self.lock()
        wanted = [(m, k) for m, k, _ in batch.expect]
        found = await self._documents(wanted) if wanted else {}
        for model, key, text in batch.expect:
            if found.get((model, key)) != text:
                raise StaleRead(f"document {model}/{key} changed since it was read")
        envelopes = []
        for stream, rendered in batch.events:
            meta = rendered.metadata
            envelopes += await self.append(
                stream, None, [rendered], meta.actor, meta.correlation_id, deferred=True
            )
        positioned = [
            (m, f"{k}{envelopes[i].global_position:012d}", d) for m, k, d, i in batch.new_at
        ]
        await self.flush(new=[*batch.new, *positioned], put=batch.put)
        for model, key, values in batch.add:
            await self.add(model, key, values)
        rows = [
            {
                "global_position": e.global_position,
                "stream_version": e.stream_version,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in envelopes
        ]
        return Written(self.store.service, batch, rows)  # append() moved the head already


class SqliteEventStore(EventStore):
    """The event store of a service database in a SQLite file, written by this process only."""

    shared = False  # one process owns the file

    def __init__(self, service: str, url: str, clock: Clock = utcnow) -> None:
        super().__init__(service, url, clock)
        self._writer = asyncio.Lock()

    @staticmethod
    def _engine(url: str) -> AsyncEngine:
        path = sa.engine.make_url(url).database or ":memory:"
        # every statement on the loop's own thread (see shared/store/sqlite_inline.py)
        engine = create_async_engine(url, async_creator=inline_creator(path, timeout=60))

        @sa_event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return engine

    def _unit(self, conn: AsyncConnection) -> UnitOfWork:
        return SqliteUnitOfWork(self, conn)

    def _writing(self) -> AbstractAsyncContextManager[object]:
        return self._writer

    async def write(self, batch: Batch) -> Written:
        """A transaction of the store's one writer."""
        async with self.transaction() as uow:
            return await uow.write(batch)

    async def documents(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        async with self.reader() as uow:
            return await uow._documents(sorted(set(wanted)))

    async def read_rows(self, after: int = 0, limit: int = 1000) -> list[StoredRow]:
        ev = schema.events
        async with self.engine.connect() as conn:
            found = await conn.execute(
                sa.select(*(ev.c[name] for name in StoredRow._fields))
                .where(ev.c.global_position > after)
                .order_by(ev.c.global_position)
                .limit(limit)
            )
            return [StoredRow(*row) for row in found]

    async def head(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(sa.func.max(schema.events.c.global_position)))
            return int(value or 0)

    @asynccontextmanager
    async def leadership(self, name: str, stop: asyncio.Event) -> AsyncIterator[None]:
        """Only this process writes the file: there is no other process to lead."""
        yield
