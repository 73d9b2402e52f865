"""Recompute a service's hash chain; name the first event that does not match.

Each link is first computed from the stored texts of the payload and the metadata as they are
(the store hashed exactly those canonical texts when it wrote them, see
:func:`shared.store.canonical.event_hash`): no decoding and encoding again per event. A row
whose link does not match that way is checked again the exact way (decoded, re-encoded
canonically), which names what is wrong with it; so the fast way decides nothing the exact
way would decide differently for a row the store wrote.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from shared.store.canonical import GENESIS, chain, event_bytes_of_text, event_hash
from shared.store.eventstore import EventStore
from shared.store.rows import StoredRow

Row = Sequence[Any]  # a StoredRow, or a tuple of its fields in that order


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


async def event_rows(store: EventStore, batch: int = 20000) -> AsyncIterator[list[StoredRow]]:
    """The store's event rows in position order, ``batch`` at a time, as stored
    (:meth:`EventStore.read_rows`: on PostgreSQL one driver round trip per batch)."""
    after = 0
    while rows := await store.read_rows(after=after, limit=batch):
        yield rows
        after = rows[-1].global_position


async def verify_chain(
    store: EventStore, batch: int = 20000, tick: Callable[[int], None] | None = None
) -> ChainReport:
    """Walk the store in position order, recomputing every hash from the stored bytes;
    ``tick(events checked so far)`` after each batch (a progress display)."""
    prev, expected_position, count = GENESIS, 1, 0
    async for rows in event_rows(store, batch):
        for row in rows:
            problem = check_row(row, prev, expected_position)
            if problem:
                found = Discrepancy(store.service, row[0], row[5], row[1], problem)
                return ChainReport(store.service, count, prev, found)
            prev, expected_position, count = row[9], expected_position + 1, count + 1
        if tick is not None:
            tick(count)
    return ChainReport(store.service, count, prev, None)


def check_row(row: Row, prev: str, expected_position: int) -> str | None:
    """What is wrong with one row, given the previous row's hash; None when nothing."""
    position, stream_id, version, event_type, schema_version, event_id = row[:6]
    payload, metadata, prev_hash, stored_hash = row[6:]
    if position != expected_position:
        return f"position gap: expected {expected_position}"
    if prev_hash != prev:
        return "prev_hash does not link to the previous event"
    linked = chain(
        prev,
        event_bytes_of_text(
            global_position=position,
            stream_id=stream_id,
            stream_version=version,
            event_type=event_type,
            schema_version=schema_version,
            payload_text=payload,
            metadata_text=metadata,
        ),
    )
    if linked == stored_hash and _event_id_of(metadata) == event_id:
        return None
    return _check_exactly(row, prev)


def _event_id_of(metadata: str) -> object:
    try:
        found = orjson.loads(metadata)
    except orjson.JSONDecodeError:
        return None
    return found.get("event_id") if type(found) is dict else None


def _check_exactly(row: Row, prev: str) -> str | None:
    """The row decoded and re-encoded canonically (the slow way, for rows the fast way
    refused): names what is wrong."""
    position, stream_id, version, event_type, schema_version, event_id = row[:6]
    try:
        payload, metadata = json.loads(row[6]), json.loads(row[7])
    except ValueError:
        return "stored payload or metadata is not valid JSON"
    if not isinstance(metadata, dict) or metadata.get("event_id") != event_id:
        return "event_id differs from the one in its metadata"
    fields = {
        "global_position": position,
        "stream_id": stream_id,
        "stream_version": version,
        "event_type": event_type,
        "schema_version": schema_version,
        "payload": payload,
        "metadata": metadata,
    }
    if event_hash(prev, fields) != row[9]:
        return "content altered: recomputed hash differs from the stored hash"
    return None
