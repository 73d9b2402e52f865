"""Recompute a service's hash chain; name the first event that does not match."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from shared.store import schema
from shared.store.canonical import GENESIS, event_hash
from shared.store.eventstore import EventStore


@dataclass(frozen=True)
class Discrepancy:
    service: str
    global_position: int
    event_id: str
    stream_id: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.service}: event {self.event_id} at position {self.global_position} "
            f"(stream {self.stream_id}): {self.reason}"
        )


@dataclass(frozen=True)
class ChainReport:
    service: str
    events: int
    head_hash: str
    discrepancy: Discrepancy | None

    @property
    def ok(self) -> bool:
        return self.discrepancy is None


async def verify_chain(
    store: EventStore, batch: int = 5000, tick: Callable[[int], None] | None = None
) -> ChainReport:
    """Walk the store in position order, recomputing every hash from the stored bytes;
    ``tick(events checked so far)`` after each batch (a progress display)."""
    ev = schema.events
    prev, expected_position, count, after = GENESIS, 1, 0, 0
    async with store.engine.connect() as conn:
        while True:
            rows = (
                await conn.execute(
                    sa.select(ev)
                    .where(ev.c.global_position > after)
                    .order_by(ev.c.global_position)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return ChainReport(store.service, count, prev, None)
            for row in rows:
                problem = _check(row, prev, expected_position)
                if problem:
                    found = Discrepancy(
                        store.service, row.global_position, row.event_id, row.stream_id, problem
                    )
                    return ChainReport(store.service, count, prev, found)
                prev, expected_position, count = row.hash, expected_position + 1, count + 1
            after = rows[-1].global_position
            if tick is not None:
                tick(count)


def _check(row: sa.Row[tuple[object, ...]], prev: str, expected_position: int) -> str | None:
    if row.global_position != expected_position:
        return f"position gap: expected {expected_position}"
    if row.prev_hash != prev:
        return "prev_hash does not link to the previous event"
    try:
        payload, metadata = json.loads(row.payload), json.loads(row.metadata)
    except ValueError:
        return "stored payload or metadata is not valid JSON"
    if metadata.get("event_id") != row.event_id:
        return "event_id differs from the one in its metadata"
    fields = {
        "global_position": row.global_position,
        "stream_id": row.stream_id,
        "stream_version": row.stream_version,
        "event_type": row.event_type,
        "schema_version": row.schema_version,
        "payload": payload,
        "metadata": metadata,
    }
    digest = event_hash(prev, fields)
    if digest != row.hash:
        return "content altered: recomputed hash differs from the stored hash"
    return None
