"""Read models as JSON documents keyed by (model, key), in the service's own database."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import lru_cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.store import schema
from shared.store.canonical import canonical_json_fast


def parse(text: str) -> Any:
    """A stored document's JSON (orjson; ``json`` for what orjson refuses: integers beyond 64
    bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class _Statements:
    """A documents table's statements, built once: building a statement and its cache key on
    every call cost more than running it on SQLite (``bench/README.md``, "The demo")."""

    def __init__(self, table: sa.Table) -> None:
        t = table.c
        one = sa.and_(t.model == sa.bindparam("b_model"), t.key == sa.bindparam("b_key"))
        self.get = sa.select(t.doc).where(one)
        self.update = table.update().where(one).values(doc=sa.bindparam("b_doc"))
        self.insert = table.insert()
        self.delete = table.delete().where(one)
        # the same as plain SQL, for a raw DB-API connection (SQLite's placeholders)
        name = table.name
        self.raw_get = f'SELECT doc FROM {name} WHERE model = ? AND "key" = ?'
        self.raw_update = f'UPDATE {name} SET doc = ? WHERE model = ? AND "key" = ?'
        self.raw_list = f'SELECT "key", doc FROM {name} WHERE model = ? ORDER BY "key"'
        self.raw_list_prefix = (
            f'SELECT "key", doc FROM {name} WHERE model = ? AND "key" >= ? AND "key" < ? '
            'AND substr("key", 1, ?) = ? ORDER BY "key"'
        )


@lru_cache(maxsize=64)
def statements(table: sa.Table) -> _Statements:
    return _Statements(table)


Raw = Callable[[], Awaitable[Any]]
"""The transaction's own DB-API connection, for statements run without SQLAlchemy's layers
(SQLite, whose calls run inline: see ``SqliteUnitOfWork.raw``)."""


class DocStore:
    def __init__(
        self, conn: AsyncConnection, table: sa.Table = schema.documents, raw: Raw | None = None
    ) -> None:
        self.conn = conn
        self.table = table
        self.raw = raw
        self._sql = statements(table)

    async def get(self, model: str, key: str) -> dict[str, Any] | None:
        text = await self.get_text(model, key)
        return None if text is None else dict(parse(text))

    async def get_text(self, model: str, key: str) -> str | None:
        if self.raw is not None:
            found = (await self.raw()).execute(self._sql.raw_get, (model, key)).fetchone()
            return None if found is None else str(found[0])
        text = await self.conn.scalar(self._sql.get, {"b_model": model, "b_key": key})
        return None if text is None else str(text)

    async def insert_text(self, model: str, key: str, text: str) -> None:
        """A new document; one that exists already fails on the primary key."""
        await self.conn.execute(self._sql.insert, {"model": model, "key": key, "doc": text})

    async def put(self, model: str, key: str, doc: dict[str, Any]) -> None:
        await self.put_text(model, key, canonical_json_fast(doc))

    async def put_text(self, model: str, key: str, text: str) -> None:
        if self.raw is not None:
            replaced = (await self.raw()).execute(self._sql.raw_update, (text, model, key)).rowcount
        else:
            updated = await self.conn.execute(
                self._sql.update, {"b_model": model, "b_key": key, "b_doc": text}
            )
            replaced = updated.rowcount
        if replaced == 0:  # not self.insert_text: a write-behind store flushes there
            await self.conn.execute(self._sql.insert, {"model": model, "key": key, "doc": text})

    async def delete(self, model: str, key: str) -> None:
        await self.conn.execute(self._sql.delete, {"b_model": model, "b_key": key})

    async def list_text(self, model: str, prefix: str = "") -> list[tuple[str, str]]:
        """The documents of ``model`` (keys starting with ``prefix``) as stored, by key."""
        if self.raw is not None:
            raw = await self.raw()
            if not prefix:
                found = raw.execute(self._sql.raw_list, (model,))
            else:  # the key's index from the prefix on, then the prefix exactly
                end = prefix + "\U0010ffff"
                found = raw.execute(
                    self._sql.raw_list_prefix, (model, prefix, end, len(prefix), prefix)
                )
            return [(str(key), str(doc)) for key, doc in found.fetchall()]
        t = self.table.c
        query = sa.select(t.key, t.doc).where(t.model == model)
        if prefix:
            query = query.where(t.key.startswith(prefix, autoescape=True))
        rows = await self.conn.execute(query.order_by(t.key))
        return [(r.key, str(r.doc)) for r in rows]

    async def list(self, model: str, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        return [(key, parse(text)) for key, text in await self.list_text(model, prefix)]

    async def iter_all(self) -> AsyncIterator[tuple[str, str, str]]:
        t = self.table.c
        rows = await self.conn.stream(sa.select(t.model, t.key, t.doc).order_by(t.model, t.key))
        async for r in rows:
            yield r.model, r.key, r.doc


class CachedDocStore(DocStore):
    """Write-behind over a DocStore for one batch: each document is read and written once per
    batch, however many events of the batch fold into it (a protocol gathers hundreds)."""

    def __init__(
        self, conn: AsyncConnection, table: sa.Table = schema.documents, raw: Raw | None = None
    ) -> None:
        super().__init__(conn, table, raw)
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._dirty: set[tuple[str, str]] = set()

    async def get(self, model: str, key: str) -> dict[str, Any] | None:
        if (model, key) not in self._cache:
            self._cache[(model, key)] = await super().get(model, key)
        return self._cache[(model, key)]

    async def get_text(self, model: str, key: str) -> str | None:
        if (model, key) in self._cache:
            doc = self._cache[(model, key)]
            return None if doc is None else canonical_json_fast(doc)
        return await super().get_text(model, key)

    async def insert_text(self, model: str, key: str, text: str) -> None:
        await self.flush()
        await super().insert_text(model, key, text)

    async def put(self, model: str, key: str, doc: dict[str, Any]) -> None:
        self._cache[(model, key)] = doc
        self._dirty.add((model, key))

    async def delete(self, model: str, key: str) -> None:
        self._cache[(model, key)] = None
        self._dirty.add((model, key))

    async def list_text(self, model: str, prefix: str = "") -> list[tuple[str, str]]:
        await self.flush()
        return await super().list_text(model, prefix)

    async def flush(self) -> None:
        for model, key in sorted(self._dirty):
            doc = self._cache[(model, key)]
            if doc is None:
                await super().delete(model, key)
            else:
                await super().put(model, key, doc)
        self._dirty.clear()
