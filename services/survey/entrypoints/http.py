"""Survey HTTP API (thin: validate, authorise, call the handler)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.survey import handlers
from services.survey.domain.rubric import SurveyRules
from services.survey.domain.survey import OpenSurvey
from shared.auth import Principal
from shared.http import command, correlation_id, principal
from shared.runtime import ServiceContext


class OpenSurveyBody(BaseModel):
    survey_id: UUID
    edition_id: UUID
    candidate_id: UUID
    settlement_kato: str = Field(pattern=r"^\d{9}$", description="the nominee's rural district")
    region_kato: str = Field(pattern=r"^\d{9}$")
    opens_at: datetime
    closes_at: datetime


class Appended(BaseModel):
    id: str = Field(description="the resource the command created or changed")
    event_ids: list[str] = Field(description="ids of the events the command appended")


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["surveys"])

    @api.post("/surveys", status_code=201, response_model=Appended)
    async def open_survey(
        body: OpenSurveyBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Open the survey of a nominee's rural district (§14.3). Organiser only."""
        actor = who.act_as("organiser", region=body.region_kato)
        cmd = OpenSurvey(**body.model_dump())

        async def run(uow):  # type: ignore[no-untyped-def]
            envelopes = await handlers.open_survey_command(
                uow, cmd, SurveyRules.edition_2020(), actor, correlation_id(request)
            )
            return Appended(id=str(body.survey_id), event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, "open_survey", run)

    return api
