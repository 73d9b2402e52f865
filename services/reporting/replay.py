"""Replay for auditors: rebuild every read model from position zero of every log, into a fresh
table, prove it equals the live one (a digest per read model), then swap it in.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import uuid4

import sqlalchemy as sa

from services.reporting.projections import Doc, apply_in_memory, load_all
from shared.store import schema
from shared.store.canonical import canonical_json
from shared.store.eventstore import EventStore

State = dict[tuple[str, str], Doc]
Progress = Callable[[int, int, float], None]  # done, total, events/s


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


async def fold(source: EventSource, progress: Progress | None = None) -> tuple[State, int, int]:
    """Fold every event once (duplicates on an at-least-once topic are skipped by id)."""
    load_all()
    total = await source.total()
    state: State = {}
    seen: set[str] = set()
    done = dups = 0
    started = time.perf_counter()
    async for batch in source.batches():
        for event in batch:
            event_id = event["metadata"]["event_id"]
            if event_id in seen:
                dups += 1
                continue
            seen.add(event_id)
            apply_in_memory(state, event)
        done += len(batch)
        if progress:
            progress(done, total, done / max(time.perf_counter() - started, 1e-9))
    return state, done - dups, dups


def digests_of(rows: list[tuple[str, str, str]]) -> dict[str, str]:
    by_model: dict[str, Any] = {}
    for model, key, doc in sorted(rows):
        h = by_model.setdefault(model, hashlib.sha256())
        h.update(json.dumps([key, doc], ensure_ascii=False).encode())
    return {model: h.hexdigest() for model, h in by_model.items()}


def state_rows(state: State) -> list[tuple[str, str, str]]:
    return [(m, k, canonical_json(d)) for (m, k), d in state.items()]


async def live_rows(store: EventStore, table: str = "documents") -> list[tuple[str, str, str]]:
    t = schema.documents_table(table)
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(t.c.model, t.c.key, t.c.doc))
        return [(r.model, r.key, r.doc) for r in rows]


async def swap_in(store: EventStore, rows: list[tuple[str, str, str]]) -> None:
    """Write the rebuilt state into a fresh table, then swap it for the live one atomically."""
    name = f"documents_{uuid4().hex[:12]}"  # fresh name: PostgreSQL keeps index names on rename
    fresh = schema.documents_table(name)
    async with store.engine.begin() as conn:
        await conn.run_sync(fresh.metadata.create_all)
        for i in range(0, len(rows), 5000):
            chunk = rows[i : i + 5000]
            await conn.execute(
                fresh.insert(), [{"model": m, "key": k, "doc": d} for m, k, d in chunk]
            )
    async with store.transaction() as uow:
        await uow.conn.execute(sa.text("DROP TABLE IF EXISTS documents_previous"))
        await uow.conn.execute(sa.text("ALTER TABLE documents RENAME TO documents_previous"))
        await uow.conn.execute(sa.text(f"ALTER TABLE {name} RENAME TO documents"))
        await uow.conn.execute(sa.text("DROP TABLE documents_previous"))


async def replay(
    source: EventSource, store: EventStore, progress: Progress | None = None, swap: bool = True
) -> ReplayReport:
    started = time.perf_counter()
    state, events, dups = await fold(source, progress)
    rows = state_rows(state)
    report = ReplayReport(events, dups, time.perf_counter() - started)
    report.rebuilt = digests_of(rows)
    report.live = digests_of(await live_rows(store))
    if swap:
        await swap_in(store, rows)
    return report
