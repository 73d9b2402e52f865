"""Nominations HTTP API (thin: validate, authorise, call the handler)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.nominations import handlers
from services.nominations.domain.edition import AnnounceEdition
from shared.auth import Principal
from shared.http import command, correlation_id, principal
from shared.runtime import ServiceContext


class Appended(BaseModel):
    id: str = Field(description="the resource the command created or changed")
    event_ids: list[str] = Field(description="ids of the events the command appended")


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["editions"])

    @api.post("/editions", status_code=201, response_model=Appended)
    async def announce_edition(
        body: AnnounceEdition, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Announce an edition with its calendar and rules (§8). Organiser only."""
        actor = who.act_as("organiser")

        async def run(uow):  # type: ignore[no-untyped-def]
            envelopes = await handlers.announce_edition(uow, body, actor, correlation_id(request))
            return Appended(id=body.edition_id, event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, "announce_edition", run)

    return api
