"""Migration 0002 moves 0001's audit documents into the audit_trail table."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from shared.migrations import _config, upgrade
from shared.store import schema
from shared.store.eventstore import make_engine

DOC = {
    "service": "nominations",
    "position": 7,
    "event_id": "6f1c6a52-4d0c-4b39-9a7e-2d7c2f2a0001",
    "event_type": "ApplicationSubmitted",
    "stream_id": "application-1",
    "stream_version": 1,
    "occurred_at": "2020-06-01T10:00:00Z",
    "recorded_at": "2020-06-01T10:00:01Z",
    "actor": {"id": "nominator-75", "role": "nominator", "region": "75"},
    "correlation_id": "cid",
    "causation_id": None,
    "hash": "ab" * 32,
}


async def test_audit_documents_become_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_config(c), "0001"))
            await conn.execute(
                schema.documents.insert(),
                [
                    {"model": "audit", "key": "nominations:000000000007", "doc": json.dumps(DOC)},
                    {"model": "editions", "key": "e1", "doc": "{}"},
                ],
            )
        await upgrade(engine)
        from services.reporting.projections import audit

        t = schema.audit_trail
        async with engine.connect() as conn:
            rows = [
                tuple(r) for r in await conn.execute(sa.select(*(t.c[c] for c in audit.COLUMNS)))
            ]
            models = (await conn.execute(sa.select(schema.documents.c.model))).scalars().all()
        assert [audit.item_of(r) for r in rows] == [DOC]
        assert models == ["editions"]
    finally:
        await engine.dispose()
