"""Append-only event store with optimistic concurrency, a global position and a hash chain.

Appends in one service database are serialised (PostgreSQL: a transaction-level advisory lock;
SQLite: one writer in process), so positions are gapless and become visible in order — which is
what lets tailers and the relay read "everything after position N" safely.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import ConcurrencyError, ConnectionLost
from shared.events import Actor, Envelope, Event, Metadata
from shared.store import schema
from shared.store.canonical import GENESIS, canonical_json_fast, event_hash
from shared.store.docs import DocStore
from shared.store.lookup import rows_by_keys

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Locked:
    """What :meth:`UnitOfWork.lock` read once the append lock was held."""

    documents: dict[tuple[str, str], str]  # (model, key) → the stored document's text
    versions: dict[str, int]  # stream → its current version (0: no event yet)


# migration 0003: the lock, then the head, the documents and the streams' versions
_LOCK_PG = sa.text(
    "SELECT kind, model, key, doc, n FROM uzdik_lock(:lock_key, CAST(:models AS TEXT[]), "
    "CAST(:keys AS TEXT[]), CAST(:streams AS TEXT[]))"
)
_EVENT_COLUMNS = (
    ("global_position", "BIGINT"),
    ("stream_id", "VARCHAR"),
    ("stream_version", "INTEGER"),
    ("event_type", "VARCHAR"),
    ("schema_version", "INTEGER"),
    ("event_id", "VARCHAR"),
    ("payload", "TEXT"),
    ("metadata", "TEXT"),
    ("prev_hash", "VARCHAR"),
    ("hash", "VARCHAR"),
)
_FLUSH_PG = sa.text(
    "WITH appended AS (INSERT INTO events ("
    + ", ".join(c for c, _ in _EVENT_COLUMNS)
    + ") SELECT * FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _EVENT_COLUMNS)
    + ")), created AS (INSERT INTO documents (model, key, doc) SELECT * FROM unnest("
    "CAST(:new_models AS VARCHAR[]), CAST(:new_keys AS VARCHAR[]), CAST(:new_docs AS TEXT[]))"
    "), written AS (INSERT INTO documents (model, key, doc) SELECT * FROM unnest("
    "CAST(:put_models AS VARCHAR[]), CAST(:put_keys AS VARCHAR[]), CAST(:put_docs AS TEXT[]))"
    " ON CONFLICT (model, key) DO UPDATE SET doc = EXCLUDED.doc) SELECT 1"
)
Doc = tuple[str, str, str]  # (model, key, text)


@dataclass(frozen=True)
class NewEvent:
    """An event to append, with its cause."""

    event: Event
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Rendered:
    """An event with its metadata and their canonical texts, made by :func:`render` before the
    append lock is taken: appending it only places it (position, version) and links it."""

    event: Event
    payload: dict[str, Any]
    payload_text: str
    metadata: Metadata
    metadata_text: str


def render(
    event: Event,
    actor: Actor,
    correlation_id: str,
    *,
    recorded_at: datetime,
    occurred_at: datetime | None = None,
    causation_id: str | None = None,
) -> Rendered:
    """``event`` as the store will keep it, but for its place in the log: what a writer can
    prepare before it holds the lock every other writer of the service waits for."""
    meta = Metadata(
        event_id=uuid4(),
        occurred_at=occurred_at or recorded_at,
        recorded_at=recorded_at,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    payload = event.to_payload()
    return Rendered(
        event,
        payload,
        canonical_json_fast(payload),
        meta,
        canonical_json_fast(meta.model_dump(mode="json")),
    )


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 60})

        @sa_event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return engine
    # pool_recycle: a connection a middlebox dropped silently (no FIN the driver could see)
    # is not kept for longer than idle timeouts usually are
    engine = create_async_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)
    sa_event.listen(engine.sync_engine.pool, "checkout", _alive)
    return engine


def _alive(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend, an idle
    timeout) is replaced before it is handed out. The driver knows without a round trip:
    ``pool_pre_ping`` would spend three on every checkout (BEGIN, a ping, ROLLBACK: its
    asyncpg adapter wraps the ping in a transaction) — a third of a group commit's statements.
    """
    if dbapi_conn.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def lock_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def row_to_envelope(service: str, row: Any) -> Envelope:
    return Envelope(
        service=service,
        global_position=row.global_position,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        event_type=row.event_type,
        schema_version=row.schema_version,
        payload=json.loads(row.payload),
        metadata=Metadata.model_validate(json.loads(row.metadata)),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class UnitOfWork:
    """One transaction on a service database: append events, write read models, track."""

    def __init__(self, store: EventStore, conn: AsyncConnection) -> None:
        self.store = store
        self.conn = conn
        self.docs = DocStore(conn)
        self._head: tuple[int, str] | None = None
        self._versions: dict[str, int] = {}  # streams' versions known under the lock
        self._deferred: list[dict[str, Any]] = []  # event rows appended, not yet written
        self.appended: list[Envelope] = []

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

        Under it, read the ``documents`` (model, key) and the ``streams``' versions: on
        PostgreSQL in the very round trip that takes the lock (migration 0003), which is also
        the one that reads the head of the log. A later :meth:`append` to one of ``streams``
        checks its expected version against the version read here."""
        wanted, names = sorted(set(documents)), sorted(set(streams))
        docs: dict[tuple[str, str], str] = {}
        versions: dict[str, int] = {}
        if self._head is None and self.store.dialect == "postgresql":
            rows = await self.conn.execute(
                _LOCK_PG,
                {
                    "lock_key": lock_key(f"uzdik.events.{self.store.service}"),
                    "models": [m for m, _ in wanted],
                    "keys": [k for _, k in wanted],
                    "streams": names,
                },
            )
            head = (0, GENESIS)
            for kind, model, key, doc, n in rows:
                if kind == "head":
                    head = (int(n), key)
                elif kind == "doc":
                    docs[(model, key)] = doc
                else:
                    versions[key] = int(n or 0)
            self._head = head
        else:
            if self._head is None:  # SQLite: the store's writer lock is held already
                last = (
                    await self.conn.execute(
                        sa.select(schema.events.c.global_position, schema.events.c.hash)
                        .order_by(schema.events.c.global_position.desc())
                        .limit(1)
                    )
                ).first()
                self._head = (last.global_position, last.hash) if last else (0, GENESIS)
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

    async def stream_version(self, stream_id: str) -> int:
        ev = schema.events.c
        value = await self.conn.scalar(
            sa.select(sa.func.max(ev.stream_version)).where(ev.stream_id == stream_id)
        )
        return int(value or 0)

    async def load(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        """The stream's events after ``after_version`` (all of them by default), in order."""
        ev = schema.events
        rows = await self.conn.execute(
            sa.select(ev)
            .where(ev.c.stream_id == stream_id, ev.c.stream_version > after_version)
            .order_by(ev.c.stream_version)
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
            row, envelope = self._row(rendered, position, stream_id, current + offset, prev)
            prev = envelope.hash
            rows.append(row)
            out.append(envelope)
        if not rows:
            return []
        if deferred:
            self._deferred.extend(rows)
        else:
            try:
                await self.conn.execute(schema.events.insert(), rows)
            except IntegrityError as exc:
                raise ConcurrencyError(stream_id, expected_version or current) from exc
        self._head = (position, prev)
        self._versions[stream_id] = current + len(rows)
        self.appended.extend(out)
        return out

    async def flush(self, new: Sequence[Doc] = (), put: Sequence[Doc] = ()) -> None:
        """Write the events appended with ``deferred=True`` and these documents — ``new``
        ones (a key that exists fails the transaction: ``IntegrityError``) and ``put`` ones
        (inserted or replaced) — on PostgreSQL in one statement. The transaction flushes what
        is left deferred before it commits."""
        rows, self._deferred = self._deferred, []
        if self.store.dialect == "postgresql":
            if not (rows or new or put):
                return
            params: dict[str, Any] = {c: [r[c] for r in rows] for c, _ in _EVENT_COLUMNS}
            for prefix, docs in (("new", new), ("put", put)):
                params[f"{prefix}_models"] = [d[0] for d in docs]
                params[f"{prefix}_keys"] = [d[1] for d in docs]
                params[f"{prefix}_docs"] = [d[2] for d in docs]
            await self.conn.execute(_FLUSH_PG, params)
            return
        if rows:
            await self.conn.execute(schema.events.insert(), rows)
        if new:
            await self.conn.execute(
                schema.documents.insert(), [{"model": m, "key": k, "doc": d} for m, k, d in new]
            )
        for model, key, doc in put:
            await self.docs.put_text(model, key, doc)

    def _row(
        self, rendered: Rendered, position: int, stream_id: str, version: int, prev: str
    ) -> tuple[dict[str, Any], Envelope]:
        place: dict[str, Any] = {
            "global_position": position,
            "stream_id": stream_id,
            "stream_version": version,
            "event_type": rendered.event.event_type,
            "schema_version": rendered.event.schema_version,
        }
        digest = event_hash(
            prev,
            place,
            payload_text=rendered.payload_text,
            metadata_text=rendered.metadata_text,
        )
        row = {
            **place,
            "event_id": str(rendered.metadata.event_id),
            "payload": rendered.payload_text,
            "metadata": rendered.metadata_text,
            "prev_hash": prev,
            "hash": digest,
        }
        envelope = Envelope.model_construct(  # its parts are validated already
            service=self.store.service,
            **place,
            payload=rendered.payload,
            metadata=rendered.metadata,
            prev_hash=prev,
            hash=digest,
        )
        return row, envelope

    async def already_applied(self, consumer: str, event_id: str) -> bool:
        ae = schema.applied_events.c
        found = await self.conn.scalar(
            sa.select(sa.func.count()).where(ae.consumer == consumer, ae.event_id == event_id)
        )
        return bool(found)

    async def mark_applied(self, consumer: str, event_id: str) -> None:
        await self.conn.execute(
            schema.applied_events.insert().values(consumer=consumer, event_id=event_id)
        )

    async def applied_among(self, consumer: str, event_ids: list[str]) -> set[str]:
        """Which of ``event_ids`` this consumer applied already (an index probe per id)."""
        rows = await rows_by_keys(
            self.conn,
            schema.applied_events,
            ("consumer", consumer),
            "event_id",
            event_ids,
            ["event_id"],
        )
        return {r.event_id for r in rows}

    async def mark_applied_many(self, consumer: str, event_ids: list[str]) -> None:
        if event_ids:
            await self.conn.execute(
                schema.applied_events.insert(),
                [{"consumer": consumer, "event_id": e} for e in event_ids],
            )

    async def checkpoint(self, consumer: str, source: str) -> int:
        cp = schema.checkpoints.c
        value = await self.conn.scalar(
            sa.select(cp.position).where(cp.consumer == consumer, cp.source == source)
        )
        return int(value or 0)

    async def set_checkpoint(self, consumer: str, source: str, position: int) -> None:
        cp = schema.checkpoints
        updated = await self.conn.execute(
            cp.update()
            .where(cp.c.consumer == consumer, cp.c.source == source)
            .values(position=position)
        )
        if updated.rowcount == 0:
            await self.conn.execute(
                cp.insert().values(consumer=consumer, source=source, position=position)
            )


class EventStore:
    """A service's event store."""

    def __init__(self, service: str, url: str, clock: Clock = utcnow) -> None:
        self.service = service
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.clock = clock
        self._writer = asyncio.Lock() if self.dialect == "sqlite" else None

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        async with self._writer or nullcontext(), self.engine.begin() as conn:
            uow = UnitOfWork(self, conn)
            try:
                yield uow
                await uow.flush()
            except DBAPIError as exc:
                # a pooled connection that died unseen (no ping on checkout) fails the first
                # statement: nothing was committed, the whole transaction may be run again;
                # a failure of the commit itself (below, outside this block) may have landed
                if exc.connection_invalidated:
                    raise ConnectionLost(str(exc.orig)[:200]) from exc
                raise

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        """A read-only unit of work: no writer lock, nothing committed (queries, GETs)."""
        async with self.engine.connect() as conn:
            yield UnitOfWork(self, conn)

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
        async with self.engine.connect() as conn:
            return await UnitOfWork(self, conn).load(stream_id)

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Envelope]:
        return [row_to_envelope(self.service, r) for r in await self.read_rows(after, limit)]

    async def read_rows(self, after: int = 0, limit: int = 1000) -> list[Any]:
        """The stored rows after ``after``, in order, as they are (payload and metadata as
        their canonical texts): for the relay, which publishes them without decoding them."""
        ev = schema.events
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(ev)
                .where(ev.c.global_position > after)
                .order_by(ev.c.global_position)
                .limit(limit)
            )
            return list(rows)

    async def head(self) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(sa.func.max(schema.events.c.global_position)))
            return int(value or 0)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.scalar(sa.select(sa.func.count()).select_from(schema.relay_state))
