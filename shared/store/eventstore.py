"""Append-only event store with optimistic concurrency, a global position and a hash chain.

The port every service writes and reads its log through: :class:`EventStore` (append with an
expected version, read a stream, read after a position, write a batch) and its
:class:`UnitOfWork` (one transaction: appends, read models, and what a consumer applied, in the
effect's transaction). One class per backend implements what differs — how the append lock is
taken and the head read, how a batch is written, how rows are read fast — without a branch on
the dialect inside a method: :mod:`shared.store.postgres` and :mod:`shared.store.sqlite`.
:func:`open_store` picks the backend by the database URL.

Appends in one service database are serialised (PostgreSQL: a transaction-level advisory lock;
SQLite: one writer in process), so positions are gapless and become visible in order — which is
what lets tailers and the relay read "everything after position N" safely.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.errors import ConcurrencyError, ConnectionLost, TransactionConflict
from shared.events import Actor, Envelope, Event
from shared.store import schema
from shared.store.batch import Batch, Doc, Written, add_counts
from shared.store.canonical import canonical_json
from shared.store.docs import DocStore
from shared.store.lookup import rows_by_keys
from shared.store.rendering import NewEvent, Rendered, render
from shared.store.rows import StoredRow, placed, row_to_envelope
from shared.store.tracking import Applied

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Locked:
    """What :meth:`UnitOfWork.lock` read once the append lock was held."""

    documents: dict[tuple[str, str], str]  # (model, key) → the stored document's text
    versions: dict[str, int]  # stream → its current version (0: no event yet)


_ev = schema.events.c
# built once (see shared/store/docs.py, _Statements)
STREAM_VERSION = sa.select(sa.func.max(_ev.stream_version)).where(
    _ev.stream_id == sa.bindparam("b_stream")
)
STREAM_AFTER = (
    sa.select(schema.events)
    .where(_ev.stream_id == sa.bindparam("b_stream"), _ev.stream_version > sa.bindparam("b_after"))
    .order_by(_ev.stream_version)
)
INSERT_EVENTS = schema.events.insert()
INSERT_DOCUMENTS = schema.documents.insert()

GIVE_WAY = frozenset({"40P01", "40001"})  # deadlock broken, serialization failure: run again


class UnitOfWork(ABC):
    """One transaction on a service database: append events, write read models, track."""

    def __init__(self, store: EventStore, conn: AsyncConnection) -> None:
        self.store = store
        self.conn = conn
        self.docs = self._doc_store(conn)
        self._head: tuple[int, str] | None = None
        self._versions: dict[str, int] = {}  # streams' versions known under the lock
        self._deferred: list[dict[str, Any]] = []  # event rows appended, not yet written
        self.appended: list[Envelope] = []

    # -- what each backend does its own way

    def _doc_store(self, conn: AsyncConnection) -> DocStore:
        """The read models' store of this unit of work (a backend may read them its own way)."""
        return DocStore(conn)

    @abstractmethod
    async def _take_lock(
        self, wanted: list[tuple[str, str]], names: list[str]
    ) -> tuple[tuple[int, str], dict[tuple[str, str], str], dict[str, int]]:
        """Take the append lock; return the log's head (position, hash), the ``wanted``
        documents that exist and the versions of the streams ``names``."""

    @abstractmethod
    async def write(self, batch: Batch) -> Written:
        """:meth:`EventStore.write` in this transaction (the lock is taken if not held yet):
        a writer that read under the lock what it decided on cannot go stale."""

    # -- the same everywhere

    async def _lock_head(self) -> tuple[int, str]:
        if self._head is None:
            await self.lock()
        assert self._head is not None
        return self._head

    async def lock(
        self, documents: Iterable[tuple[str, str]] = (), streams: Iterable[str] = ()
    ) -> Locked:
        """Take the service's append lock now (before reading what a decision depends on,
        e.g. a uniqueness check across streams); it is held until the transaction ends.

        Under it, read the ``documents`` (model, key) and the ``streams``' versions (on
        PostgreSQL in the very round trip that takes the lock). A later :meth:`append` to
        one of ``streams`` checks its expected version against the version read here."""
        wanted, names = sorted(set(documents)), sorted(set(streams))
        if self._head is None:
            self._head, docs, versions = await self._take_lock(wanted, names)
        else:  # held already: read under it
            docs = await self._documents(wanted)
            versions = {name: await self.stream_version(name) for name in names}
        for name, version in versions.items():  # rows appended deferred are not in the table
            self._versions.setdefault(name, version)
        return Locked(docs, {name: self._versions[name] for name in versions})

    async def _documents(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        by_model: dict[str, list[str]] = {}
        for model, key in wanted:
            by_model.setdefault(model, []).append(key)
        found: dict[tuple[str, str], str] = {}
        for model, keys in by_model.items():
            rows = await rows_by_keys(
                self.conn, schema.documents, ("model", model), "key", keys, ["key", "doc"]
            )
            found.update({(model, r.key): r.doc for r in rows})
        return found

    def _placed(self, written: Written) -> Written:
        """What this transaction knows of the head and the streams moves on with ``written``."""
        envelopes = written.envelopes()
        if envelopes:
            self._head = (envelopes[-1].global_position, envelopes[-1].hash)
            for e in envelopes:
                self._versions[e.stream_id] = e.stream_version
            self.appended.extend(envelopes)
        return written

    async def add(self, model: str, key: str, values: Sequence[int]) -> list[int]:
        """Add ``values`` element by element to the counter ``model``/``key`` (a document
        holding a JSON array of integers; created when absent) and return its new value. A
        read and a write: hold the append lock, as every writer of counters does."""
        # read past a write-behind store's memory, as the write below goes past it too
        text = await DocStore.get_text(self.docs, model, key)
        added = add_counts(json.loads(text) if text else [], values)
        await self.docs.put_text(model, key, canonical_json(added))
        return added

    async def stream_version(self, stream_id: str) -> int:
        value = await self.conn.scalar(STREAM_VERSION, {"b_stream": stream_id})
        return int(value or 0)

    async def load(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        """The stream's events after ``after_version`` (all of them by default), in order."""
        rows = await self.conn.execute(
            STREAM_AFTER, {"b_stream": stream_id, "b_after": after_version}
        )
        return [row_to_envelope(self.store.service, r) for r in rows]

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event | NewEvent | Rendered],
        actor: Actor,
        correlation_id: str,
        causation_id: str | None = None,
        occurred_at: datetime | None = None,
        deferred: bool = False,
    ) -> list[Envelope]:
        """Append after checking the stream is still at ``expected_version`` (None: any).
        ``occurred_at`` is business time (default: now); ``recorded_at`` is always now —
        except for :class:`Rendered` events, which carry their own metadata (made just before
        the lock). ``deferred``: the rows are written by the next :meth:`flush` (with
        documents, in one statement) — the envelopes, positions and versions are final already."""
        position, prev = await self._lock_head()
        current = self._versions.get(stream_id)
        if current is None:
            current = await self.stream_version(stream_id)
        if expected_version is not None and current != expected_version:
            raise ConcurrencyError(stream_id, expected_version, current)
        now = self.store.clock()
        rows, out = [], []
        for offset, item in enumerate(events, start=1):
            if isinstance(item, Rendered):
                rendered = item
            else:
                new = item if isinstance(item, NewEvent) else NewEvent(item, occurred_at)
                rendered = render(
                    new.event,
                    actor,
                    correlation_id,
                    recorded_at=now,
                    occurred_at=new.occurred_at,
                    causation_id=causation_id,
                )
            position += 1
            row, envelope = placed(
                self.store.service, rendered, position, stream_id, current + offset, prev
            )
            prev = envelope.hash
            rows.append(row)
            out.append(envelope)
        if not rows:
            return []
        if deferred:
            self._deferred.extend(rows)
        else:
            try:
                await self.conn.execute(INSERT_EVENTS, rows)
            except IntegrityError as exc:
                raise ConcurrencyError(stream_id, expected_version or current) from exc
        self._head = (position, prev)
        self._versions[stream_id] = current + len(rows)
        self.appended.extend(out)
        return out

    async def flush(self, new: Sequence[Doc] = (), put: Sequence[Doc] = ()) -> None:
        """Write the events appended with ``deferred=True`` and these documents — ``new``
        ones (a key that exists fails the transaction: ``IntegrityError``) and ``put`` ones
        (inserted or replaced). The transaction flushes what is left deferred before it
        commits. (A hot path that must write a batch in one statement under the lock uses
        :meth:`write`, which does it in the server on PostgreSQL.)"""
        rows, self._deferred = self._deferred, []
        if rows:
            await self.conn.execute(INSERT_EVENTS, rows)
        if new:
            await self.conn.execute(
                INSERT_DOCUMENTS, [{"model": m, "key": k, "doc": d} for m, k, d in new]
            )
        for model, key, doc in put:
            await self.docs.put_text(model, key, doc)

    async def applied(self, consumer: str, source: str) -> Applied:
        """What ``consumer`` applied of ``source`` so far. The record stays locked to this
        transaction (``FOR UPDATE`` where the backend has row locks): two instances of one
        consumer that were handed the same events record them once."""
        cp = schema.checkpoints.c
        row = (
            await self.conn.execute(
                sa.select(cp.position, cp.applied_above)
                .where(cp.consumer == consumer, cp.source == source)
                .with_for_update()
            )
        ).first()
        return Applied() if row is None else Applied.stored(row.position, row.applied_above)

    async def record_applied(self, consumer: str, source: str, applied: Applied) -> None:
        """Store ``applied`` as what ``consumer`` applied of ``source`` (in the effect's
        transaction: both commit or neither)."""
        cp = schema.checkpoints
        values = {"position": applied.through, "applied_above": applied.text()}
        updated = await self.conn.execute(
            cp.update().where(cp.c.consumer == consumer, cp.c.source == source).values(**values)
        )
        if updated.rowcount == 0:
            await self.conn.execute(cp.insert().values(consumer=consumer, source=source, **values))


class EventStore(ABC):
    """A service's event store (see the module's docstring); made by :func:`open_store`."""

    shared: bool  # whether other processes use the database too (a server) or this one only

    def __init__(self, service: str, url: str, clock: Clock = utcnow) -> None:
        self.service = service
        self.url = url
        self.engine = self._engine(url)
        self.clock = clock
        # set when this process committed events: the relay beside it wakes at once instead
        # of at its next poll (appends of another process are found by the poll)
        self.events_committed = asyncio.Event()
        # streams folded lately, for :func:`shared.handlers.load_state`'s ``remember``
        self.folds: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    # -- what each backend does its own way

    @staticmethod
    @abstractmethod
    def _engine(url: str) -> AsyncEngine: ...

    @abstractmethod
    def _unit(self, conn: AsyncConnection) -> UnitOfWork: ...

    @abstractmethod
    def _writing(self) -> AbstractAsyncContextManager[object]:
        """Held around every writing transaction (SQLite: the one writer in process)."""

    @abstractmethod
    async def write(self, batch: Batch) -> Written:
        """Write ``batch`` at once (see :class:`~shared.store.batch.Batch`) and return where
        its events went; raise :class:`~shared.errors.StaleRead` when an expected document
        changed or a new one exists — then nothing was written. A writer that must not go
        stale reads under the lock instead: :meth:`UnitOfWork.write`."""

    @abstractmethod
    async def documents(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored texts of the documents (model, key) asked for that exist, read without
        the lock (as of now: decide on them, then :meth:`write` expecting them unchanged)."""

    @abstractmethod
    async def read_rows(self, after: int = 0, limit: int = 1000) -> list[StoredRow]:
        """The stored rows after ``after``, in order, as they are (payload and metadata as
        their canonical texts): for the relay, which publishes them without decoding them."""

    @abstractmethod
    async def head(self) -> int:
        """The position of the last event (0: none)."""

    @abstractmethod
    def leadership(self, name: str, stop: asyncio.Event) -> AbstractAsyncContextManager[None]:
        """Held while this process is, among the processes sharing the database, the one
        doing ``name`` (the relay); entered at once where no other process shares it."""

    # -- the same everywhere

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self._writing(), self.engine.begin() as conn:
            uow = self._unit(conn)
            try:
                yield uow
                await uow.flush()
            except DBAPIError as exc:
                # a pooled connection that died unseen (no ping on checkout) fails the first
                # statement: nothing was committed, the whole transaction may be run again;
                # a failure of the commit itself (below, outside this block) may have landed
                if exc.connection_invalidated:
                    raise ConnectionLost(str(exc.orig)[:200]) from exc
                if getattr(exc.orig, "sqlstate", None) in GIVE_WAY:
                    raise TransactionConflict(str(exc.orig)[:300]) from exc
                raise
        if uow.appended:  # committed
            self.events_committed.set()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        """A read-only unit of work: no writer lock, nothing committed (queries, GETs)."""
        async with self.engine.connect() as conn:
            yield self._unit(conn)

    async def append(
        self,
        stream_id: str,
        expected_version: int | None,
        events: Sequence[Event | NewEvent],
        actor: Actor,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> list[Envelope]:
        async with self.transaction() as uow:
            return await uow.append(
                stream_id,
                expected_version,
                events,
                actor,
                correlation_id or str(uuid4()),
                causation_id,
            )

    async def load(self, stream_id: str) -> list[Envelope]:
        async with self.reader() as uow:
            return await uow.load(stream_id)

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        return [row_to_envelope(self.service, r) for r in await self.read_rows(after, limit)]

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.scalar(sa.select(sa.func.count()).select_from(schema.relay_state))


def open_store(service: str, url: str, clock: Clock = utcnow) -> EventStore:
    """The event store of ``service`` at ``url``, of the backend the URL names."""
    if url.startswith("sqlite"):
        from shared.store.sqlite import SqliteEventStore

        return SqliteEventStore(service, url, clock)
    if url.startswith("postgresql"):
        from shared.store.postgres import PostgresEventStore

        return PostgresEventStore(service, url, clock)
    raise ValueError(f"no event store for {url.split(':', 1)[0]!r} (sqlite or postgresql)")


def make_engine(url: str) -> AsyncEngine:
    """The SQL engine a service database at ``url`` is used through (its backend's)."""
    if url.startswith("sqlite"):
        from shared.store.sqlite import SqliteEventStore

        return SqliteEventStore._engine(url)
    from shared.store.postgres import PostgresEventStore

    return PostgresEventStore._engine(url)
