"""Scoring HTTP API (thin: validate, authorise, call the handler)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.scoring import handlers
from services.scoring.domain.commands import FormCommission
from services.scoring.events import Person
from shared.auth import Principal
from shared.http import command, correlation_id, principal
from shared.runtime import ServiceContext


class FormCommissionBody(BaseModel):
    commission_id: str
    edition_id: str
    level: Literal["regional", "republican"]
    region: str | None = Field(None, pattern=r"^\d{9}$")
    members: list[Person] = Field(description="voting members; the chair is one of them")
    chair_id: str
    secretary: Person


class Appended(BaseModel):
    id: str = Field(description="the resource the command created or changed")
    event_ids: list[str] = Field(description="ids of the events the command appended")


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["commissions"])

    @api.post("/commissions", status_code=201, response_model=Appended)
    async def form_commission(
        body: FormCommissionBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Form a Regional (§3) or the Republican (§4) commission. Organiser only."""
        actor = who.act_as("organiser", region=body.region)
        cmd = FormCommission(
            commission_id=body.commission_id,
            edition_id=body.edition_id,
            level=body.level,
            region=body.region,
            members=tuple(body.members),
            chair_id=body.chair_id,
            secretary=body.secretary,
        )

        async def run(uow):  # type: ignore[no-untyped-def]
            envelopes = await handlers.form_commission(uow, cmd, actor, correlation_id(request))
            return Appended(id=body.commission_id, event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, "form_commission", run)

    return api
