"""Read models as JSON documents keyed by (model, key), in the service's own database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.store import schema
from shared.store.canonical import canonical_json


class DocStore:
    def __init__(self, conn: AsyncConnection, table: sa.Table = schema.documents) -> None:
        self.conn = conn
        self.table = table

    async def get(self, model: str, key: str) -> dict[str, Any] | None:
        t = self.table.c
        text = await self.conn.scalar(sa.select(t.doc).where(t.model == model, t.key == key))
        return None if text is None else dict(json.loads(text))

    async def put(self, model: str, key: str, doc: dict[str, Any]) -> None:
        t = self.table
        text = canonical_json(doc)
        updated = await self.conn.execute(
            t.update().where(t.c.model == model, t.c.key == key).values(doc=text)
        )
        if updated.rowcount == 0:
            await self.conn.execute(t.insert().values(model=model, key=key, doc=text))

    async def delete(self, model: str, key: str) -> None:
        t = self.table
        await self.conn.execute(t.delete().where(t.c.model == model, t.c.key == key))

    async def list(self, model: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        t = self.table.c
        query = sa.select(t.key, t.doc).where(t.model == model)
        if prefix:
            query = query.where(t.key.startswith(prefix))
        rows = await self.conn.execute(query.order_by(t.key))
        return [(r.key, json.loads(r.doc)) for r in rows]

    async def iter_all(self) -> AsyncIterator[tuple[str, str, str]]:
        t = self.table.c
        rows = await self.conn.stream(sa.select(t.model, t.key, t.doc).order_by(t.model, t.key))
        async for r in rows:
            yield r.model, r.key, r.doc
