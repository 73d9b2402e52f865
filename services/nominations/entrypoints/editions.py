"""Editions and the territorial reference data (§8, DOMAIN "Timeline", KATO)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from shared.auth import Principal
from shared.edge import principal
from shared.errors import NotFound
from shared.http import command
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork
from shared.territory import Level, load_territory
from shared.text import TEXT_CHECKED

from .. import handlers
from ..adapters import repository
from ..domain.edition import AnnounceEdition, ExtendDeadline
from ..domain.figures import edition_2020_moved_to
from ..domain.rubric import Rubric, load_rubric
from .common import cause, reading, scope
from .ids import uuid7
from .schemas import (
    AnnounceFromFigures,
    Appended,
    EditionView,
    ExtendDeadlineBody,
    TerritoryUnit,
    TerritoryView,
)
from .views import edition_view, territory_unit, territory_view

KatoPath = Path(pattern=r"^\d{9}$", description="9-digit KATO code")


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["editions"])

    @api.post("/editions", status_code=201, response_model=Appended)
    async def announce_edition(
        body: Annotated[AnnounceEdition, TEXT_CHECKED],
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """Announce an edition with its calendar and rules (§8). Organiser only."""
        actor = who.act_as("organiser")

        async def run(uow: UnitOfWork) -> Appended:
            envelopes = await handlers.announce_edition(uow, body, cause(ctx, request, actor))
            return Appended(id=body.edition_id, event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, scope("announce_edition"), run)

    @api.post("/editions/from-figures", status_code=201, response_model=Appended)
    async def announce_from_figures(
        body: AnnounceFromFigures, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        """Announce an edition today from an edition's shipped figures (``2020``: the
        methodology's), its calendar moved so that it is announced now and every step keeps
        its length (§8, DOMAIN "Timeline"). Organiser only. For a browser form: the rules are
        the data's, never typed."""
        actor = who.act_as("organiser")
        edition_id = str(body.edition_id or uuid7())
        cmd = edition_2020_moved_to(edition_id, ctx.now())
        if body.title:
            cmd = cmd.model_copy(update={"title": body.title})

        async def run(uow: UnitOfWork) -> Appended:
            envelopes = await handlers.announce_edition(uow, cmd, cause(ctx, request, actor))
            return Appended(id=edition_id, event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, scope("announce_edition"), run)

    @api.post(
        "/editions/{edition_id}/deadline-extensions", status_code=201, response_model=Appended
    )
    async def extend_deadline(
        edition_id: UUID,
        body: ExtendDeadlineBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """Move one step's deadline later, with a reason (DOMAIN "Timeline"). Organiser only."""
        actor = who.act_as("organiser")
        cmd = ExtendDeadline(edition_id=str(edition_id), **body.model_dump())

        async def run(uow: UnitOfWork) -> Appended:
            envelopes = await handlers.extend_deadline(uow, cmd, cause(ctx, request, actor))
            return Appended(id=cmd.edition_id, event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, scope("extend_deadline"), run)

    @api.get("/editions/{edition_id}", response_model=EditionView)
    async def get_edition(edition_id: UUID) -> EditionView:
        """An edition: its calendar (extensions applied) and its rules. Public (§8)."""
        async with reading(ctx.store) as uow:
            return edition_view(await repository.load_edition(uow, str(edition_id)))

    api.include_router(territory_router())
    return api


def territory_router() -> APIRouter:
    api = APIRouter(tags=["territory"])

    @api.get("/territories", response_model=list[TerritoryUnit])
    async def regions() -> list[TerritoryUnit]:
        """The 17 oblasts and 3 cities of republican significance (KATO). Public."""
        return [territory_unit(u) for u in load_territory().of_level(Level.region)]

    @api.get("/questionnaire-rubrics/{rubric_id}", response_model=Rubric)
    async def questionnaire_rubric(rubric_id: str) -> Rubric:
        """Annex 3 as data: every criterion and item with its points and words, the items a
        secretary's score correction names (§12). Public."""
        rubric = load_rubric()
        if rubric.rubric_id != rubric_id:
            raise NotFound("rubric_unknown", f"no questionnaire rubric {rubric_id!r}")
        return rubric

    @api.get("/territories/{kato}", response_model=TerritoryView)
    async def territory(kato: str = KatoPath) -> TerritoryView:
        """A territorial unit and the units directly under it (KATO). Public."""
        found = load_territory().find(kato)
        if found is None:
            raise NotFound("unknown_kato", f"KATO {kato} is not in the classifier")
        return territory_view(found, load_territory().children(kato))

    return api
