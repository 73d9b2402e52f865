"""The live projector: every event of every topic, folded into reporting's read models."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections import audit, load_all, targets
from services.reporting.results import publish
from shared.consumers import Consumer
from shared.events import Envelope
from shared.store import schema
from shared.store.docs import CachedDocStore, DocStore
from shared.store.eventstore import EventStore, UnitOfWork

SOURCES = ["nominations", "scoring", "survey"]


def insert_ignoring_existing(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT that skips rows whose primary key is already there (a redelivered event)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def write_audit_rows(conn: AsyncConnection, rows: list[audit.Row]) -> None:
    if rows:
        stmt = insert_ignoring_existing(conn, schema.audit_trail)
        await conn.execute(stmt, [dict(zip(audit.COLUMNS, r, strict=True)) for r in rows])


class ProjectionDocs(CachedDocStore):
    """The batch's write-behind documents, plus the batch's audit rows: one INSERT per batch,
    at the flush, in the batch's transaction."""

    def __init__(self, conn: AsyncConnection, adopt: CachedDocStore | None = None) -> None:
        super().__init__(conn)
        if adopt is not None:
            self._cache, self._dirty = adopt._cache, adopt._dirty
        self.audit_rows: list[audit.Row] = []

    async def flush(self) -> None:
        await super().flush()
        rows, self.audit_rows = self.audit_rows, []
        await write_audit_rows(self.conn, rows)


async def _record_audit(uow: UnitOfWork, event: dict[str, Any]) -> None:
    docs: DocStore = uow.docs
    if isinstance(docs, CachedDocStore) and not isinstance(docs, ProjectionDocs):
        docs = uow.docs = ProjectionDocs(uow.conn, adopt=docs)  # the consumer flushes uow.docs
    if isinstance(docs, ProjectionDocs):
        docs.audit_rows.append(audit.row_of(event))
    else:  # one event in its own transaction
        await write_audit_rows(uow.conn, [audit.row_of(event)])


async def fold(uow: UnitOfWork, envelope: Envelope) -> None:
    """Fold into the read models."""
    event = envelope.model_dump(mode="json")
    await _record_audit(uow, event)
    for t in targets(event):
        new = t.fold(await uow.docs.get(t.model, t.key), event)
        if new is None:
            await uow.docs.delete(t.model, t.key)
        else:
            await uow.docs.put(t.model, t.key, new)


def projector(store: EventStore, issuer: str = "uzdik-dev") -> Consumer:
    """Fold every event, then publish what integrators (and the republic) subscribe to, in the
    same transaction; ``issuer`` is the deployment's (its tokens' ``iss``), named in a
    finalist's dossier."""
    load_all()
    consumer = Consumer("reporting", store, SOURCES, cache_docs=True)

    @consumer.on("*")
    async def project(uow: UnitOfWork, envelope: Envelope) -> None:
        await fold(uow, envelope)
        if envelope.service == "scoring":
            await publish(uow, envelope, issuer)

    return consumer
