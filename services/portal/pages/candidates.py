"""A candidate's dossier: the questionnaire and its Annex 3 score, the documents (a PDF shown
in the page, a video played), the admission outcome, every sheet recorded so far (who, when,
corrections with their reasons), and the assessments of §14 (ethics, feedback)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from services.portal.backends import Refused
from services.portal.i18n import KIND_NAMES, N_, place
from services.portal.pages.common import Json, commission, names, rubrics
from services.portal.web import Person, back_to, backends, form_of, lang_of, render, signed_in

DOCUMENT_KINDS = {
    "application_form": N_("Application (Annex 1)"),
    "identity_document": N_("Identity document"),
    "service_record": N_("Service record"),
    "questionnaire": N_("Questionnaire (Annex 2)"),
    "socio_economic_indicators": N_("Socio-economic indicators"),
    "project_presentation": N_("Project presentation"),
    "project_video": N_("Project video"),
    "essay": N_("Essay"),
}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/candidates/{candidate_id}", include_in_schema=False)
    async def dossier(candidate_id: str, request: Request) -> Response:
        return await show(request, candidate_id)

    @r.get("/candidates/{candidate_id}/documents/{kind}", include_in_schema=False)
    async def document(candidate_id: str, kind: str, request: Request) -> Response:
        """The document's bytes from nominations, as the person (shown inline in the page)."""
        me = signed_in(request)
        answer = await backends(request).send(
            "nominations", "GET", f"/v1/applications/{candidate_id}/documents/{kind}", me.token
        )
        headers = {
            "Content-Disposition": "inline",
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
        }
        media = answer.headers.get("content-type", "application/octet-stream")
        return StreamingResponse(iter([answer.content]), media_type=media, headers=headers)

    @r.post("/candidates/{candidate_id}/defence", include_in_schema=False)
    async def defence(candidate_id: str, request: Request) -> Response:
        """§19: the finalist's project defence registered (the Republican secretary)."""
        me = signed_in(request)
        form = await form_of(request)

        def whole(name: str) -> Any:
            text = str(form.get(name, "")).strip().replace(" ", "").replace("\u00a0", "")
            return int(text) if text.isdigit() else text

        body: Json = {
            "title": str(form.get("title", "")).strip(),
            "budget_tenge": whole("budget_tenge"),
            "talk_seconds": whole("talk_seconds"),
            "mode": form.get("mode", "in_person"),
        }
        try:
            await backends(request).call(
                "scoring", "POST", f"/v1/candidates/{candidate_id}/defences", me.token, json=body
            )
        except Refused as refused:
            typed = {k: str(form.get(k, "")) for k in ("title", "budget_tenge", "talk_seconds")}
            return await show(request, candidate_id, refused=refused, entered={"defence": typed})
        return back_to(
            request, f"/candidates/{candidate_id}", flash=N_("The defence is registered.")
        )

    @r.post("/candidates/{candidate_id}/assessments/{what}", include_in_schema=False)
    async def assess(candidate_id: str, what: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        path = {"ethics": "ethics-results", "feedback": "feedback-assessments"}.get(what)
        if path is None:
            return back_to(request, f"/candidates/{candidate_id}")
        text = str(form.get("score", "")).strip()
        body: Json = {
            "score": int(text) if text.isdigit() else text,
            "note": str(form.get("note", "")).strip(),
        }
        try:
            await backends(request).call(
                "scoring", "POST", f"/v1/candidates/{candidate_id}/{path}", me.token, json=body
            )
        except Refused as refused:
            return await show(request, candidate_id, refused=refused, entered={what: body})
        return back_to(request, f"/candidates/{candidate_id}", flash=N_("Assessment recorded."))

    return r


async def show(
    request: Request,
    candidate_id: str,
    refused: Refused | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    try:
        candidate: Json = await api.call(
            "scoring", "GET", f"/v1/candidates/{candidate_id}", me.token
        )
    except Refused as missing:
        # a finalist admitted from a region's deployment: the region keeps their record; the
        # republic shows what the region's signed dossier carried
        candidate = await _admitted(api, me, candidate_id, missing)
    home = candidate["commission_id"]
    if me.region is None and me.commission and me.commission != home:
        # a finalist before the Republican commission: read through the reader's own
        # commission (the region's records stay the region's)
        home = me.commission
    board = await commission(api, me, home)
    history, application, sheets = await asyncio.gather(
        api.call("scoring", "GET", f"/v1/candidates/{candidate_id}/sheets", me.token),
        _application(api, me.token, candidate_id),
        rubrics(api, me, board.id),
    )
    times = await _recorded_at(api, me.token, board.view["sittings"])
    annex3: dict[str, str] = {}
    if application and application.get("score"):
        rubric = await api.call(
            "nominations",
            "GET",
            f"/v1/questionnaire-rubrics/{application['score']['rubric_id']}",
            None,
        )
        annex3 = {c["key"]: names(c["names"], lang) for c in rubric["criteria"]}
    criterion_names = {
        kind: {c["key"]: names(c["name"], lang) for c in sheet["criteria"]}
        for kind, sheet in sheets.items()
    }
    rows = [
        {
            **s,
            "member": board.name_of(s["member_id"]),
            "recorded_at": times.get(s["sheet_id"]),
            "kind_name": KIND_NAMES.get(s["kind"], s["kind"]),
            "named": [
                (criterion_names.get(s["kind"], {}).get(k, k), v) for k, v in s["scores"].items()
            ],
        }
        for s in history["sheets"]
    ]
    rows.sort(key=lambda s: str(s["recorded_at"] or ""))
    return render(
        request,
        "candidate.html",
        status=refused.problem.status if refused else 200,
        problem=refused.problem if refused else None,
        candidate=candidate,
        board=board,
        title=board.title(lang),
        place_of=lambda kato: place(kato, lang),
        application=application,
        documents=DOCUMENT_KINDS,
        sheets=rows,
        annex3=annex3,
        entered=entered or {},
    )


async def _admitted(api: Any, me: Person, candidate_id: str, missing: Refused) -> Json:
    """The Republican commission's finalist whose record is with their region (federation),
    shaped as a dossier with only what the republic knows; else the refusal stands."""
    if me.region is not None or not me.commission or missing.problem.status != 404:
        raise missing
    found = await api.call("scoring", "GET", f"/v1/commissions/{me.commission}/finalists", me.token)
    for f in found["items"]:
        if f["candidate_id"] == candidate_id:
            return {**f, "commission_id": me.commission, "finalist": True, "admitted": True}
    raise missing


async def _application(api: Any, token: str, candidate_id: str) -> Json | None:
    try:
        found: Json = await api.call(
            "nominations", "GET", f"/v1/applications/{candidate_id}", token
        )
    except Refused:
        return None  # the file is the nominations service's; the dossier shows what it may
    return found


async def _recorded_at(api: Any, token: str, sittings: list[str]) -> dict[str, str]:
    """When each sheet was recorded, from reporting's protocols (its log's times)."""
    found: dict[str, str] = {}
    for sitting_id in sittings:
        try:
            doc = await api.call(
                "reporting", "GET", f"/v1/read-models/protocols/{sitting_id}", token
            )
        except Refused:
            continue
        body = doc.get("doc", doc) if isinstance(doc, dict) else {}
        for sheet_id, sheet in (body.get("sheets") or {}).items():
            found[sheet_id] = sheet.get("recorded_at", "")
    return found


STATUSES = (N_("submitted"), N_("admitted"), N_("rejected"), N_("withdrawn"))
"""The admission outcomes as the page says them (``_(application.status)``)."""
