"""Home and "My commission": its people, the stages with their deadlines (Almaty time) and
what is still missing per district (sheets not given, assessments not recorded)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Problem, Refused
from services.portal.i18n import N_, Lang, place
from services.portal.pages.common import Json, candidates, commission, rubrics
from services.portal.web import (
    back_to,
    backends,
    form_of,
    lang_of,
    person_of,
    render,
    signed_in,
)

CALENDAR = (
    ("application_window_closes_at", N_("Applications close")),
    ("check_period_ends_at", N_("Completeness check ends")),
    ("stage_one_deadline", N_("Stage I selection ends")),
    ("interviews_deadline", N_("Interviews end")),
    ("finalists_deadline", N_("Regional finalists chosen by")),
    ("materials_deadline", N_("Materials to the Agency by")),
    ("defences_deadline", N_("Republican defences end")),
)
STAGES = (
    ("stage1_selection", N_("Stage I: projects and nomination per district")),
    ("stage1_interview", N_("Stage I: essays, interviews and the regional finalist")),
    ("stage2", N_("Stage II: defences and the winners")),
)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        me = person_of(request)
        if me is not None and me.commission:
            return back_to(request, f"/commissions/{me.commission}")
        listed: list[Json] = []
        if me is not None and me.has("organiser", "auditor", "ethics"):
            params = {"region": me.region} if me.region else {}
            listed = await backends(request).pages("scoring", "/v1/commissions", me.token, params)
        lang = lang_of(request)
        rows = [
            {
                "id": c["commission_id"],
                "title": place(c.get("region"), lang) or "—",
                "level": c["level"],
                "members": len(c["members"]),
                "candidates": c["candidates"],
            }
            for c in listed
        ]
        return render(
            request,
            "home.html",
            commissions=rows,
            signed_out=bool(request.query_params.get("signed_out")),
        )

    @r.get("/commissions/{commission_id}", include_in_schema=False)
    async def my_commission(commission_id: str, request: Request) -> Response:
        return await show(request, commission_id)

    @r.post("/commissions/{commission_id}/stages/{stage}/close", include_in_schema=False)
    async def close_stage(commission_id: str, stage: str, request: Request) -> Response:
        """The secretary closes a stage: nothing more is recorded in it (the service decides
        whether it may close)."""
        me = signed_in(request)
        form = await form_of(request)
        if form.get("confirm") != "yes":  # closing cannot be undone by the secretary
            problem = Problem(
                422,
                "close_not_confirmed",
                "tick the box to confirm that the stage closes",
                ({"field": "confirm", "code": "close_not_confirmed"},),
            )
            return render(
                request,
                "error.html",
                status=422,
                problem=problem,
                back=f"/commissions/{commission_id}",
            )
        try:
            await backends(request).call(
                "scoring",
                "POST",
                f"/v1/commissions/{commission_id}/stages/{stage}/close",
                me.token,
            )
        except Refused as refused:
            return render(
                request,
                "error.html",
                status=refused.problem.status,
                problem=refused.problem,
                back=f"/commissions/{commission_id}",
            )
        return back_to(request, f"/commissions/{commission_id}", flash=N_("The stage is closed."))

    @r.post("/commissions/{commission_id}/materials", include_in_schema=False)
    async def send_materials(commission_id: str, request: Request) -> Response:
        """§18: the region's secretary sends the file and the regional decision to the Agency
        (the service refuses before the decision or after the deadline)."""
        me = signed_in(request)
        form = await form_of(request)
        body = {"note": str(form.get("note", "")).strip()}
        try:
            await backends(request).call(
                "scoring",
                "POST",
                f"/v1/commissions/{commission_id}/materials",
                me.token,
                json=body,
                idempotency_key=f"materials-{form.get('nonce') or commission_id}",
            )
        except Refused as refused:
            return render(
                request,
                "error.html",
                status=refused.problem.status,
                problem=refused.problem,
                back=f"/commissions/{commission_id}",
            )
        return back_to(
            request,
            f"/commissions/{commission_id}",
            flash=N_("The materials are sent to the Agency."),
        )

    return r


async def show(
    request: Request,
    commission_id: str,
    problem: Problem | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    """My commission; with ``problem``, a refused form shown again with what was typed."""
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    board = await commission(api, me, commission_id)
    edition = await api.call(
        "nominations", "GET", f"/v1/editions/{board.view['edition_id']}", me.token
    )
    people = await candidates(api, me, board)
    sheets = await rubrics(api, me, commission_id)
    sittings = [
        await api.call("scoring", "GET", f"/v1/sittings/{sid}", me.token)
        for sid in board.view["sittings"]
    ]
    closed = set(board.view["closed_stages"])
    stages = [
        {
            "stage": key,
            "label": label,
            "closed": key in closed,
            "kinds": [k for k, s in sheets.items() if s["stage"] == key],
        }
        for key, label in STAGES
        if (key == "stage2") == (board.region is None)
    ]
    calendar = [{"label": label, "at": edition["calendar"].get(key)} for key, label in CALENDAR]
    return render(
        request,
        "commission.html",
        status=problem.status if problem else 200,
        problem=problem,
        typed=typed or {},
        board=board,
        title=board.title(lang),
        edition=edition,
        calendar=calendar,
        stages=stages,
        districts=missing(people, board.view, stages, closed, lang),
        sittings=sittings,
        people=board.people(),
        region_name=place(board.region, lang),
        region_ru=place(board.region, "ru"),
        region_kk=place(board.region, "kk"),
        names={c["candidate_id"]: c["name"] for c in people},
        nonce=str(uuid.uuid4()),
    )


def missing(
    people: list[Json], board: Json, stages: list[dict[str, Any]], closed: set[str], lang: Lang
) -> list[Json]:
    """Per district, each candidate's sheets given out of the members who may give them (the
    members less those recused from the candidate) for the stages still open, and whether
    the ethics and feedback assessments of a nominee are recorded."""
    members = [m["person_id"] for m in board["members"]]
    recused: dict[str, set[str]] = defaultdict(set)
    for r in board["recusals"]:
        recused[r["candidate_id"]].add(r["member_id"])
    open_kinds = [k for s in stages if s["stage"] not in closed for k in s["kinds"]]
    by_district: dict[str, list[Json]] = defaultdict(list)
    for c in people:
        may = len([m for m in members if m not in recused[c["candidate_id"]]])
        gaps = [
            {"kind": kind, "given": c["live_sheets"].get(kind, 0), "of": may}
            for kind in open_kinds
            if c["live_sheets"].get(kind, 0) < may
        ]
        nominee = c.get("nomination") is not None
        by_district[c["district"]].append(
            {
                "id": c["candidate_id"],
                "name": c["name"],
                "nominee": nominee,
                "finalist": c.get("finalist", False),
                "gaps": gaps,
                "ethics": c.get("ethics") is not None,
                "feedback": c.get("feedback") is not None,
                "questionnaire": c.get("questionnaire_score"),
            }
        )
    return [
        {"kato": kato, "name": place(kato, lang), "candidates": rows}
        for kato, rows in sorted(by_district.items(), key=lambda kv: place(kv[0], lang))
    ]
