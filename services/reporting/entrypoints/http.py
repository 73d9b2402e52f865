"""Reporting's read API: read models over HTTP, filterable, cursor-paginated."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.reporting.projections import audit
from shared.auth import Principal
from shared.edge import principal
from shared.errors import NotFound
from shared.runtime import ServiceContext
from shared.store import schema

READERS = ("organiser", "auditor", "secretary", "chair", "member", "operator", "ethics")
MODELS = ("editions", "commissions", "surveys", "audit")


class Page(BaseModel):
    items: list[dict[str, Any]] = Field(description="documents of the read model, by key")
    next: str | None = Field(None, description="cursor: pass as ?after= for the next page")


def _matches(doc: dict[str, Any], filters: dict[str, str | None]) -> bool:
    return all(v is None or str(doc.get(k)) == v for k, v in filters.items())


async def _audit_page(
    ctx: ServiceContext,
    after: str | None,
    limit: int,
    service: str | None,
    stream_id: str | None,
) -> Page:
    """The audit trail, from its own table, in (service, position) order."""
    t = schema.audit_trail
    query = sa.select(*(t.c[c] for c in audit.COLUMNS))
    if after is not None:
        svc, position = audit.parse_cursor(after)
        query = query.where(sa.tuple_(t.c.service, t.c.position) > sa.tuple_(svc, position))
    if service is not None:
        query = query.where(t.c.service == service)
    if stream_id is not None:
        query = query.where(t.c.stream_id == stream_id)
    query = query.order_by(t.c.service, t.c.position).limit(limit + 1)
    async with ctx.store.reader() as uow:
        rows = [tuple(r) for r in await uow.conn.execute(query)]
    page = rows[:limit]
    return Page(
        items=[audit.item_of(r) for r in page],
        next=audit.cursor_of(page[-1]) if len(rows) > limit else None,
    )


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["read models"])

    @api.get("/read-models/{model}", response_model=Page)
    async def list_model(
        model: str,
        after: str | None = Query(None, description="cursor from the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        edition_id: str | None = None,
        region: str | None = None,
        district: str | None = None,
        stage: str | None = None,
        service: str | None = Query(None, description="audit: only this service's events"),
        stream_id: str | None = Query(None, description="audit: only this stream's events"),
        who: Principal = Depends(principal),
    ) -> Page:
        who.act_as(*READERS)
        if model == audit.MODEL:
            return await _audit_page(ctx, after, limit, service, stream_id)
        filters = {"edition_id": edition_id, "region": region, "district": district, "stage": stage}
        async with ctx.store.reader() as uow:
            rows = await uow.docs.list(model)
        items = [d for k, d in rows if (after is None or k > after) and _matches(d, filters)]
        page = items[:limit]
        keys = [k for k, d in rows if (after is None or k > after) and _matches(d, filters)]
        return Page(items=page, next=keys[limit - 1] if len(items) > limit else None)

    @api.get("/read-models/{model}/{key}")
    async def get_one(model: str, key: str, who: Principal = Depends(principal)) -> Any:
        who.act_as(*READERS)
        async with ctx.store.reader() as uow:
            if model == audit.MODEL:
                svc, position = audit.parse_cursor(key)
                t = schema.audit_trail
                query = sa.select(*(t.c[c] for c in audit.COLUMNS)).where(
                    t.c.service == svc, t.c.position == position
                )
                row = (await uow.conn.execute(query)).first()
                doc = None if row is None else audit.item_of(tuple(row))
            else:
                doc = await uow.docs.get(model, key)
        if doc is None:
            raise NotFound("not_found", f"no {model} document {key}")
        return doc

    return api
