"""The event store on SQLite (the embedded mode: one process owns the files). Its one writer
in process is the append lock; a batch is written in a transaction of that writer with the
same checks ``uzdik_write`` makes on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import StaleRead
from shared.store import schema
from shared.store.batch import Batch, Written
from shared.store.canonical import GENESIS
from shared.store.eventstore import Clock, EventStore, UnitOfWork, utcnow
from shared.store.rows import StoredRow
from shared.store.sqlite_inline import inline_creator

HEAD = (
    sa.select(schema.events.c.global_position, schema.events.c.hash)
    .order_by(schema.events.c.global_position.desc())
    .limit(1)
)


class SqliteUnitOfWork(UnitOfWork):
    async def _take_lock(
        self, wanted: list[tuple[str, str]], names: list[str]
    ) -> tuple[tuple[int, str], dict[tuple[str, str], str], dict[str, int]]:
        # the store's writer lock is held already (see SqliteEventStore._writing)
        last = (await self.conn.execute(HEAD)).first()
        head = (last.global_position, last.hash) if last else (0, GENESIS)
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
