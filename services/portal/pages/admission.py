"""The secretary's admission check (§6, §10, §11): the region's applications with what each
file still lacks, one application's questionnaire and documents, the check run by the
nominations service (every failed rule named), the Annex 3 score confirmed or corrected with a
reason, and the justified complaints recorded with their source (§12)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.portal.backends import Problem, Refused
from services.portal.i18n import N_, place
from services.portal.pages.candidates import DOCUMENT_KINDS
from services.portal.pages.common import Json, commission, names
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in

PHOTO = N_("Photo (optional)")
CHUNK_BYTES = 8 << 20
"""A resumable upload's piece: a lost line costs at most this much again."""

STATUS_NAMES = {
    "submitted": N_("submitted, not checked"),
    "admitted": N_("admitted"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/commissions/{commission_id}/applications", include_in_schema=False)
    async def applications(commission_id: str, request: Request) -> Response:
        me = signed_in(request)
        api, lang = backends(request), lang_of(request)
        board = await commission(api, me, commission_id)
        found = await _all(api, me.token, board.view["edition_id"], board.region)
        by_district: dict[str, list[Json]] = defaultdict(list)
        for a in found:
            missing = [k for k in DOCUMENT_KINDS if k not in a["documents"]]
            by_district[a["district_kato"]].append(
                {**a, "missing": missing, "settlement": place(a["rural_district_kato"], lang)}
            )
        groups: list[Json] = [
            {"name": place(k, lang), "items": sorted(v, key=lambda x: str(x["akim"]))}
            for k, v in sorted(by_district.items(), key=lambda kv: place(kv[0], lang))
        ]
        counts: dict[str, int] = defaultdict(int)
        for a in found:
            counts[a["status"]] += 1
        return render(
            request,
            "applications.html",
            board=board,
            title=board.title(lang),
            groups=groups,
            counts=dict(counts),
            statuses=STATUS_NAMES,
        )

    @r.get("/applications/{application_id}", include_in_schema=False)
    async def application(application_id: str, request: Request) -> Response:
        return await show(request, application_id)

    @r.post("/applications/{application_id}/check", include_in_schema=False)
    async def check(application_id: str, request: Request) -> Response:
        return await act(request, application_id, "admission-check", None, N_("Checked."))

    @r.post("/applications/{application_id}/score/confirmation", include_in_schema=False)
    async def confirm(application_id: str, request: Request) -> Response:
        return await act(
            request,
            application_id,
            "questionnaire-score/confirmation",
            None,
            N_("The Annex 3 score is confirmed."),
        )

    @r.post("/applications/{application_id}/score/correction", include_in_schema=False)
    async def correct(application_id: str, request: Request) -> Response:
        form = await form_of(request)
        chosen = form.get("items", [])
        body = {
            "items": chosen if isinstance(chosen, list) else [chosen],
            "reason": str(form.get("reason", "")).strip(),
        }
        return await act(
            request,
            application_id,
            "questionnaire-score/corrections",
            body,
            N_("The Annex 3 score is corrected."),
            form,
        )

    @r.post("/applications/{application_id}/complaints", include_in_schema=False)
    async def complaints(application_id: str, request: Request) -> Response:
        form = await form_of(request)
        text = str(form.get("count", "")).strip()
        body = {
            "count": int(text) if text.isdigit() else text,
            "source": str(form.get("source", "")).strip(),
        }
        return await act(
            request, application_id, "complaints", body, N_("Complaints recorded."), form
        )

    return r


async def act(
    request: Request,
    application_id: str,
    path: str,
    body: Json | None,
    done: str,
    form: dict[str, Any] | None = None,
) -> Response:
    me = signed_in(request)
    if form is None:
        await form_of(request)
    try:
        await backends(request).call(
            "nominations", "POST", f"/v1/applications/{application_id}/{path}", me.token, json=body
        )
    except Refused as refused:
        typed = {k: v for k, v in (form or {}).items() if k != "nonce"}
        return await show(request, application_id, refused.problem, typed)
    return back_to(request, f"/applications/{application_id}", flash=done)


async def show(
    request: Request,
    application_id: str,
    problem: Problem | None = None,
    typed: dict[str, Any] | None = None,
) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    found: Json = await api.call(
        "nominations", "GET", f"/v1/applications/{application_id}", me.token
    )
    rubric: Json | None = None
    if found.get("score"):
        rubric = await api.call(
            "nominations",
            "GET",
            f"/v1/questionnaire-rubrics/{found['score']['rubric_id']}",
            None,
        )
    applied = {i for c in (found.get("score") or {}).get("criteria", []) for i in c["items"]}
    if typed is not None and "reason" in typed:  # a refused correction: the ticks as sent
        sent = typed.get("items", [])
        applied = set(sent if isinstance(sent, list) else [sent])
    criteria = [
        {
            "number": c["number"],
            "name": names(c["names"], lang),
            "one_choice": c["mode"] == "one_choice",
            "items": [
                {
                    "key": i["key"],
                    "name": names(i["names"], lang),
                    "points": i["points"],
                    "applied": i["key"] in applied,
                }
                for i in c["items"]
            ],
        }
        for c in (rubric or {}).get("criteria", [])
    ]
    q = found["questionnaire"]
    akim = " ".join(
        p for p in (q["akim"]["surname"], q["akim"]["given_name"], q["akim"].get("patronymic")) if p
    )
    files = {f["kind"]: f for f in found["files"]}
    return render(
        request,
        "application.html",
        status=problem.status if problem else 200,
        problem=problem,
        app=found,
        akim=akim,
        q=q,
        place_line=", ".join(
            place(k, lang)
            for k in (found["rural_district_kato"], found["district_kato"], found["region_kato"])
        ),
        documents=[
            {"kind": k, "label": label, "file": files.get(k)}
            for k, label in {**DOCUMENT_KINDS, "photo": PHOTO}.items()
        ],
        chunk_bytes=CHUNK_BYTES,
        criteria=criteria,
        statuses=STATUS_NAMES,
        typed=typed or {},
        fields=problem.fields if problem else {},
    )


async def _all(api: Any, token: str, edition_id: str, region: str | None) -> list[Json]:
    params: dict[str, Any] = {"edition_id": edition_id, "limit": 1000}
    if region:
        params["region"] = region
    items: list[Json] = []
    while True:
        page = await api.call("nominations", "GET", "/v1/applications", token, params=params)
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["after"] = page["next_cursor"]
