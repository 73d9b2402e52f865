"""The audit trail as a table: written by the live projector, rebuilt and swapped by replay,
compared by an order-independent digest (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.reporting.entrypoints.consumers import projector
from services.reporting.projections import audit
from services.reporting.replay import audit_digest_of, live_digests, replay
from shared.events import Actor, Envelope, Metadata
from shared.migrations import upgrade
from shared.store import schema
from shared.store.eventstore import EventStore, open_store

T0 = datetime(2020, 6, 1, 10, tzinfo=UTC)


def envelope(service: str, position: int, event_type: str, payload: dict[str, Any]) -> Envelope:
    return Envelope(
        service=service,
        global_position=position,
        stream_id=f"stream-{position % 3}\twith a tab",
        stream_version=position,
        event_type=event_type,
        schema_version=1,
        payload=payload,
        metadata=Metadata(
            event_id=uuid.uuid4(),
            occurred_at=T0 + timedelta(seconds=position),
            recorded_at=T0 + timedelta(seconds=position, microseconds=position),
            actor=Actor(id="organiser-1", role="organiser", region="75" if position % 2 else None),
            correlation_id=f"cid-{position}",
            causation_id=None if position % 2 else f"cause-{position}\\N",
        ),
        prev_hash="0" * 64,
        hash=f"{position:064x}",
    )


def log() -> list[Envelope]:
    out = [envelope("nominations", 1, "EditionAnnounced", {"edition_id": "e1", "year": 2020})]
    out += [envelope("nominations", p, "SomethingElse", {}) for p in range(2, 40)]
    out += [envelope("survey", p, "SomethingElse", {"Ж": "қ"}) for p in range(1, 30)]
    return out


class ListSource:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    async def total(self) -> int:
        return len(self.events)

    async def batches(self) -> AsyncIterator[list[dict[str, Any]]]:
        for i in range(0, len(self.events), 7):
            yield self.events[i : i + 7]


async def audit_rows(store: EventStore) -> list[tuple[Any, ...]]:
    t = schema.audit_trail
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(*(t.c[c] for c in audit.COLUMNS)))
        return sorted(tuple(r) for r in rows)


async def test_live_audit_rows_replay_identical_and_swap(store_url: str) -> None:
    store = open_store("reporting", store_url)
    try:
        await upgrade(store.engine)
        consumer = projector(store)
        events = log()
        await consumer.handle_batch(events[:20])
        await consumer.handle_batch(events[10:])  # redelivered: skipped, no duplicate rows
        await consumer.handle_batch([events[5]])
        live = await audit_rows(store)
        assert len(live) == len(events)
        assert live == sorted(audit.row_of(e.model_dump(mode="json")) for e in events)
        async with store.engine.connect() as conn:
            t = schema.documents
            n = await conn.scalar(sa.select(sa.func.count()).where(t.c.model == "audit"))
            assert n == 0  # no audit documents any more

        as_json = [e.model_dump(mode="json") for e in events]
        source = ListSource([*as_json[::-1], *as_json[:5]])  # any order, with duplicates
        report = await replay(source, store, swap=False)
        assert report.identical, report.differing()
        assert report.duplicates == 5 and report.events == len(events)
        assert report.rebuilt["audit"].startswith(f"{len(events)}:")
        assert "editions" in report.rebuilt

        report = await replay(ListSource(as_json), store, swap=True)
        assert report.identical
        assert await audit_rows(store) == live  # swapped in: same rows
        again = await replay(ListSource(as_json), store, swap=False)
        assert again.identical and again.live == report.live

        # A live row altered behind the projector's back is named.
        t = schema.audit_trail
        async with store.engine.begin() as conn:
            await conn.execute(
                t.update().where(t.c.service == "survey", t.c.position == 3).values(actor_id="x")
            )
        tampered = await replay(ListSource(as_json), store, swap=False)
        assert tampered.differing() == ["audit"]
        async with store.engine.connect() as conn:
            assert await audit_digest_of(conn) == (await live_digests(store))["audit"]
    finally:
        await store.close()
