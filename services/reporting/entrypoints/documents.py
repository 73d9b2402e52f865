"""Documents over HTTP: protocols (HTML, PDF; ru, kk), ratings (CSV, XLSX), dossiers, trail."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from services.reporting.adapters import rendering
from services.reporting.documents import protocol as protocols
from services.reporting.documents import ratings as ratings_doc
from services.reporting.documents.published import Publisher, Sources
from shared.auth import Principal
from shared.edge import principal
from shared.errors import NotFound
from shared.runtime import ServiceContext

READERS = ("organiser", "auditor", "secretary", "chair", "member", "operator", "ethics")
Lang = Literal["ru", "kk"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"schema": {"type": "string", "format": "binary"}}
_publisher = Publisher()  # this process's recently published protocols (see its module)


def answers(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a 200 that is a file in one of ``media_types`` (not JSON)."""
    return {200: {"description": "the file", "content": {m: BINARY for m in media_types}}}


async def load_sources(ctx: ServiceContext, sitting_id: str) -> Sources:
    """The stored texts the protocol is made from (parsed only when not already published)."""
    async with ctx.store.reader() as uow:
        docs = uow.docs
        protocol = await docs.get_text("protocols", sitting_id)
        if protocol is None:
            raise NotFound("sitting_unknown", f"no protocol for sitting {sitting_id}")
        commission_id = str(json.loads(protocol).get("commission_id", ""))
        commission = await docs.get_text("commissions", commission_id)
        candidates: tuple[tuple[str, str], ...] = tuple(await docs.list_text("candidates"))
    return Sources(sitting_id, protocol, commission, candidates)


async def readable(ctx: ServiceContext, who: Principal, sitting_id: str) -> Sources:
    """The protocol's sources, once ``who`` may read it: the readers of its commission's region
    (a regional token of another region is refused ``region_not_allowed``); the Republican one
    by every reader."""
    sources = await load_sources(ctx, sitting_id)
    commission = json.loads(sources.commission) if sources.commission else {}
    who.act_as(*READERS, region=commission.get("region"))
    return sources


def published(ctx: ServiceContext, sources: Sources, lang: str) -> protocols.Published:
    """The protocol as published: a signed one only once the document rebuilt from the log
    gives the digest the chair and the secretary signed (409 ``protocol_unverified``), and
    then rendered from that document; one not signed yet from the read model, as a draft."""
    return _publisher.published(sources, lang, ctx.reads.get("scoring"))


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["documents"])

    @api.get("/protocols/{sitting_id}.html", response_class=HTMLResponse)
    async def protocol_page(
        sitting_id: str, lang: Lang = "ru", who: Principal = Depends(principal)
    ) -> HTMLResponse:
        """The protocol of a sitting, laid out like the official one."""
        sources = await readable(ctx, who, sitting_id)
        return HTMLResponse(published(ctx, sources, lang).html)

    @api.get(
        "/protocols/{sitting_id}.pdf", response_class=Response, responses=answers("application/pdf")
    )
    async def protocol_pdf(
        sitting_id: str, lang: Lang = "ru", who: Principal = Depends(principal)
    ) -> Response:
        shown = published(ctx, await readable(ctx, who, sitting_id), lang)
        pdf = await rendering.pdf(shown.page, shown.attachments, shown.signed_at)
        return Response(pdf, media_type="application/pdf")

    @api.get("/ratings.{fmt}", response_class=Response, responses=answers("text/csv", XLSX))
    async def ratings_export(
        fmt: Literal["csv", "xlsx"],
        purpose: str | None = Query(None, description="nomination, regional, winners"),
        lang: Literal["ru", "kk", "en"] = Query("ru", description="the words of the headers"),
        dialect: Literal["excel", "rfc4180"] = Query(
            "excel",
            description="CSV only: excel (UTF-8 with BOM, `;`, decimal comma: Excel with "
            "Russian settings) or rfc4180 (commas, decimal points: for programs)",
        ),
        who: Principal = Depends(principal),
    ) -> Response:
        """Every rating with its components: XLSX with a sheet per purpose (names and KATO
        codes in their own columns, numbers as numbers, the header frozen and filtered), or
        CSV."""
        who.act_as(*READERS)
        async with ctx.store.reader() as uow:
            docs = uow.docs
            rows = [
                d
                for _, d in await docs.list("ratings")
                if purpose is None or d.get("purpose") == purpose
            ]
            candidates = dict(await docs.list("candidates"))
        saved = {"Content-Disposition": f'attachment; filename="ratings-{lang}.{fmt}"'}
        if fmt == "csv":
            body = ratings_doc.to_csv(rows, candidates, lang, dialect)
            return Response(body, media_type="text/csv; charset=utf-8", headers=saved)
        return Response(ratings_doc.to_xlsx(rows, candidates, lang), media_type=XLSX, headers=saved)

    @api.get("/candidates/{candidate_id}/dossier")
    async def dossier(candidate_id: str, who: Principal = Depends(principal)) -> Any:
        """A candidate's dossier: application, scores, survey, decisions and history."""
        who.act_as(*READERS)
        async with ctx.store.reader() as uow:
            docs = uow.docs
            candidate = await docs.get("candidates", candidate_id)
            if candidate is None:
                raise NotFound("candidate_unknown", f"no candidate {candidate_id}")
            who.act_as(*READERS, region=candidate.get("region"))
            application = await docs.get("applications", candidate.get("application_id", ""))
        return {"candidate": candidate, "application": application}

    return api
