"""The relay of the transactional outbox: appended events → ``uzdik.<service>.events``.

At-least-once: the published mark moves only past events Kafka acknowledged, in position order,
so a broker outage loses nothing and a retry re-sends from the first unacknowledged event.
Only one relay per service is active: PostgreSQL advisory lock (a process lock on SQLite).
It wakes when its own process commits events (``EventStore.events_committed``) or, on
PostgreSQL, when another process does (``LISTEN uzdik_appended``; the writer's store
notifies after its commit, never inside it: see ``shared.store.postgres``); its poll stays
as the safety net.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events import Envelope
from shared.logging import get_logger
from shared.metrics import RELAY_BACKLOG, RELAY_ERRORS, RELAY_PUBLISHED
from shared.store import schema
from shared.store.canonical import canonical_json, json_string
from shared.store.eventstore import EventStore

log = get_logger("uzdik.relay")
APPENDED = "uzdik_appended"  # notified after a commit that appended events (the store)


def topic_for(service: str, prefix: str = "uzdik") -> str:
    return f"{prefix}.{service}.events"


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes
    headers: dict[str, str]


def to_record(envelope: Envelope) -> Record:
    return Record(
        key=envelope.stream_id.encode(),
        value=canonical_json(envelope.model_dump(mode="json")).encode(),
        headers={
            "event_type": envelope.event_type,
            "event_id": str(envelope.event_id),
            "schema_version": str(envelope.schema_version),
            "stream_version": str(envelope.stream_version),
            "global_position": str(envelope.global_position),
            "hash": envelope.hash,
        },
    )


def record_of_row(service: str, row: Any) -> Record:
    """:func:`to_record` of the row's envelope, from the stored row itself: the payload and
    metadata texts are spliced into the envelope's canonical JSON as stored (the bytes their
    hash was computed over), without decoding and encoding them again."""
    return Record(
        key=row.stream_id.encode(),
        value=record_value_of_row(json_string(service), row),
        headers={
            "event_type": row.event_type,
            "event_id": row.event_id,
            "schema_version": str(row.schema_version),
            "stream_version": str(row.stream_version),
            "global_position": str(row.global_position),
            "hash": row.hash,
        },
    )


def record_value_of_row(service_literal: str, row: Any) -> bytes:
    """The value of :func:`record_of_row` alone; ``service_literal`` is the service's name as
    a JSON string (``json_string(service)``, made once by a caller with many rows)."""
    return (
        f'{{"event_type":{json_string(row.event_type)},"global_position":{int(row.global_position)},'
        f'"hash":{json_string(row.hash)},"metadata":{row.metadata},"payload":{row.payload},'
        f'"prev_hash":{json_string(row.prev_hash)},"schema_version":{int(row.schema_version)},'
        f'"service":{service_literal},"stream_id":{json_string(row.stream_id)},'
        f'"stream_version":{int(row.stream_version)}}}'
    ).encode()


class LogPublisher(Protocol):
    async def publish(self, topic: str, records: Sequence[Record]) -> int:
        """Send in order; return how many from the start Kafka acknowledged."""
        ...


class Relay:
    def __init__(
        self,
        store: EventStore,
        publisher: LogPublisher,
        topic: str | None = None,
        batch_size: int = 500,
        idle_seconds: float = 0.05,
        mark_seconds: float = 0.1,
        wake: bool = True,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.topic = topic or topic_for(store.service)
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        # while events keep coming, the running relay stores its mark at most this often (a
        # transaction of its own each time); it stores it at once whenever it catches up. A
        # relay that dies re-sends at most this much: at-least-once, consumers are idempotent.
        self.mark_seconds = mark_seconds
        # woken by a commit of this process's store (see EventStore.events_committed); False:
        # the poll alone (the reference of bench/relay_wake.py)
        self.wake = wake

    async def published_position(self) -> int:
        rs = schema.relay_state.c
        async with self.store.engine.connect() as conn:
            value = await conn.scalar(sa.select(rs.published_position).where(rs.name == self.topic))
            return int(value or 0)

    async def _mark(self, position: int) -> None:
        rs = schema.relay_state
        async with self.store.engine.begin() as conn:
            done = await conn.execute(  # never backwards (a relay that lost its lock unseen)
                rs.update()
                .where(rs.c.name == self.topic, rs.c.published_position < position)
                .values(published_position=position)
            )
            if done.rowcount == 0 and await self._unmarked(conn):
                await conn.execute(rs.insert().values(name=self.topic, published_position=position))

    async def _unmarked(self, conn: AsyncConnection) -> bool:
        rs = schema.relay_state.c
        return await conn.scalar(sa.select(rs.name).where(rs.name == self.topic)) is None

    async def backlog(self) -> int:
        return await self.store.head() - await self.published_position()

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; return how many were acknowledged."""
        acked, _ = await self._publish_after(await self.published_position())
        return acked

    async def _publish_after(self, after: int, mark: bool = True) -> tuple[int, int]:
        """Publish one batch after position ``after``; (acknowledged, the new mark). The mark
        is stored unless ``mark`` is false (the caller stores it)."""
        pending = await self.store.read_rows(after=after, limit=self.batch_size)
        if not pending:
            RELAY_BACKLOG.labels(self.store.service).set(0)
            return 0, after
        service = self.store.service
        acked = await self.publisher.publish(
            self.topic, [record_of_row(service, r) for r in pending]
        )
        if acked:
            after = pending[acked - 1].global_position
            if mark:
                await self._mark(after)
            RELAY_PUBLISHED.labels(self.store.service).inc(acked)
        if acked < len(pending):
            raise RuntimeError(f"Kafka acknowledged {acked} of {len(pending)} events")
        # a full batch may leave more behind; a short one was everything there was
        backlog = await self.store.head() - after if len(pending) == self.batch_size else 0
        RELAY_BACKLOG.labels(self.store.service).set(backlog)
        return acked, after

    async def drain(self) -> int:
        total = 0
        while n := await self.publish_pending():
            total += n
        return total

    async def run(self, stop: asyncio.Event) -> None:
        async with single_active(self.store, f"relay.{self.topic}", stop):
            listener = AppendListener(self.store) if self.wake else None
            try:
                await self._loop(stop, listener)
            finally:
                if listener is not None:
                    await listener.close()

    async def _loop(self, stop: asyncio.Event, listener: AppendListener | None = None) -> None:
        delay = 0.2
        mark: int | None = None  # the published mark: only this (single active) relay moves it
        stored = 0  # the mark as stored
        stored_at = time.monotonic()
        while not stop.is_set():
            try:
                if mark is None:
                    mark = stored = await self.published_position()
                # cleared before the read: a commit after the read wakes the wait below
                self.store.events_committed.clear()
                n, mark = await self._publish_after(mark, mark=False)
                delay = 0.2
                now = time.monotonic()
                if mark != stored and (n == 0 or now - stored_at >= self.mark_seconds):
                    await self._mark(mark)
                    stored, stored_at = mark, now
                if n == 0 and listener is not None:
                    await listener.ensure()
                    await _appended_or_stop(self.store, stop, self.idle_seconds)
                elif n == 0:
                    await _sleep_or_stop(stop, self.idle_seconds)
            except Exception as exc:  # the broker may be down: retry, lose nothing
                mark = None  # read it again: a failed commit may or may not have landed
                RELAY_ERRORS.labels(self.store.service).inc()
                with suppress(Exception):  # the backlog grows while Kafka is away: show it
                    RELAY_BACKLOG.labels(self.store.service).set(await self.backlog())
                log.warning(
                    "relay.publish_failed", topic=self.topic, error=str(exc), retry_in=delay
                )
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, 5.0)
        if mark is not None and mark != stored:  # stopping: what was published is marked
            with suppress(Exception):
                await self._mark(mark)


class AppendListener:
    """A commit of another process that appended events to ``store`` sets its
    ``events_committed``, as a commit of this process does: PostgreSQL's NOTIFY (sent by the
    writing process's store after its commit), heard on a connection of its own.
    :meth:`ensure` (re)connects when that connection is missing or lost, at most every
    ``retry_seconds``; meanwhile the relay's poll finds such events. Nothing to do on SQLite
    (one process per store)."""

    def __init__(self, store: EventStore, retry_seconds: float = 5.0) -> None:
        self.store, self.retry_seconds = store, retry_seconds
        self.enabled = store.engine.dialect.name == "postgresql"
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        self._retry_at = 0.0

    def _heard(self, *_: object) -> None:
        self.store.events_committed.set()

    async def ensure(self) -> None:
        """Listening, or trying again if it is time to."""
        if not self.enabled or (self._driver is not None and not self._driver.is_closed()):
            return
        if time.monotonic() < self._retry_at:
            return
        await self.close()
        try:
            self._conn = await self.store.engine.connect()
            self._driver = (await self._conn.get_raw_connection()).driver_connection
            await self._driver.add_listener(APPENDED, self._heard)
            self._driver.add_termination_listener(self._heard)  # lost: the loop reconnects
        except Exception as exc:  # the database is away: the poll goes on meanwhile
            log.warning("relay.listen_failed", error=str(exc)[:200], retry_in=self.retry_seconds)
            self._retry_at = time.monotonic() + self.retry_seconds
            await self.close()
            return
        self.store.events_committed.set()  # what was committed while not listening

    async def close(self) -> None:
        conn, driver, self._conn, self._driver = self._conn, self._driver, None, None
        if driver is not None and not driver.is_closed():
            with suppress(Exception):
                await driver.remove_listener(APPENDED, self._heard)
        if conn is not None:
            with suppress(Exception):
                await conn.invalidate()  # a listening session is not handed back to the pool
            with suppress(Exception):
                await conn.close()


async def _appended_or_stop(store: EventStore, stop: asyncio.Event, seconds: float) -> None:
    """Wait until this process commits events to ``store``, ``stop`` is set, or ``seconds``
    pass (the poll that finds what another process appended)."""
    waits = [
        asyncio.ensure_future(store.events_committed.wait()),
        asyncio.ensure_future(stop.wait()),
    ]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


class single_active:
    """Active while no other relay of the same name is: in this process an asyncio lock, and
    among the processes sharing the database the store's :meth:`~EventStore.leadership`
    (PostgreSQL: a session advisory lock in autocommit, holding no snapshot); others wait as
    standbys."""

    _local: ClassVar[dict[str, asyncio.Lock]] = {}

    def __init__(self, store: EventStore, name: str, stop: asyncio.Event) -> None:
        self.store, self.name, self.stop = store, name, stop
        self._lock = self._local.setdefault(f"{store.url}#{name}", asyncio.Lock())
        self._leading: AbstractAsyncContextManager[None] | None = None

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        try:
            leading = self.store.leadership(self.name, self.stop)
            await leading.__aenter__()
        except BaseException:  # the database went away while trying: let the caller retry
            self._lock.release()
            raise
        self._leading = leading

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._leading is not None:
                leading, self._leading = self._leading, None
                await leading.__aexit__(None, None, None)
        finally:
            self._lock.release()
