"""The organiser's pages: the edition's calendar in Almaty time with every extension and its
reason, a deadline extended with a reason (nominations decides whether it may move), and the
national view per region — commissions, candidates admitted, nominees, stages closed, the
finalist, the materials, the surveys open now."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Problem, Refused
from services.portal.i18n import N_, ZONE, place
from services.portal.pages.admission import _all
from services.portal.pages.commission import CALENDAR, STAGES, missing
from services.portal.pages.common import Commission, Json, candidates, rubrics
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in

STEPS = {  # nominations' calendar steps and the calendar's field each moves
    "application_window": "application_window_closes_at",
    "check_period": "check_period_ends_at",
    "stage_one": "stage_one_deadline",
    "interviews": "interviews_deadline",
    "finalists": "finalists_deadline",
    "materials": "materials_deadline",
    "defences": "defences_deadline",
}
LABELS = dict(CALENDAR)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/organiser", include_in_schema=False)
    async def editions(request: Request) -> Response:
        me = signed_in(request)
        found = await backends(request).pages("reporting", "/v1/read-models/editions", me.token)
        found.sort(key=lambda e: (-int(e.get("year") or 0), str(e.get("title"))))
        return render(request, "organiser.html", editions=found, nonce=str(uuid.uuid4()), typed={})

    @r.post("/organiser/editions", include_in_schema=False)
    async def announce(request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        title = str(form.get("title", "")).strip()
        try:
            done = await backends(request).call(
                "nominations",
                "POST",
                "/v1/editions/from-figures",
                me.token,
                json={"figures": "2020", **({"title": title} if title else {})},
                idempotency_key=f"portal-announce-{form.get('nonce') or uuid.uuid4()}",
            )
        except Refused as refused:
            found = await backends(request).pages("reporting", "/v1/read-models/editions", me.token)
            return render(
                request,
                "organiser.html",
                status=refused.problem.status,
                problem=refused.problem,
                editions=found,
                nonce=str(uuid.uuid4()),
                typed={"title": title},
            )
        return back_to(
            request,
            f"/organiser/editions/{done['id']}",
            flash=N_("The edition is announced; its calendar is below."),
        )

    @r.get("/organiser/editions/{edition_id}", include_in_schema=False)
    async def edition(edition_id: str, request: Request) -> Response:
        return await show(request, edition_id)

    @r.post("/organiser/editions/{edition_id}/extensions", include_in_schema=False)
    async def extend(edition_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        typed = {k: str(form.get(k, "")).strip() for k in ("step", "date", "time", "reason")}
        try:
            at = datetime.fromisoformat(f"{typed['date']}T{typed['time'] or '18:30'}")
        except ValueError:
            problem = Problem(
                422,
                "date_invalid",
                "the new deadline is not a date and a time",
                ({"field": "date", "code": "date_invalid", "detail": "a date is needed"},),
            )
            return await show(request, edition_id, problem, typed)
        body = {
            "step": typed["step"],
            "new_deadline": at.replace(tzinfo=ZONE).isoformat(),
            "reason": typed["reason"],
        }
        try:
            await backends(request).call(
                "nominations",
                "POST",
                f"/v1/editions/{edition_id}/deadline-extensions",
                me.token,
                json=body,
            )
        except Refused as refused:
            return await show(request, edition_id, refused.problem, typed)
        return back_to(
            request,
            f"/organiser/editions/{edition_id}",
            flash=N_("The deadline is extended; everyone sees the new date."),
        )

    return r


async def show(
    request: Request,
    edition_id: str,
    problem: Problem | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    edition: Json = await api.call("nominations", "GET", f"/v1/editions/{edition_id}", me.token)
    calendar = [
        {"step": step, "label": LABELS[key], "at": edition["calendar"].get(key)}
        for step, key in STEPS.items()
    ]
    extensions = [{**x, "label": LABELS[STEPS[x["step"]]]} for x in edition.get("extensions") or []]
    boards = await api.pages("scoring", "/v1/commissions", me.token, {"edition_id": edition_id})
    surveys = await api.call(
        "reporting", "GET", "/v1/public/surveys", None, params={"status": "open"}
    )
    open_by_region: dict[str, int] = {}
    for s in surveys["items"]:
        open_by_region[s["region"]] = open_by_region.get(s["region"], 0) + 1
    answers, answers_in = await _answers_by_region(api, me.token, surveys["items"])
    districts = await _by_district(api, me, boards, lang)
    sheets: dict[str, tuple[int, int]] = {}
    for d in districts.values():
        given, gaps = sheets.get(d["region"], (0, 0))
        sheets[d["region"]] = (given + d["sheets_given"], gaps + d["sheets_missing"])
    applied: dict[str, int] = {}
    for a in await _all(api, me.token, edition_id, None):
        applied[a["region_kato"]] = applied.get(a["region_kato"], 0) + 1
        row = districts.setdefault(a["district_kato"], _district(a["region_kato"]))
        row["applications"] += 1
    for s in surveys["items"]:
        if s.get("district"):
            row = districts.setdefault(s["district"], _district(s["region"]))
            row["surveys"] += 1
            row["answers"] += answers_in.get(s["survey_id"], 0)
    labels = dict(STAGES)
    regions = [
        {
            "kato": b["region"],
            "name": place(b["region"], lang),
            "applications": applied.get(b["region"], 0),
            "candidates": b["candidates"],
            "nominees": b["nominees"],
            "closed": [labels[s] for s in b["closed_stages"] if s in labels],
            "finalist": bool(b["finalists"]),
            "no_finalist": b.get("no_finalist") is not None,
            "materials": (b.get("materials") or {}).get("sent_at"),
            "sittings": len(b["sittings"]),
            "surveys": open_by_region.get(b["region"], 0),
            "answers": answers.get(b["region"], 0),
            "sheets_given": sheets.get(b["region"], (0, 0))[0],
            "sheets_missing": sheets.get(b["region"], (0, 0))[1],
        }
        for b in boards
        if b.get("region")
    ]
    regions.sort(key=lambda x: str(x["name"]))
    by_district = sorted(
        (
            {
                **row,
                "kato": kato,
                "name": place(kato, lang),
                "region_name": place(row["region"], lang),
            }
            for kato, row in districts.items()
        ),
        key=lambda x: (str(x["region_name"]), str(x["name"])),
    )
    totals: dict[str, Any] = {
        "applications": sum(x["applications"] for x in regions),
        "candidates": sum(x["candidates"] for x in regions),
        "nominees": sum(x["nominees"] for x in regions),
        "finalists": sum(1 for x in regions if x["finalist"]),
        "surveys": sum(x["surveys"] for x in regions),
        "answers": sum(x["answers"] for x in regions),
        "sheets_given": sum(x["sheets_given"] for x in regions),
        "sheets_missing": sum(x["sheets_missing"] for x in regions),
    }
    return render(
        request,
        "organiser_edition.html",
        status=problem.status if problem else 200,
        problem=problem,
        edition=edition,
        calendar=calendar,
        extensions=extensions,
        regions=regions,
        districts=by_district,
        totals=totals,
        typed=typed or {},
        fields=problem.fields if problem else {},
    )


def _district(region: str) -> dict[str, Any]:
    return {
        "region": region,
        "applications": 0,
        "admitted": 0,
        "nominees": 0,
        "surveys": 0,
        "answers": 0,
        "sheets_given": 0,
        "sheets_missing": 0,
    }


async def _answers_by_region(
    api: Any, token: str, surveys: list[Json]
) -> tuple[dict[str, int], dict[str, int]]:
    """Residents' answers received so far, per region and per survey (reporting's live
    counts; no result and no resident, only how many)."""
    region_of = {s["survey_id"]: s["region"] for s in surveys}
    counts = await api.pages("reporting", "/v1/read-models/survey_counts", token)
    found: dict[str, int] = {}
    per_survey: dict[str, int] = {}
    for c in counts:
        per_survey[c["survey_id"]] = int(c.get("responses") or 0)
        region = region_of.get(c["survey_id"])
        if region:
            found[region] = found.get(region, 0) + per_survey[c["survey_id"]]
    return found, per_survey


async def _by_district(
    api: Any, me: Any, boards: list[Json], lang: Any
) -> dict[str, dict[str, Any]]:
    """Per district: candidates admitted, nominees, and the evaluation sheets given and still
    missing in the stages still open (the commission page's count: each candidate's members
    less those recused)."""
    regional = [b for b in boards if b.get("region")]
    found: dict[str, dict[str, Any]] = {}
    if not regional:
        return found
    kinds = await rubrics(api, me, regional[0]["commission_id"])
    for b in regional:
        closed = set(b["closed_stages"])
        stages = [
            {"stage": key, "kinds": [k for k, s in kinds.items() if s["stage"] == key]}
            for key, _ in STAGES
            if key != "stage2"
        ]
        open_kinds = [k for s in stages if s["stage"] not in closed for k in s["kinds"]]
        people = await candidates(api, me, Commission(b))
        for c in people:
            row = found.setdefault(c["district"], _district(str(b["region"])))
            row["admitted"] += 1
            row["nominees"] += 1 if c.get("nomination") is not None else 0
            row["sheets_given"] += sum(int(c["live_sheets"].get(k, 0)) for k in open_kinds)
        for district in missing(people, b, stages, closed, lang):
            row = found.setdefault(district["kato"], _district(str(b["region"])))
            for r in district["candidates"]:
                row["sheets_missing"] += sum(g["of"] - g["given"] for g in r["gaps"])
    return found
