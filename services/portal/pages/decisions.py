"""Decisions at a sitting: the stage-I nomination per district with the §12 tie-break chain
explained step by step, the chair's casting vote when the chain does not settle it, the
regional ranking and finalist (with a reason when it departs from the ranking), the winners.

Every decision is the service's: the page sends the command and shows what it answered.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Refused
from services.portal.i18n import N_, place
from services.portal.pages.common import Json, candidates, commission
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in

CRITERIA = {
    "complex_projects": N_("Implements complex projects"),
    "trilingual": N_("Speaks Kazakh, Russian and English"),
    "feedback": N_("Feedback assessment"),
    "fewest_complaints": N_("Fewest justified complaints"),
}
PURPOSES = {
    "nomination": N_("Nomination for the district"),
    "regional": N_("Regional ranking"),
    "winners": N_("Winners"),
}
COMMANDS = {
    "nomination": "nominations",
    "regional": "regional-ranking",
    "winners": "winners",
}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/sittings/{sitting_id}/decisions", include_in_schema=False)
    async def decisions(sitting_id: str, request: Request) -> Response:
        return await show(request, sitting_id)

    @r.post("/sittings/{sitting_id}/decisions/{purpose}", include_in_schema=False)
    async def decide(sitting_id: str, purpose: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        command = COMMANDS.get(purpose)
        if command is None:
            return back_to(request, f"/sittings/{sitting_id}/decisions")
        body: Json | None = {"district": form.get("district")} if purpose == "nomination" else None
        try:
            await backends(request).call(
                "scoring",
                "POST",
                f"/v1/sittings/{sitting_id}/{command}",
                me.token,
                json=body,
                idempotency_key=f"decide-{form.get('nonce') or uuid.uuid4()}",
            )
        except Refused as refused:
            return await show(request, sitting_id, refused)
        return back_to(request, f"/sittings/{sitting_id}/decisions", flash=N_("Decision recorded."))

    @r.post("/sittings/{sitting_id}/casting-vote", include_in_schema=False)
    async def casting_vote(sitting_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        chosen = form.get("chosen", [])
        body = {
            "purpose": form.get("purpose"),
            "scope": form.get("scope") or None,
            "chosen": chosen if isinstance(chosen, list) else [chosen],
        }
        try:
            await backends(request).call(
                "scoring", "POST", f"/v1/sittings/{sitting_id}/casting-votes", me.token, json=body
            )
        except Refused as refused:
            return await show(request, sitting_id, refused)
        return back_to(
            request,
            f"/sittings/{sitting_id}/decisions",
            flash=N_("The chair's casting vote is recorded."),
        )

    @r.post("/sittings/{sitting_id}/finalist", include_in_schema=False)
    async def finalist(sitting_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        body = {
            "candidate_id": form.get("candidate_id"),
            "reason": str(form.get("reason", "")).strip() or None,
        }
        try:
            await backends(request).call(
                "scoring", "POST", f"/v1/sittings/{sitting_id}/finalist", me.token, json=body
            )
        except Refused as refused:
            return await show(request, sitting_id, refused)
        return back_to(
            request,
            f"/sittings/{sitting_id}/decisions",
            flash=N_("The regional finalist is recorded."),
        )

    @r.post("/sittings/{sitting_id}/no-finalist", include_in_schema=False)
    async def no_finalist(sitting_id: str, request: Request) -> Response:
        """§16: a region with no admitted candidate records "no finalist" with the reason."""
        me = signed_in(request)
        form = await form_of(request)
        body = {"reason": str(form.get("reason", "")).strip()}
        try:
            await backends(request).call(
                "scoring", "POST", f"/v1/sittings/{sitting_id}/no-finalist", me.token, json=body
            )
        except Refused as refused:
            return await show(request, sitting_id, refused)
        return back_to(
            request,
            f"/sittings/{sitting_id}/decisions",
            flash=N_("The region has no finalist; this is recorded."),
        )

    return r


async def show(request: Request, sitting_id: str, refused: Refused | None = None) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    sitting: Json = await api.call("scoring", "GET", f"/v1/sittings/{sitting_id}", me.token)
    board = await commission(api, me, sitting["commission_id"])
    rankings = await api.call("scoring", "GET", f"/v1/commissions/{board.id}/rankings", me.token)
    listed = await candidates(api, me, board)
    who = {c["candidate_id"]: c for c in listed}
    name = lambda cid: who.get(cid, {}).get("name", cid)  # noqa: E731
    here = [x for x in rankings["rankings"] if x["sitting_id"] == sitting_id]
    votes = [v for v in rankings["casting_votes"] if v["sitting_id"] == sitting_id]
    decided = {(x["purpose"], x.get("scope")) for x in here}
    districts = sorted({c["district"] for c in listed}, key=lambda k: place(k, lang))
    return render(
        request,
        "decisions.html",
        status=refused.problem.status if refused else 200,
        problem=refused.problem if refused else None,
        sitting=sitting,
        board=board,
        title=board.title(lang),
        rankings=[explained(x, name, lang) for x in here],
        votes=votes,
        name=name,
        districts=[
            {"kato": k, "name": place(k, lang), "decided": ("nomination", k) in decided}
            for k in districts
        ],
        place_of=lambda kato: place(kato, lang),
        purposes=PURPOSES,
        decided={purpose for purpose, _scope in decided},
        candidates=listed,
        nonce=str(uuid.uuid4()),
    )


def explained(ranking: Json, name: Any, lang: str) -> Json:
    """A ranking with each tie-break step put in words: the criterion, who it separated."""
    steps = [
        {
            "number": n,
            "criterion": CRITERIA.get(step["criterion"], step["criterion"]),
            "prefer": step["prefer"],
            "applied": step["applied"],
            "figures": [(name(cid), value) for cid, value in step["values"].items()],
            "advanced": [name(c) for c in step["advanced"]],
            "eliminated": [name(c) for c in step["eliminated"]],
            "still_tied": [name(c) for c in step["still_tied"]],
        }
        for n, step in enumerate(ranking.get("tie_break_steps") or (), start=1)
    ]
    return {**ranking, "steps": steps, "tied_names": [(c, name(c)) for c in ranking["tied"]]}
