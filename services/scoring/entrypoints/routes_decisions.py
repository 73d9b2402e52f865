"""Ranked decisions at a sitting: stage-I nominations (§12), casting votes (§3, §4), the regional
ranking and finalist (§16), the winners (§21). Each answer shows the ranking component by
component and the tie-break chain step by step."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from services.scoring import handlers
from services.scoring.domain import commands as cmd
from services.scoring.entrypoints.access import authorise
from services.scoring.entrypoints.bodies import (
    CastingVoteBody,
    Decision,
    Finalist,
    FinalistBody,
    NoFinalist,
    NoFinalistBody,
    NominationBody,
)
from services.scoring.entrypoints.http import Api
from services.scoring.events import (
    CandidateNominated,
    CastingVoteRecorded,
    FinalistSelected,
    NoFinalistRecorded,
    RankingComputed,
    WinnersDecided,
)
from shared.auth import Principal
from shared.edge import principal
from shared.store.eventstore import UnitOfWork

DECIDERS = ("secretary", "chair")


def decision(sitting_id: str, out: handlers.Outcome, pending: RankingComputed | None) -> Decision:
    """The answer of a ranked decision (for a casting vote: the ranking it settled)."""
    rankings = [e for e in out.events if isinstance(e, RankingComputed)]
    ranking = rankings[0] if rankings else pending
    assert ranking is not None
    votes = [e for e in out.events if isinstance(e, CastingVoteRecorded)]
    decided = [e for e in out.events if isinstance(e, WinnersDecided)]
    winners = [w for e in decided for w in e.winners]
    settled = ranking.status == "complete" or bool(votes)
    voted = sum(len(v.chosen) for v in votes)
    return Decision(
        sitting_id=sitting_id,
        purpose=ranking.purpose,
        scope=ranking.scope,
        status="complete" if settled else "pending_casting_vote",
        entries=list(ranking.entries),
        seats=ranking.seats,
        selected=[*ranking.selected, *(c for v in votes for c in v.chosen)],
        tie_break_steps=list(ranking.tie_break_steps),
        tied=list(ranking.tied),
        seats_left=ranking.seats_left - voted,
        nominated=[e for e in out.events if isinstance(e, CandidateNominated)],
        winners=winners,
        places_not_awarded=[p for e in decided for p in e.places_not_awarded],
        not_awarded_reason=next((e.not_awarded_reason for e in decided), None),
        casting_vote=votes[0] if votes else None,
        event_ids=out.event_ids,
    )


def router(api: Api) -> APIRouter:
    r = APIRouter(prefix="/v1/sittings/{sitting_id}", tags=["decisions"])
    repo = api.repo

    async def decide(
        uow: UnitOfWork, request: Request, who: Principal, sitting_id: str, command: cmd.Command
    ) -> handlers.Outcome:
        ref = await repo.sitting_ref(uow, sitting_id)
        actor = authorise(who, ref, *DECIDERS)
        return await handlers.act(
            uow, command, api.cause(request, actor), repo=repo, commission_id=ref.commission_id
        )

    @r.post("/nominations", status_code=201, response_model=Decision)
    async def nominate(
        sitting_id: str, body: NominationBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """§12: rank a district by stage-I points (questionnaire + mean project sheet) and
        nominate at most 3; a tie at the cut-off goes through the tie-break chain, and what
        survives it waits for the chair's casting vote (``status: pending_casting_vote``)."""

        async def run(uow: UnitOfWork) -> Decision:
            command = cmd.NominateDistrict(sitting_id=sitting_id, district=body.district)
            return decision(sitting_id, await decide(uow, request, who, sitting_id, command), None)

        return await api.command(request, "nominate", run)

    @r.post("/casting-votes", status_code=201, response_model=Decision)
    async def casting_vote(
        sitting_id: str,
        body: CastingVoteBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """The chair (the token's subject) settles a tie the rules left: exactly as many of the
        tied candidates as there are seats left; the decision then completes."""

        async def run(uow: UnitOfWork) -> Decision:
            ref = await repo.sitting_ref(uow, sitting_id)
            actor = authorise(who, ref, "chair")
            loaded = await repo.load(uow, ref.commission_id)
            waiting = loaded.state.pending.get((body.purpose, body.scope))
            command = cmd.CastCastingVote(
                sitting_id=sitting_id,
                chair_id=who.sub,
                purpose=body.purpose,
                chosen=tuple(body.chosen),
                scope=body.scope,
            )
            cause = api.cause(request, actor)
            out = await handlers.act(
                uow, command, cause, repo=repo, commission_id=ref.commission_id
            )
            return decision(sitting_id, out, waiting.ranking if waiting else None)

        return await api.command(request, "casting_vote", run)

    @r.post("/regional-ranking", status_code=201, response_model=Decision)
    async def rank_region(
        sitting_id: str, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """§15–§16: the region's nominees by the mean of the members' interview sheet totals
        (edition weights may ask for a weighted sum); stage-I points, survey mean with its
        responses (null: no responses), essay mean, feedback and ethics are shown beside it."""

        async def run(uow: UnitOfWork) -> Decision:
            command = cmd.RankRegion(sitting_id=sitting_id)
            return decision(sitting_id, await decide(uow, request, who, sitting_id, command), None)

        return await api.command(request, "rank_region", run)

    @r.post("/finalist", status_code=201, response_model=Finalist)
    async def select_finalist(
        sitting_id: str, body: FinalistBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """§16: the region's finalist; a pick other than the top of the ranking needs a reason."""

        async def run(uow: UnitOfWork) -> Finalist:
            command = cmd.SelectFinalist(
                sitting_id=sitting_id, candidate_id=body.candidate_id, reason=body.reason
            )
            out = await decide(uow, request, who, sitting_id, command)
            (event,) = out.of_type(FinalistSelected)
            assert isinstance(event, FinalistSelected)
            return Finalist(finalist=event, event_ids=out.event_ids)

        return await api.command(request, "select_finalist", run)

    @r.post("/no-finalist", status_code=201, response_model=NoFinalist)
    async def record_no_finalist(
        sitting_id: str,
        body: NoFinalistBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> object:
        """§16: a region with no admitted candidate records "no finalist" with the reason, so
        its interview stage can close; refused (409 ``region_has_candidates``) otherwise."""

        async def run(uow: UnitOfWork) -> NoFinalist:
            command = cmd.RecordNoFinalist(sitting_id=sitting_id, reason=body.reason)
            out = await decide(uow, request, who, sitting_id, command)
            (event,) = out.of_type(NoFinalistRecorded)
            assert isinstance(event, NoFinalistRecorded)
            return NoFinalist(decision=event, event_ids=out.event_ids)

        return await api.command(request, "record_no_finalist", run)

    @r.post("/winners", status_code=201, response_model=Decision)
    async def decide_winners(
        sitting_id: str, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """§21: the three winners by the mean of the members' Annex 7 sheet totals; a tie at the
        cut-off waits for the chair's casting vote."""

        async def run(uow: UnitOfWork) -> Decision:
            command = cmd.DecideWinners(sitting_id=sitting_id)
            return decision(sitting_id, await decide(uow, request, who, sitting_id, command), None)

        return await api.command(request, "decide_winners", run)

    return r
