"""Replay for auditors: rebuild every read model from position zero of every log, into fresh
tables, prove they equal the live ones (a digest per read model), then swap them in.

The documents' digest (one per model) is sha256 over ``key NUL doc LF`` of its documents sorted
by key; the audit trail's (``audit``) is order independent — see
:mod:`services.reporting.projections.audit` — and is computed while folding on the rebuilt side
and by streaming the live ``audit_trail`` table on the live side. On PostgreSQL the rebuilt
audit rows are COPYed into a fresh table while the fold goes on (one transaction that ends with
the swap); the documents are COPYed at the swap. The cyclic garbage collector is paused for
the whole replay: the fold keeps every document alive, and each full collection would walk them
all (it was 43 % of the replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.adapters.kafka_source import KafkaSource
from services.reporting.projections import Doc, apply_in_memory, audit, load_all
from services.reporting.replay_split import Helper, Overlap, helper_share
from shared.events import Readers, upcast_doc
from shared.logging import get_logger
from shared.store import schema
from shared.store.canonical import canonical_json_fast
from shared.store.eventstore import EventStore

log = get_logger("uzdik.replay")
State = dict[tuple[str, str], Doc]
Progress = Callable[[int, int, float], None]  # done, total, events/s
DOC_COLUMNS = ("model", "key", "doc")


class EventSource(Protocol):
    async def total(self) -> int: ...

    def batches(self) -> AsyncIterator[list[Doc]]: ...


class StoreSource:
    """Embedded: the services' own event stores, read in position order."""

    def __init__(self, stores: list[EventStore], batch: int = 5000) -> None:
        self.stores, self.batch = stores, batch

    async def total(self) -> int:
        return sum([await s.head() for s in self.stores])

    async def batches(self) -> AsyncIterator[list[Doc]]:
        for store in self.stores:
            after = 0
            while rows := await store.read_all(after=after, limit=self.batch):
                yield [e.model_dump(mode="json") for e in rows]
                after = rows[-1].global_position


@dataclass
class ReplayReport:
    events: int
    duplicates: int
    seconds: float
    rebuilt: dict[str, str] = field(default_factory=dict)
    live: dict[str, str] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        return self.rebuilt == self.live

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def differing(self) -> list[str]:
        names = sorted(set(self.rebuilt) | set(self.live))
        return [n for n in names if self.rebuilt.get(n) != self.live.get(n)]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection while a million documents are alive (restored after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class AuditTrail:
    """The rebuilt audit trail: its digest, computed as events are folded; its rows, kept
    (``keep``: SQLite, the benchmark's live table) and/or handed batch by batch to ``write``
    (COPY text lines into the fresh table)."""

    def __init__(
        self,
        keep: bool = False,
        write: Callable[[bytes], Any] | None = None,
    ) -> None:
        self.digest = audit.Digest()
        self.rows: list[audit.Row] = []
        self.keep, self.write = keep, write

    async def add(self, events: list[Doc]) -> None:
        line_of = audit.line_of_event
        lines = [line_of(e).encode() for e in events]
        self.digest.add_lines(lines)
        if self.keep:
            self.rows.extend([audit.row_of(e) for e in events])
        if self.write is not None and lines:
            lines.append(b"")
            await self.write(b"\n".join(lines))


async def fold(
    source: EventSource,
    progress: Progress | None = None,
    trail: AuditTrail | None = None,
    readers: Readers | None = None,
) -> tuple[State, int, int]:
    """Fold every event once (duplicates on an at-least-once topic are skipped by id), each
    as its newest version (``readers``: the services' registries, as the live consumer has
    them); the audit trail's rows go to ``trail``."""
    readers = readers or {}
    load_all()
    total = await source.total()
    state: State = {}
    seen: set[str] = set()
    done = dups = 0
    started = time.perf_counter()
    async for batch in source.batches():
        fresh: list[Doc] = []
        for event in batch:
            event_id = event["metadata"]["event_id"]
            if event_id in seen:
                dups += 1
                continue
            seen.add(event_id)
            apply_in_memory(state, upcast_doc(readers, event) if readers else event)
            fresh.append(event)
        if trail is not None:
            await trail.add(fresh)
        done += len(batch)
        if progress:
            progress(done, total, done / max(time.perf_counter() - started, 1e-9))
    return state, done - dups, dups


def digests_of(rows: list[tuple[str, str, str]]) -> dict[str, str]:
    """Per model: sha256 over ``key NUL doc LF`` of its documents sorted by key."""
    by_model: dict[str, Any] = {}
    for model, key, doc in sorted(rows):
        h = by_model.get(model)
        if h is None:
            h = by_model[model] = hashlib.sha256()
        h.update(f"{key}\0{doc}\n".encode())
    return {model: h.hexdigest() for model, h in by_model.items()}


def state_rows(state: State) -> list[tuple[str, str, str]]:
    return [(m, k, canonical_json_fast(d)) for (m, k), d in state.items()]


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under a SQLAlchemy connection (same transaction)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def live_rows(store: EventStore, table: str = "documents") -> list[tuple[str, str, str]]:
    t = schema.documents_table(table)
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(t.c.model, t.c.key, t.c.doc))
        return [(r.model, r.key, r.doc) for r in rows]


async def audit_digest_of(conn: AsyncConnection, table: str = "audit_trail") -> str:
    """The order-independent digest of an audit trail table, streamed (never all in memory);
    on PostgreSQL from ``COPY ... TO STDOUT``, whose lines are the rows' canonical bytes."""
    digest = audit.Digest()
    if conn.dialect.name == "postgresql":
        driver = await _driver(conn)
        pending = b""

        async def out(chunk: bytes) -> None:
            nonlocal pending
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                return
            digest.add_lines(data[:cut].split(b"\n"))
            pending = data[cut + 1 :]

        columns = ", ".join(audit.COLUMNS)
        await driver.copy_from_query(f"SELECT {columns} FROM {table}", output=out, format="text")
        if pending:
            digest.add_line(pending)
    else:
        t = schema.audit_trail_table(table)
        result = await conn.stream(sa.select(*(t.c[c] for c in audit.COLUMNS)))
        async for part in result.partitions(5000):
            digest.add_lines([audit.line_of(tuple(r)).encode() for r in part])
    return digest.hexdigest()


async def live_digests(store: EventStore) -> dict[str, str]:
    """The live side: read from the live tables (documents, audit_trail)."""
    async with store.engine.connect() as conn:
        t = schema.documents
        rows = await conn.execute(sa.select(t.c.model, t.c.key, t.c.doc))
        digests = digests_of([(r.model, r.key, r.doc) for r in rows])
        digests[audit.MODEL] = await audit_digest_of(conn)
    return digests


async def _swap_tables(conn: AsyncConnection, pairs: list[tuple[str, str]]) -> None:
    for live, fresh in pairs:
        await conn.execute(sa.text(f"DROP TABLE IF EXISTS {live}_previous"))
        await conn.execute(sa.text(f"ALTER TABLE {live} RENAME TO {live}_previous"))
        await conn.execute(sa.text(f"ALTER TABLE {fresh} RENAME TO {live}"))
        await conn.execute(sa.text(f"DROP TABLE {live}_previous"))


class Rebuild:
    """The fresh tables of one replay, swapped for the live ones at the end.

    PostgreSQL: one connection and one transaction, from the fresh audit table (COPYed into
    while folding) to the swap; nothing is visible before the commit, nothing is left behind
    by a failure. SQLite: everything is written at the swap, in one transaction."""

    def __init__(self, store: EventStore, write: bool) -> None:
        self.store, self.write = store, write
        self.pg = store.engine.dialect.name == "postgresql"
        stamp = uuid4().hex[:12]  # fresh names: PostgreSQL keeps index names on rename
        self.docs_name, self.audit_name = f"documents_{stamp}", f"audit_trail_{stamp}"
        self.conn: AsyncConnection | None = None
        self.driver: Any = None
        self._copying: asyncio.Task[Any] | None = None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.trail = AuditTrail(keep=write and not self.pg)

    async def __aenter__(self) -> Rebuild:
        if self.write and self.pg:
            self.conn = await self.store.engine.connect()
            await self.conn.begin()
            # No primary key while COPYing: building it once at the swap is cheaper than
            # maintaining it row by row.
            fresh = schema.audit_trail_table(self.audit_name, primary_key=False)
            await self.conn.run_sync(fresh.metadata.create_all)
            self.driver = await _driver(self.conn)
            self.trail.write = self._copy_audit
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._copying is not None and not self._copying.done():
            self._copying.cancel()
            with contextlib.suppress(BaseException):
                await self._copying
        if self.conn is not None:
            await self.conn.close()  # rolls back unless swapped (committed)

    async def _copy_audit(self, data: bytes) -> None:
        """Hand one batch's lines to the one COPY of the audit rows (started by the first),
        which PostgreSQL ingests while the next batches are read and folded."""
        if self._copying is None:
            self._copying = asyncio.create_task(
                self.driver.copy_to_table(
                    self.audit_name, source=self._chunks(), columns=audit.COLUMNS, format="text"
                )
            )
        elif self._copying.done():
            await self._copying  # its error, now
        self._queue.put_nowait(data)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while (data := await self._queue.get()) is not None:
            yield data

    async def drain(self) -> None:
        if self._copying is not None:
            task, self._copying = self._copying, None
            self._queue.put_nowait(None)
            await task

    async def swap(self, rows: list[tuple[str, str, str]]) -> None:
        await self.drain()
        docs = schema.documents_table(self.docs_name)
        pairs = [("documents", self.docs_name), ("audit_trail", self.audit_name)]
        if self.pg:
            assert self.conn is not None
            await self.conn.run_sync(docs.metadata.create_all)
            await self.driver.copy_records_to_table(
                self.docs_name, records=rows, columns=DOC_COLUMNS
            )
            await self.conn.execute(
                sa.text(f"ALTER TABLE {self.audit_name} ADD PRIMARY KEY (service, position)")
            )
            await _swap_tables(self.conn, pairs)
            await self.conn.commit()
            return
        trail = schema.audit_trail_table(self.audit_name, docs.metadata)
        async with self.store.transaction() as uow:
            await uow.conn.run_sync(docs.metadata.create_all)
            for i in range(0, len(rows), 5000):
                chunk = rows[i : i + 5000]
                await uow.conn.execute(
                    docs.insert(), [dict(zip(DOC_COLUMNS, r, strict=True)) for r in chunk]
                )
            audit_rows = self.trail.rows
            for i in range(0, len(audit_rows), 5000):
                chunk2 = audit_rows[i : i + 5000]
                await uow.conn.execute(
                    trail.insert(), [dict(zip(audit.COLUMNS, r, strict=True)) for r in chunk2]
                )
            await _swap_tables(uow.conn, pairs)


async def replay(
    source: EventSource,
    store: EventStore,
    progress: Progress | None = None,
    swap: bool = True,
    readers: Readers | None = None,
) -> ReplayReport:
    with gc_paused():
        started = time.perf_counter()
        live = asyncio.create_task(live_digests(store))  # the live tables, meanwhile
        try:
            try:
                return await _rebuild(source, store, progress, swap, readers, live, started)
            except Overlap as exc:  # a share's documents met the parent's: one process then
                assert isinstance(source, KafkaSource)
                log.warning("replay.split_refused", reason=str(exc))
                whole = KafkaSource(source.bootstrap, source.topics, source.max_records)
                return await _rebuild(whole, store, progress, swap, readers, live, started, False)
        finally:
            if not live.done():
                live.cancel()
                with contextlib.suppress(BaseException):
                    await live


async def _rebuild(
    source: EventSource,
    store: EventStore,
    progress: Progress | None,
    swap: bool,
    readers: Readers | None,
    live: asyncio.Task[dict[str, str]],
    started: float,
    split: bool = True,
) -> ReplayReport:
    async with Rebuild(store, write=swap) as rebuild:
        if split and isinstance(source, KafkaSource):
            state, events, dups = await _fold_on_both_cores(source, progress, rebuild, readers)
        else:
            state, events, dups = await fold(source, progress, rebuild.trail, readers)
        rows = state_rows(state)
        del state
        await rebuild.drain()
        report = ReplayReport(events, dups, time.perf_counter() - started)
        report.rebuilt = digests_of(rows)
        report.rebuilt[audit.MODEL] = rebuild.trail.digest.hexdigest()
        report.live = await asyncio.shield(live)
        if swap:
            await rebuild.swap(rows)
    return report


async def _fold_on_both_cores(
    source: KafkaSource, progress: Progress | None, rebuild: Rebuild, readers: Readers | None
) -> tuple[State, int, int]:
    """The helper process folds its share of the partitions while this one folds the rest;
    the two states are united (``Overlap`` if a document is in both)."""
    spans = await source.spans_of()
    share = helper_share(spans)
    if not share:
        return await fold(source, progress, rebuild.trail, readers)
    helper = Helper(source.bootstrap, share, upcast=bool(readers))
    whole = sum(end - first for _, _, first, end in spans)
    begun = time.perf_counter()

    def tick(done: int, total: int, rate: float) -> None:
        if progress is not None:
            both = done + helper.done
            progress(both, whole, both / max(time.perf_counter() - begun, 1e-9))

    async def lines(data: bytes) -> None:
        if rebuild.trail.write is not None:
            await rebuild.trail.write(data)

    try:
        await helper.start()
        source.only([s for s in spans if s not in share])
        theirs = asyncio.create_task(helper.run(lines))
        try:
            state, events, dups = await fold(source, tick, rebuild.trail, readers)
            other, their_events, their_dups, count, total = await theirs
        finally:
            if not theirs.done():
                theirs.cancel()
                with contextlib.suppress(BaseException):
                    await theirs
    finally:
        await helper.stop()
    both = state.keys() & other.keys()
    if both:
        raise Overlap(f"{len(both)} documents folded by both processes, e.g. {min(both)}")
    state.update(other)
    rebuild.trail.digest.count += count
    rebuild.trail.digest.total += total
    return state, events + their_events, dups + their_dups
