"""The event store on PostgreSQL: the append lock is a transaction-level advisory lock taken by
``uzdik_lock`` together with the head and what a writer reads (migration 0003); a batch is one
statement, ``uzdik_write``, in autocommit (migration 0004); reads that are hot (the relay's,
a batch writer's) go through a small pool of the driver's own connections."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import ConnectionLost, StaleRead
from shared.logging import get_logger
from shared.store.batch import Batch, Written
from shared.store.canonical import GENESIS, canonical_json, json_string
from shared.store.eventstore import Clock, EventStore, UnitOfWork, utcnow
from shared.store.rows import StoredRow, lock_key

log = get_logger("uzdik.store")

# migration 0003: the lock, then the head, the documents and the streams' versions
_LOCK = sa.text(
    "SELECT kind, model, key, doc, n FROM uzdik_lock(:lock_key, CAST(:models AS TEXT[]), "
    "CAST(:keys AS TEXT[]), CAST(:streams AS TEXT[]))"
)
# migration 0004: lock, check, place, link and write in one statement (autocommit)
_WRITE = sa.text(
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
DRIVER_POOL = 6  # connections of the driver's own pool (PostgresEventStore._driver), per process
STALE_SQLSTATE = "UZ001"  # uzdik_write: a document changed since it was read
UNIQUE_VIOLATION = "23505"
# after a commit that appended events, for the relays of the service's other processes (the
# relay LISTENs on the channel: shared.relay); never inside the writing transaction
_NOTIFY_SQL = "SELECT pg_notify('uzdik_appended', '')"
NOTIFY_TIMEOUT = 5.0  # seconds for the notification's connection or statement
# the same two statements for the driver itself (numbered parameters)
_WRITE_ARGS = tuple(re.findall(r"(?<!:):(\w+)", _WRITE.text))
_WRITE_SQL = re.sub(r"(?<!:):(\w+)", lambda m: f"${_WRITE_ARGS.index(m[1]) + 1}", _WRITE.text)
_READ_SQL = (
    "SELECT kind, model, key, doc FROM uzdik_lock(NULL, CAST($1 AS TEXT[]), "
    "CAST($2 AS TEXT[]), CAST($3 AS TEXT[]))"
)
_READ_ROWS_SQL = (
    f"SELECT {', '.join(StoredRow._fields)} FROM events WHERE global_position > $1 "
    "ORDER BY global_position LIMIT $2"
)
_HEAD_SQL = "SELECT max(global_position) FROM events"
# For each row up to a position, the SHA-256 of the record the relay publishes for it
# (shared.relay.record_value_of_row, byte for byte: to_json escapes a string as json.dumps
# with ensure_ascii=False does), computed by the server; $3 is the service's JSON literal.
_RECORD_DIGESTS_SQL = (
    "SELECT event_id, global_position, stream_id, stream_version, hash, sha256(convert_to("
    """'{"event_type":' || to_json(event_type)::text || ',"global_position":' || """
    """global_position || ',"hash":' || to_json(hash)::text || ',"metadata":' || metadata """
    """|| ',"payload":' || payload || ',"prev_hash":' || to_json(prev_hash)::text || """
    """',"schema_version":' || schema_version || ',"service":' || $3 || ',"stream_id":' """
    """|| to_json(stream_id)::text || ',"stream_version":' || stream_version || '}', """
    "'UTF8')) FROM events WHERE global_position > $1 AND global_position <= $4 "
    "ORDER BY global_position LIMIT $2"
)
_WRITTEN_SQL = (
    "SELECT global_position, stream_version, prev_hash, hash FROM events "
    "WHERE event_id = ANY(CAST($1 AS TEXT[])) ORDER BY global_position"
)


def _alive(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend, an idle
    timeout) is replaced before it is handed out. The driver knows without a round trip:
    ``pool_pre_ping`` would spend three on every checkout (BEGIN, a ping, ROLLBACK: its
    asyncpg adapter wraps the ping in a transaction) — a third of a group commit's statements.
    """
    if dbapi_conn.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


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


class PostgresUnitOfWork(UnitOfWork):
    store: PostgresEventStore

    async def _take_lock(
        self, wanted: list[tuple[str, str]], names: list[str]
    ) -> tuple[tuple[int, str], dict[tuple[str, str], str], dict[str, int]]:
        rows = await self.conn.execute(
            _LOCK,
            {
                "lock_key": self.store.lock_key,
                "models": [m for m, _ in wanted],
                "keys": [k for _, k in wanted],
                "streams": names,
            },
        )
        head, docs, versions = (0, GENESIS), {}, {}
        for kind, model, key, doc, n in rows:
            if kind == "head":
                head = (int(n), key)
            elif kind == "doc":
                docs[(model, key)] = doc
            else:
                versions[key] = int(n or 0)
        return head, docs, versions

    async def write(self, batch: Batch) -> Written:
        try:
            await self.flush()  # rows appended deferred come first
            params = _write_params(batch, self.store.lock_key)
            placed = list(await self.conn.execute(_WRITE, params))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == STALE_SQLSTATE or isinstance(
                exc, IntegrityError
            ):
                raise StaleRead(str(exc.orig)[:300]) from exc
            raise
        return self._placed(Written(self.store.service, batch, [row._mapping for row in placed]))


class PostgresEventStore(EventStore):
    """The event store of a service database on PostgreSQL (shared by the service's
    processes: the append lock and the relay's leadership are the server's)."""

    shared = True  # the service's processes share the database

    def __init__(self, service: str, url: str, clock: Clock = utcnow) -> None:
        super().__init__(service, url, clock)
        self.lock_key = lock_key(f"uzdik.events.{service}")
        self._pool: asyncpg.Pool | None = None  # see _driver
        self._pool_lock = asyncio.Lock()
        self._announcing: asyncio.Task[None] | None = None  # see _announce
        self._announce_again = False
        self._notifier: asyncpg.Connection | None = None

    @staticmethod
    def _engine(url: str) -> AsyncEngine:
        # pool_recycle: a connection a middlebox dropped silently (no FIN the driver could
        # see) is not kept for longer than idle timeouts usually are
        engine = create_async_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)
        sa_event.listen(engine.sync_engine.pool, "checkout", _alive)
        return engine

    def _unit(self, conn: AsyncConnection) -> UnitOfWork:
        return PostgresUnitOfWork(self, conn)

    def _writing(self) -> AbstractAsyncContextManager[object]:
        return _nothing()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        async with super().transaction() as uow:
            yield uow
        if uow.appended:  # committed
            self._announce()

    async def close(self) -> None:
        announcing, self._announcing = self._announcing, None
        if announcing is not None:  # the last commit's notification still goes out
            try:
                await asyncio.wait_for(announcing, timeout=NOTIFY_TIMEOUT)
            except TimeoutError:
                pass
        await self._drop_notifier()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await super().close()

    async def write(self, batch: Batch) -> Written:
        """On PostgreSQL one statement in autocommit (migration 0004), where the events are
        placed and linked: the append lock is held for the server's own work only."""
        params = _write_params(batch, self.lock_key)
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
            self._announce()
            return found
        if placed:
            self.events_committed.set()
            self._announce()
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
                    self._pool = await asyncpg.create_pool(
                        **self._connect_params(),
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

    def _connect_params(self) -> dict[str, Any]:
        """The driver's connection parameters from the engine's URL."""
        _, found = self.engine.dialect.create_connect_args(self.engine.url)
        # the SQL layer's own options (e.g. its statement cache size) are not the driver's
        return {k: v for k, v in found.items() if k in _CONNECT_PARAMETERS}

    def _announce(self) -> None:
        """Tell the relays of the service's other processes that events were committed, after
        the commit: a writing transaction that NOTIFYs holds PostgreSQL's cluster-wide notify
        lock through its commit's WAL flush, and every other one waits (migration 0010). At
        most one notification is on its way; the commits made meanwhile send one more after
        it. Never waited for and never failing a command: the relay's poll finds what a lost
        notification announced."""
        self._announce_again = True
        if self._announcing is None or self._announcing.done():
            self._announcing = asyncio.create_task(self._announcer())

    async def _announcer(self) -> None:
        while self._announce_again:
            self._announce_again = False
            try:
                await self._notify()
            except Exception as exc:  # whatever it is, the command has committed: log it only
                log.warning("store.notify_failed", service=self.service, error=str(exc)[:200])
                await self._drop_notifier()

    async def _notify(self) -> None:
        """NOTIFY on a connection of its own, in autocommit with ``synchronous_commit`` off:
        the notification's commit holds the notify lock without waiting for a WAL flush."""
        if self._notifier is None or self._notifier.is_closed():
            params = self._connect_params()
            settings = {**(params.pop("server_settings", None) or {}), "synchronous_commit": "off"}
            self._notifier = await asyncpg.connect(
                **params, server_settings=settings, timeout=NOTIFY_TIMEOUT
            )
        await self._notifier.execute(_NOTIFY_SQL, timeout=NOTIFY_TIMEOUT)

    async def _drop_notifier(self) -> None:
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            try:
                await notifier.close(timeout=1.0)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                notifier.terminate()

    async def documents(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        keys = sorted(set(wanted))
        async with self._driver() as driver:  # uzdik_lock without a key takes no lock
            rows = await driver.fetch(_READ_SQL, [m for m, _ in keys], [k for _, k in keys], [])
        return {(r["model"], r["key"]): r["doc"] for r in rows if r["kind"] == "doc"}

    async def read_rows(self, after: int = 0, limit: int = 1000) -> list[StoredRow]:
        """One round trip of the driver (the relay reads while every batch of answers
        arrives; the SQL layer's transaction around a read was two more)."""
        async with self._driver() as driver:
            rows = await driver.fetch(_READ_ROWS_SQL, after, limit)
        return [StoredRow(*row) for row in rows]

    async def record_digests(
        self, service_literal: str, after: int, upto: int, limit: int = 50_000
    ) -> list[tuple[str, int, str, int, str, bytes]]:
        """(event id, position, stream, version, hash, digest of the relay's record) of the
        rows after ``after`` up to ``upto``, ``limit`` of them, the digests computed by the
        server (``uzdik audit verify``'s topic check: a row's text never leaves the server)."""
        async with self._driver() as driver:
            rows = await driver.fetch(_RECORD_DIGESTS_SQL, after, limit, service_literal, upto)
        return [tuple(row) for row in rows]

    async def head(self) -> int:
        async with self._driver() as driver:
            return int(await driver.fetchval(_HEAD_SQL) or 0)

    @asynccontextmanager
    async def leadership(self, name: str, stop: asyncio.Event) -> AsyncIterator[None]:
        """A session-level advisory lock on a connection of its own, in autocommit: it holds
        no snapshot (the tables it does not touch can be pruned or vacuumed for as long as
        the relay runs). On exit the lock is released and the connection closed, not handed
        back to the pool with the lock still held."""
        key = lock_key(name)
        conn = await self._advisory(name, stop)
        try:
            yield
        finally:
            if conn is not None:
                try:
                    await conn.scalar(sa.select(sa.func.pg_advisory_unlock(key)))
                finally:
                    await conn.invalidate()  # the session ends: nothing of it is pooled
                    await conn.close()

    async def _advisory(self, name: str, stop: asyncio.Event) -> AsyncConnection | None:
        """Wait for the advisory lock of ``name`` (retrying each second) until it is taken
        or ``stop`` is set (None)."""
        key = lock_key(name)
        while not stop.is_set():
            conn = await self.engine.connect()
            try:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                taken = await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(key)))
            except BaseException:
                await conn.close()
                raise
            if taken:
                log.info("relay.active", lock=name)
                return conn
            await conn.close()
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass
        return None


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
