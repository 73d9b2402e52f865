"""Candidates: the assessments of §14 (ethics, feedback), stage-II defences (§19), and queries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.scoring import federation, handlers
from services.scoring.adapters import lookups, views
from services.scoring.adapters.repository import Repository
from services.scoring.domain import commands as cmd
from services.scoring.entrypoints.access import authorise, readable, readable_candidate
from services.scoring.entrypoints.bodies import Appended, AssessmentBody, DefenceBody, Page
from services.scoring.entrypoints.http import Api
from shared.auth import Principal
from shared.edge import principal
from shared.errors import NotFound
from shared.store.eventstore import UnitOfWork


class CandidatesPage(Page):
    items: list[views.CandidateView]


class FinalistsPage(BaseModel):
    items: list[views.FinalistView]


class SheetHistory(BaseModel):
    candidate_id: str
    sheets: list[views.SheetView] = []


async def home(uow: UnitOfWork, candidate_id: str) -> dict[str, str]:
    """Where a candidate is registered (404 ``candidate_unknown``)."""
    found = await lookups.candidate(uow.docs, candidate_id)
    if found is None:
        raise NotFound("candidate_unknown", f"{candidate_id} is not registered")
    return found


async def republican(uow: UnitOfWork, edition_id: str) -> str:
    found = await lookups.seated(uow.docs, edition_id, None)
    if found is None:
        raise NotFound("commission_not_found", f"no Republican commission for {edition_id} yet")
    return found


async def _name_of(
    uow: UnitOfWork,
    repo: Repository,
    candidate_id: str,
    edition_id: str,
    region: str,
    where: dict[str, Any],
) -> str:
    """A finalist's name: from their registration when it is in this deployment, else from
    the region's dossier the republic admitted."""
    if where.get("commission_id") and not where.get("from_region"):
        home_state = (await repo.load(uow, where["commission_id"])).state
        found = home_state.candidates.get(candidate_id)
        if found is not None:
            return found.registration.name
    admitted = await uow.docs.get(federation.FEDERATION, federation.key(edition_id, region))
    return str((admitted or {}).get("name") or candidate_id)


async def histories(uow: UnitOfWork, repo: Repository, candidate_id: str) -> list[views.SheetView]:
    where = await home(uow, candidate_id)
    ids = [] if where.get("from_region") else [where["commission_id"]]
    if (rep := await lookups.seated(uow.docs, where["edition_id"], None)) is not None:
        ids.append(rep)
    found: list[views.SheetView] = []
    for commission_id in ids:
        found += views.sheet_history((await repo.load(uow, commission_id)).state, candidate_id)
    return found


def router(api: Api) -> APIRouter:
    r = APIRouter(prefix="/v1", tags=["candidates"])
    repo = api.repo

    async def assess(
        uow: UnitOfWork,
        request: Request,
        who: Principal,
        candidate_id: str,
        kind: str,
        body: AssessmentBody,
    ) -> Appended:
        commission_id = (await home(uow, candidate_id))["commission_id"]
        ref = await repo.ref(uow, commission_id)
        command: cmd.Command
        if kind == "ethics":
            actor = authorise(who, ref, "ethics")
            command = cmd.RecordEthicsResult(candidate_id, who.sub, body.score, body.note)
        else:
            actor = authorise(who, ref, "secretary", "chair", "member")
            command = cmd.RecordFeedbackAssessment(candidate_id, who.sub, body.score, body.note)
        out = await handlers.act(
            uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
        )
        return Appended(id=candidate_id, event_ids=out.event_ids)

    @r.post("/candidates/{candidate_id}/ethics-results", status_code=201, response_model=Appended)
    async def record_ethics(
        candidate_id: str,
        body: AssessmentBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """§14.1: the ethics commissioner's (the token's subject) result for a nominee."""

        async def run(uow: UnitOfWork) -> Appended:
            return await assess(uow, request, who, candidate_id, "ethics", body)

        return await api.command(request, "ethics", run)

    @r.post(
        "/candidates/{candidate_id}/feedback-assessments", status_code=201, response_model=Appended
    )
    async def record_feedback(
        candidate_id: str,
        body: AssessmentBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """§14.2: how open the akim is to residents (receptions, social media, meetings…),
        assessed by the commission (its secretary, chair or a member: the token's subject)."""

        async def run(uow: UnitOfWork) -> Appended:
            return await assess(uow, request, who, candidate_id, "feedback", body)

        return await api.command(request, "feedback", run)

    @r.post("/candidates/{candidate_id}/defences", status_code=201, response_model=Appended)
    async def register_defence(
        candidate_id: str, body: DefenceBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """§19: a finalist's project defence before the Republican commission (its secretary or
        the organiser): a budget over the limit (``budget_over_limit``) or a talk over 5 minutes
        (``talk_too_long``) is refused."""

        async def run(uow: UnitOfWork) -> Appended:
            commission_id = await republican(uow, (await home(uow, candidate_id))["edition_id"])
            actor = authorise(who, await repo.ref(uow, commission_id), "secretary", "organiser")
            command = cmd.RegisterDefence(
                candidate_id=candidate_id,
                title=body.title,
                budget_tenge=body.budget_tenge,
                talk_seconds=body.talk_seconds,
                mode=body.mode,
            )
            out = await handlers.act(
                uow, command, api.cause(request, actor), repo=repo, commission_id=commission_id
            )
            return Appended(id=candidate_id, event_ids=out.event_ids)

        return await api.command(request, "register_defence", run)

    @r.get("/commissions/{commission_id}/candidates", response_model=CandidatesPage)
    async def list_candidates(
        commission_id: str,
        district: str | None = Query(None, pattern=r"^\d{9}$"),
        nominated: bool | None = None,
        after: str | None = None,
        limit: int = Query(100, ge=1, le=1000),
        who: Principal = Depends(principal),
    ) -> CandidatesPage:
        """The commission's candidates (the Republican one: its finalists' regional records are
        with the regions), filtered by district and nomination; cursor-paginated by id."""
        async with api.reading() as uow:
            readable(who, await repo.ref(uow, commission_id))
            state = (await repo.load(uow, commission_id)).state
        picked = [
            c
            for cid, c in sorted(state.candidates.items())
            if (district is None or c.registration.district == district)
            and (nominated is None or (c.nomination is not None) == nominated)
            and (after is None or cid > after)
        ]
        page = picked[:limit]
        more = len(picked) > limit
        return CandidatesPage(
            items=[views.candidate_view(state, c) for c in page],
            next=page[-1].registration.candidate_id if more else None,
        )

    @r.get("/commissions/{commission_id}/finalists", response_model=FinalistsPage)
    async def list_finalists(
        commission_id: str, who: Principal = Depends(principal)
    ) -> FinalistsPage:
        """The commission's finalists, by region: a regional commission's own choice; the
        Republican commission's candidates of stage II, chosen in this deployment or admitted
        from a region's (their name from the region's signed dossier), each with the defence
        registered (§19) and this commission's live sheets."""
        async with api.reading() as uow:
            readable(who, await repo.ref(uow, commission_id))
            state = (await repo.load(uow, commission_id)).state
            items = []
            for cid, chosen in sorted(
                state.finalists.items(), key=lambda kv: (kv[1].region, kv[0])
            ):
                where = await lookups.candidate(uow.docs, cid) or {}
                name = await _name_of(uow, repo, cid, chosen.edition_id, chosen.region, where)
                items.append(views.finalist_view(state, chosen, name, where))
        return FinalistsPage(items=items)

    @r.get("/candidates/{candidate_id}", response_model=views.CandidateView)
    async def get_candidate(
        candidate_id: str, who: Principal = Depends(principal)
    ) -> views.CandidateView:
        """A candidate: registration, tie-break facts, nomination, survey, assessments."""
        async with api.reading() as uow:
            where = await home(uow, candidate_id)
            if where.get("from_region"):
                detail = (
                    f"{candidate_id} is a finalist admitted from region {where.get('region')}: "
                    "the region's deployment keeps the record; the Republican commission's "
                    "GET /v1/commissions/{id}/finalists shows what its dossier carried"
                )
                raise NotFound("candidate_kept_by_region", detail)
            readable_candidate(who, await repo.ref(uow, where["commission_id"]))
            state = (await repo.load(uow, where["commission_id"])).state
        return views.candidate_view(state, state.candidates[candidate_id])

    @r.get("/candidates/{candidate_id}/sheets", response_model=SheetHistory)
    async def sheet_history(candidate_id: str, who: Principal = Depends(principal)) -> SheetHistory:
        """Every sheet given for the candidate, in both stages, superseded ones included (who
        scored what, at which sitting, and every correction with its reason)."""
        async with api.reading() as uow:
            where = await home(uow, candidate_id)
            if where.get("from_region"):  # a region's finalist: the republic keeps stage II
                readable(who, await repo.ref(uow, await republican(uow, where["edition_id"])))
            else:
                readable_candidate(who, await repo.ref(uow, where["commission_id"]))
            return SheetHistory(
                candidate_id=candidate_id, sheets=await histories(uow, repo, candidate_id)
            )

    return r
