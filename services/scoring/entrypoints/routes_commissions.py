"""Commissions (§3–§5): form, replace a member, recusals, stages; and their queries."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.scoring import handlers
from services.scoring.adapters import lookups, views
from services.scoring.adapters.lookups import CommissionRef
from services.scoring.domain import RubricSet, ScoringRules
from services.scoring.domain import commands as cmd
from services.scoring.domain.rubrics import resolved
from services.scoring.entrypoints.access import authorise, may_read, readable
from services.scoring.entrypoints.bodies import (
    Appended,
    FormCommissionBody,
    Formed,
    MaterialsBody,
    Page,
    RecusalBody,
    ReopenBody,
    ReplaceMemberBody,
)
from services.scoring.entrypoints.http import Api
from services.scoring.events import Stage
from shared.auth import Principal
from shared.edge import principal
from shared.errors import RuleViolation
from shared.store.eventstore import UnitOfWork


class CommissionsPage(Page):
    items: list[views.CommissionView]


class EditionView(BaseModel):
    """An edition as scoring knows it (from nominations' EditionAnnounced/DeadlineExtended)."""

    edition_id: str
    known: bool = Field(description="false until scoring has consumed the announcement")
    rules: ScoringRules = Field(description="the 2020 figures with the edition's overrides")
    deadlines: dict[str, datetime] = Field(
        description="stage_one, interviews, finalists, materials, defences"
    )


def router(api: Api) -> APIRouter:
    r = APIRouter(prefix="/v1/commissions", tags=["commissions"])
    editions = APIRouter(prefix="/v1/editions", tags=["editions"])
    _formation(r, api)
    _stages(r, api)
    _edition(editions, api)
    _reads(r, api)
    root = APIRouter()
    root.include_router(r)
    root.include_router(editions)
    return root


def _formation(r: APIRouter, api: Api) -> None:
    """A commission formed, its members replaced or recused, its materials sent."""
    repo = api.repo

    @r.post("", status_code=201, response_model=Formed)
    async def form_commission(
        body: FormCommissionBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Form a Regional (§3) or the Republican (§4) commission. Organiser only (the Agency
        for the Republican one). Admitted candidates of the region register with it."""
        ref = CommissionRef(body.commission_id, body.edition_id, body.level, body.region)
        actor = authorise(who, ref, "organiser")
        command = cmd.FormCommission(
            commission_id=body.commission_id,
            edition_id=body.edition_id,
            level=body.level,
            region=body.region,
            members=tuple(body.members),
            chair_id=body.chair_id,
            secretary=body.secretary,
        )

        async def run(uow: UnitOfWork) -> Formed:
            out = await handlers.form_commission(uow, command, api.cause(request, actor), repo=repo)
            registered = len(out.envelopes) - len(out.events)
            return Formed(id=body.commission_id, event_ids=out.event_ids, registered=registered)

        return await api.command(request, "form_commission", run)

    @r.post("/{commission_id}/replacements", status_code=201, response_model=Appended)
    async def replace_member(
        commission_id: str,
        body: ReplaceMemberBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """A member leaves and another takes the seat (organiser or the secretary)."""

        async def run(uow: UnitOfWork) -> Appended:
            actor = authorise(who, await repo.ref(uow, commission_id), "organiser", "secretary")
            command = cmd.ReplaceMember(
                outgoing_id=body.outgoing_id,
                incoming=body.incoming,
                reason=body.reason,
                chair_id=body.chair_id,
            )
            out = await handlers.act(
                uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
            )
            return Appended(id=commission_id, event_ids=out.event_ids)

        return await api.command(request, "replace_member", run)

    @r.post("/{commission_id}/recusals", status_code=201, response_model=Appended)
    async def recuse(
        commission_id: str, body: RecusalBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """A member declares a conflict of interest with a candidate and gives no sheet for
        them. The member is the token's subject (the secretary may record it for a member)."""

        async def run(uow: UnitOfWork) -> Appended:
            ref = await repo.ref(uow, commission_id)
            actor = authorise(who, ref, "member", "chair", "secretary")
            member = who.sub if actor.role != "secretary" else body.member_id
            if member is None:
                raise RuleViolation("member_required", "name the member who recuses")
            command = cmd.RecuseMember(
                member_id=member, candidate_id=body.candidate_id, reason=body.reason
            )
            out = await handlers.act(
                uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
            )
            return Appended(id=commission_id, event_ids=out.event_ids)

        return await api.command(request, "recuse", run)

    @r.post("/{commission_id}/materials", status_code=201, response_model=Appended)
    async def send_materials(
        commission_id: str,
        body: MaterialsBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """§18: the region's secretary sends the materials and the regional decision (the
        finalist, or "no finalist") to the Agency, by the edition's ``materials`` deadline
        (``deadline_passed`` after it unless extended; ``regional_decision_missing`` before
        the decision)."""

        async def run(uow: UnitOfWork) -> Appended:
            actor = authorise(who, await repo.ref(uow, commission_id), "secretary")
            command = cmd.SendMaterials(at=api.ctx.now(), note=body.note)
            out = await handlers.act(
                uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
            )
            return Appended(id=f"{commission_id}/materials", event_ids=out.event_ids)

        return await api.command(request, "send_materials", run)


def _stages(r: APIRouter, api: Api) -> None:
    """A stage of the commission closed or reopened."""
    repo = api.repo

    @r.post("/{commission_id}/stages/{stage}/close", status_code=201, response_model=Appended)
    async def close_stage(
        commission_id: str, stage: Stage, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Freeze a stage: nothing in it changes afterwards (secretary or chair)."""

        async def run(uow: UnitOfWork) -> Appended:
            actor = authorise(who, await repo.ref(uow, commission_id), "secretary", "chair")
            command = cmd.CloseStage(stage=stage, at=api.ctx.now())
            out = await handlers.act(
                uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
            )
            return Appended(id=f"{commission_id}/{stage}", event_ids=out.event_ids)

        return await api.command(request, "close_stage", run)

    @r.post("/{commission_id}/stages/{stage}/reopen", status_code=201, response_model=Appended)
    async def reopen_stage(
        commission_id: str,
        stage: Stage,
        body: ReopenBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """Reopen a closed stage, for a written reason (chair or organiser)."""

        async def run(uow: UnitOfWork) -> Appended:
            actor = authorise(who, await repo.ref(uow, commission_id), "chair", "organiser")
            command = cmd.ReopenStage(stage=stage, reason=body.reason, at=api.ctx.now())
            out = await handlers.act(
                uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
            )
            return Appended(id=f"{commission_id}/{stage}", event_ids=out.event_ids)

        return await api.command(request, "reopen_stage", run)


def _edition(editions: APIRouter, api: Api) -> None:
    """The edition's figures as scoring holds them."""
    repo = api.repo

    @editions.get("/{edition_id}", response_model=EditionView)
    async def get_edition(edition_id: str, who: Principal = Depends(principal)) -> EditionView:
        """The scoring rules and the deadlines that bind scoring in an edition."""
        async with api.reading() as uow:
            known = await uow.docs.get(lookups.EDITION, edition_id) is not None
            return EditionView(
                edition_id=edition_id,
                known=known,
                rules=await repo.rules(uow, edition_id),
                deadlines=await repo.deadlines(uow, edition_id),
            )


def _reads(r: APIRouter, api: Api) -> None:
    """The commissions, one commission, its rankings and its rubrics."""
    repo = api.repo

    @r.get("", response_model=CommissionsPage)
    async def list_commissions(
        edition_id: str | None = None,
        region: str | None = Query(None, pattern=r"^\d{9}$"),
        level: str | None = None,
        after: str | None = None,
        limit: int = Query(50, ge=1, le=200),
        who: Principal = Depends(principal),
    ) -> CommissionsPage:
        """The commissions, filtered by edition, region and level; cursor-paginated by id."""
        async with api.reading() as uow:
            refs = [
                ref
                for ref in await lookups.commissions(uow.docs)
                if (edition_id is None or ref.edition_id == edition_id)
                and (region is None or ref.region == region)
                and (level is None or ref.level == level)
                and (after is None or ref.commission_id > after)
                and may_read(who, ref)
            ]
            page = refs[:limit]
            items = [
                views.commission_view((await repo.load(uow, x.commission_id)).state) for x in page
            ]
        more = len(refs) > limit
        return CommissionsPage(items=items, next=page[-1].commission_id if more else None)

    @r.get("/{commission_id}", response_model=views.CommissionView)
    async def get_commission(
        commission_id: str, who: Principal = Depends(principal)
    ) -> views.CommissionView:
        """A commission: members, chair, secretary, recusals, stages, sittings, decisions."""
        async with api.reading() as uow:
            readable(who, await repo.ref(uow, commission_id))
            return views.commission_view((await repo.load(uow, commission_id)).state)

    @r.get("/{commission_id}/rankings", response_model=views.RankingsView)
    async def rankings(
        commission_id: str, who: Principal = Depends(principal)
    ) -> views.RankingsView:
        """Every ranking (with its components and tie-break steps) and casting vote."""
        async with api.reading() as uow:
            readable(who, await repo.ref(uow, commission_id))
            return views.rankings_view((await repo.load(uow, commission_id)).state)

    @r.get("/{commission_id}/rubrics", response_model=RubricSet)
    async def rubrics(commission_id: str, who: Principal = Depends(principal)) -> RubricSet:
        """The evaluation sheets of the commission's edition: every criterion, its key, its
        names (ru, kk, en) and maximum (the edition's default filled in where the rubric
        names none); ``derived`` criteria are filled in by a rule."""
        async with api.reading() as uow:
            readable(who, await repo.ref(uow, commission_id))
            state = (await repo.load(uow, commission_id)).state
        return resolved(state.rubrics, state.rules.criterion_max)
