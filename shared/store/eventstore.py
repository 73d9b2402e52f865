"""Append-only event store with optimistic concurrency, a global position and a hash chain.

Appends in one service database are serialised (PostgreSQL: a transaction-level advisory lock;
SQLite: one writer in process), so positions are gapless and become visible in order — which is
what lets tailers and the relay read "everything after position N" safely.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import ConcurrencyError, ConnectionLost, StaleRead
from shared.events import Actor, Envelope, Event, Metadata
from shared.ids import uuid4 as random_uuid
from shared.store import schema
from shared.store.canonical import (
    GENESIS,
    canonical_json,
    canonical_json_fast,
    event_hash,
    json_string,
)
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
Doc = tuple[str, str, str]  # (model, key, text)
# migration 0004: lock, check, place, link and write in one statement (autocommit)
_WRITE_PG = sa.text(
    "SELECT global_position, stream_version, prev_hash, hash FROM uzdik_write(:lock_key, "
    + ", ".join(
        f"CAST(:{name} AS {kind}[])"
        for name, kind in (
            ("x_models", "TEXT"),
            ("x_keys", "TEXT"),
            ("x_docs", "TEXT"),
            ("e_streams", "TEXT"),
            ("e_stream_json", "TEXT"),
            ("e_type_json", "TEXT"),
            ("e_schemas", "INTEGER"),
            ("e_ids", "TEXT"),
            ("e_payloads", "TEXT"),
            ("e_metadata", "TEXT"),
            ("n_models", "TEXT"),
            ("n_keys", "TEXT"),
            ("n_docs", "TEXT"),
            ("n_at", "INTEGER"),
            ("p_models", "TEXT"),
            ("p_keys", "TEXT"),
            ("p_docs", "TEXT"),
            ("c_models", "TEXT"),
            ("c_keys", "TEXT"),
            ("c_docs", "TEXT"),
        )
    )
    + ")"
)
_CONNECT_PARAMETERS = frozenset(inspect.signature(asyncpg.connect).parameters)
DRIVER_POOL = 6  # connections of the driver's own pool (EventStore._driver), per process
STALE_SQLSTATE = "UZ001"  # uzdik_write: a document changed since it was read
UNIQUE_VIOLATION = "23505"
# the same two statements for the driver itself (numbered parameters)
_WRITE_ARGS = tuple(re.findall(r"(?<!:):(\w+)", _WRITE_PG.text))
_WRITE_SQL = re.sub(r"(?<!:):(\w+)", lambda m: f"${_WRITE_ARGS.index(m[1]) + 1}", _WRITE_PG.text)
_READ_SQL = (
    "SELECT kind, model, key, doc FROM uzdik_lock(NULL, CAST($1 AS TEXT[]), "
    "CAST($2 AS TEXT[]), CAST($3 AS TEXT[]))"
)


@dataclass(frozen=True)
class Batch:
    """What :meth:`EventStore.write` writes at once, provided the documents ``expect``-ed are
    still as they were read (``None``: absent).

    * ``events``: (stream, event) — each placed at the end of the log and of its stream;
    * ``new``: documents created (a key that exists fails the whole batch);
    * ``new_at``: (model, key prefix, text, i) — created under the key prefix followed by the
      position of ``events[i]`` (12 digits), e.g. a listing in the order of the log;
    * ``put``: documents created or replaced;
    * ``add``: counters — documents holding a JSON array of integers — added to element by
      element (created when absent); one entry per counter.
    """

    expect: Sequence[tuple[str, str, str | None]] = ()
    events: Sequence[tuple[str, Rendered]] = ()
    new: Sequence[Doc] = ()
    new_at: Sequence[tuple[str, str, str, int]] = ()
    put: Sequence[Doc] = ()
    add: Sequence[tuple[str, str, Sequence[int]]] = ()


class StoredRow(NamedTuple):
    """An event row as stored (see :meth:`EventStore.read_rows`)."""

    global_position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    event_id: str
    payload: str
    metadata: str
    prev_hash: str
    hash: str


_READ_ROWS_SQL = (
    f"SELECT {', '.join(StoredRow._fields)} FROM events WHERE global_position > $1 "
    "ORDER BY global_position LIMIT $2"
)
_HEAD_SQL = "SELECT max(global_position) FROM events"
_WRITTEN_SQL = (
    "SELECT global_position, stream_version, prev_hash, hash FROM events "
    "WHERE event_id = ANY(CAST($1 AS TEXT[])) ORDER BY global_position"
)


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
    renderer = Renderer(
        actor,
        correlation_id,
        recorded_at=recorded_at,
        occurred_at=occurred_at,
        causation_id=causation_id,
    )
    return renderer.render(event)


_TEMPLATE_ID = UUID("00000000-0000-4000-8000-0000000000e1")


class Renderer:
    """:func:`render` for many events with the same metadata but their ids (a batch of one
    writer's events): the metadata's text is made once, and each event's is that text with
    its own id spliced in — the very text :func:`render` makes (canonical JSON: the id is one
    string value among the sorted keys)."""

    def __init__(
        self,
        actor: Actor,
        correlation_id: str,
        *,
        recorded_at: datetime,
        occurred_at: datetime | None = None,
        causation_id: str | None = None,
    ) -> None:
        self._meta = Metadata(
            event_id=_TEMPLATE_ID,
            occurred_at=occurred_at or recorded_at,
            recorded_at=recorded_at,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        text = canonical_json_fast(self._meta.model_dump(mode="json"))
        marker = f'"event_id":"{_TEMPLATE_ID}"'
        if text.count(str(_TEMPLATE_ID)) != 1 or marker not in text:
            raise AssertionError("the metadata template must name its event id once")
        self._before, self._after = text.split(str(_TEMPLATE_ID))

    def render(self, event: Event) -> Rendered:
        event_id = random_uuid()
        payload = event.to_payload()
        return Rendered(
            event,
            payload,
            canonical_json_fast(payload),
            self._meta.model_copy(update={"event_id": event_id}),
            f"{self._before}{event_id}{self._after}",
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


@dataclass(frozen=True)
class Written:
    """What :meth:`EventStore.write` placed: ``rows`` (position, version, previous hash, hash)
    in the order of the batch's events; their envelopes when asked for (a hot path that
    needs none does not build them)."""

    service: str
    batch: Batch
    rows: Sequence[Any]

    @property
    def positions(self) -> list[int]:
        return [int(row["global_position"]) for row in self.rows]

    def envelopes(self) -> list[Envelope]:
        return [
            Envelope.model_construct(
                service=self.service,
                global_position=int(row["global_position"]),
                stream_id=stream,
                stream_version=int(row["stream_version"]),
                event_type=r.event.event_type,
                schema_version=r.event.schema_version,
                payload=r.payload,
                metadata=r.metadata,
                prev_hash=row["prev_hash"],
                hash=row["hash"],
            )
            for (stream, r), row in zip(self.batch.events, self.rows, strict=True)
        ]


async def _keep_session(_: asyncpg.Connection) -> None:
    """The driver pool's reset: none. Its statements leave nothing in the session (the append
    lock is the transaction's, released when the statement commits), and the default reset
    (unlock all, close cursors, unlisten, reset settings) is one more round trip per use."""


def _write_params(batch: Batch, key: int) -> dict[str, Any]:
    """``uzdik_write``'s arguments for ``batch`` (migration 0004)."""
    params: dict[str, Any] = {"lock_key": key}
    for prefix, items in (("x", batch.expect), ("p", batch.put)):
        params[f"{prefix}_models"] = [m for m, _, _ in items]
        params[f"{prefix}_keys"] = [k for _, k, _ in items]
        params[f"{prefix}_docs"] = [d for _, _, d in items]
    params["c_models"] = [m for m, _, _ in batch.add]
    params["c_keys"] = [k for _, k, _ in batch.add]
    params["c_docs"] = [canonical_json([int(n) for n in v]) for _, _, v in batch.add]
    new = [(m, k, d, 0) for m, k, d in batch.new] + [
        (m, k, d, i + 1) for m, k, d, i in batch.new_at
    ]
    params["n_models"] = [m for m, _, _, _ in new]
    params["n_keys"] = [k for _, k, _, _ in new]
    params["n_docs"] = [d for _, _, d, _ in new]
    params["n_at"] = [a for _, _, _, a in new]
    events = batch.events
    params["e_streams"] = [stream for stream, _ in events]
    params["e_stream_json"] = [json_string(stream) for stream, _ in events]
    params["e_type_json"] = [json_string(r.event.event_type) for _, r in events]
    params["e_schemas"] = [r.event.schema_version for _, r in events]
    params["e_ids"] = [str(r.metadata.event_id) for _, r in events]
    params["e_payloads"] = [r.payload_text for _, r in events]
    params["e_metadata"] = [r.metadata_text for _, r in events]
    return params


def add_counts(counter: Sequence[int], values: Sequence[int]) -> list[int]:
    """Element by element, the shorter one taken as padded with zeros (as ``uzdik_write``)."""
    width = max(len(counter), len(values))
    left = [*counter, *[0] * (width - len(counter))]
    right = [*values, *[0] * (width - len(values))]
    return [int(a) + int(b) for a, b in zip(left, right, strict=True)]


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

    async def write(self, batch: Batch) -> Written:
        """:meth:`EventStore.write` in this transaction (the lock is taken if not held yet):
        a writer that read under the lock what it decided on cannot go stale."""
        try:
            if self.store.dialect != "postgresql":
                return await self._write_here(batch)
            await self.flush()  # rows appended deferred come first
            params = _write_params(batch, lock_key(f"uzdik.events.{self.store.service}"))
            placed = list(await self.conn.execute(_WRITE_PG, params))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == STALE_SQLSTATE or isinstance(
                exc, IntegrityError
            ):
                raise StaleRead(str(exc.orig)[:300]) from exc
            raise
        written = Written(self.store.service, batch, [row._mapping for row in placed])
        envelopes = written.envelopes()
        if envelopes:  # what this transaction knows of the head and the streams moves on
            self._head = (envelopes[-1].global_position, envelopes[-1].hash)
            for e in envelopes:
                self._versions[e.stream_id] = e.stream_version
            self.appended.extend(envelopes)
        return written

    async def _write_here(self, batch: Batch) -> Written:
        """:meth:`write` without the server's function (SQLite): the same checks and the same
        result, in this transaction."""
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
        return Written(self.store.service, batch, rows)

    async def add(self, model: str, key: str, values: Sequence[int]) -> list[int]:
        """Add ``values`` element by element to the counter ``model``/``key`` (a document
        holding a JSON array of integers; created when absent) and return its new value. A
        read and a write: hold the append lock, as every writer of counters does."""
        text = await self.docs.conn.scalar(
            sa.select(schema.documents.c.doc).where(
                schema.documents.c.model == model, schema.documents.c.key == key
            )
        )
        added = add_counts(json.loads(text) if text else [], values)
        await self.docs.put_text(model, key, canonical_json(added))
        return added

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
        (inserted or replaced). The transaction flushes what is left deferred before it
        commits. (A hot path that must write a batch in one statement under the lock uses
        :meth:`write`, which does it in the server on PostgreSQL.)"""
        rows, self._deferred = self._deferred, []
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
        self._pool: asyncpg.Pool | None = None  # see _driver
        self._pool_lock = asyncio.Lock()
        # set when this process committed events: the relay beside it wakes at once instead
        # of at its next poll (appends of another process are found by the poll)
        self.events_committed = asyncio.Event()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
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
        if uow.appended:  # committed
            self.events_committed.set()

    async def write(self, batch: Batch) -> Written:
        """Write ``batch`` at once (see :class:`Batch`) and return where its events went; raise
        :class:`~shared.errors.StaleRead` when an expected document changed or a new one
        exists — then nothing was written.

        A writer that decides on documents it read without the lock (see :meth:`documents`)
        and expects them unchanged holds the service's append lock for the server's own work
        only: on PostgreSQL this is one statement in autocommit (migration 0004), where the
        events are placed and linked; on SQLite a transaction of the store's one writer. (A
        writer that must not go stale reads under the lock instead: :meth:`UnitOfWork.write`.)"""
        if self.dialect != "postgresql":
            async with self.transaction() as uow:
                return await uow.write(batch)
        params = _write_params(batch, lock_key(f"uzdik.events.{self.service}"))
        try:
            async with self._driver() as driver:
                try:
                    placed = await driver.fetch(_WRITE_SQL, *(params[n] for n in _WRITE_ARGS))
                except asyncpg.PostgresError as exc:
                    if exc.sqlstate in (STALE_SQLSTATE, UNIQUE_VIOLATION):
                        raise StaleRead(str(exc)[:300]) from exc
                    if not isinstance(exc, asyncpg.PostgresConnectionError):
                        raise
                    raise ConnectionLost(str(exc)[:200]) from exc
        except ConnectionLost:
            # the statement may have committed before the connection went: what is stored
            # says (it is all or nothing); only if nothing is may it be sent again
            found = await self._written(batch)
            if found is None:
                raise
            self.events_committed.set()
            return found
        if placed:
            self.events_committed.set()
        return Written(self.service, batch, placed)

    async def _written(self, batch: Batch) -> Written | None:
        """The batch as stored, if its events are (by their ids), else None."""
        ids = [str(r.metadata.event_id) for _, r in batch.events]
        if not ids:
            return None
        async with self._driver() as driver:
            rows = await driver.fetch(_WRITTEN_SQL, ids)
        return Written(self.service, batch, rows) if len(rows) == len(ids) else None

    @asynccontextmanager
    async def _driver(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the driver (asyncpg) itself, in autocommit, from a small pool of
        its own: one statement is one round trip, without the SQL layer's per-statement and
        per-checkout work (a hot path's two statements per batch). A connection that failed
        is not reused; a failure before the server answered is
        :class:`~shared.errors.ConnectionLost` (nothing was committed)."""
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    _, found = self.engine.dialect.create_connect_args(self.engine.url)
                    # the SQL layer's own options (e.g. its statement cache size) are not the
                    # driver's
                    params = {k: v for k, v in found.items() if k in _CONNECT_PARAMETERS}
                    self._pool = await asyncpg.create_pool(
                        **params,
                        min_size=1,
                        max_size=DRIVER_POOL,
                        max_inactive_connection_lifetime=1800,
                        reset=_keep_session,
                    )
        try:
            async with self._pool.acquire() as driver:
                yield driver
        except (OSError, asyncpg.exceptions.InterfaceError) as exc:
            raise ConnectionLost(str(exc)[:200]) from exc

    async def documents(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The stored texts of the documents (model, key) asked for that exist, read without
        the lock (as of now: decide on them, then :meth:`write` expecting them unchanged)."""
        keys = sorted(set(wanted))
        if self.dialect != "postgresql":
            async with self.engine.connect() as conn:
                return await UnitOfWork(self, conn)._documents(keys)
        async with self._driver() as driver:  # uzdik_lock without a key takes no lock
            rows = await driver.fetch(_READ_SQL, [m for m, _ in keys], [k for _, k in keys], [])
        return {(r["model"], r["key"]): r["doc"] for r in rows if r["kind"] == "doc"}

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

    async def read_rows(self, after: int = 0, limit: int = 1000) -> list[StoredRow]:
        """The stored rows after ``after``, in order, as they are (payload and metadata as
        their canonical texts): for the relay, which publishes them without decoding them.
        On PostgreSQL one round trip of the driver (the relay reads while every batch of
        answers arrives; the SQL layer's transaction around a read was two more)."""
        if self.dialect == "postgresql":
            async with self._driver() as driver:
                rows = await driver.fetch(_READ_ROWS_SQL, after, limit)
            return [StoredRow(*row) for row in rows]
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
        if self.dialect == "postgresql":
            async with self._driver() as driver:
                return int(await driver.fetchval(_HEAD_SQL) or 0)
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(sa.func.max(schema.events.c.global_position)))
            return int(value or 0)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.scalar(sa.select(sa.func.count()).select_from(schema.relay_state))
