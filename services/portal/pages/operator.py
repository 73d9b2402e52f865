"""The operator's pages: the surveys of their region by district and rural district, and a
paper poll imported from a CSV file — every line accepted, or nothing imported and each line's
outcome reported (the survey service decides; the portal never sees a resident's answers
beyond the file it passes on)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.portal.backends import Problem, Refused
from services.portal.i18n import place
from services.portal.pages.common import Json
from services.portal.web import backends, form_of, lang_of, render, signed_in

MAX_FILE = 5 * 1024 * 1024  # the survey service's own limit on a paper poll


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/operator", include_in_schema=False)
    async def surveys(request: Request) -> Response:
        me = signed_in(request)
        lang = lang_of(request)
        params = {"region": me.region} if me.region else {}
        found = await backends(request).call(
            "reporting", "GET", "/v1/public/surveys", None, params=params
        )
        by_district: dict[str, list[Json]] = defaultdict(list)
        for s in found["items"]:
            by_district[s.get("district") or ""].append(
                {**s, "settlement_name": place(s["settlement"], lang)}
            )
        groups = [
            {"name": place(k, lang) or "—", "region": place(v[0]["region"], lang), "items": v}
            for k, v in sorted(by_district.items(), key=lambda kv: place(kv[0], lang))
        ]
        return render(request, "operator.html", groups=groups)

    @r.get("/operator/surveys/{survey_id}", include_in_schema=False)
    async def survey(survey_id: str, request: Request) -> Response:
        return await show(request, survey_id)

    @r.post("/operator/surveys/{survey_id}/paper-imports", include_in_schema=False)
    async def paper_import(survey_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        upload = form.get("file")
        data = await upload.read(MAX_FILE + 1) if isinstance(upload, UploadFile) else b""
        name = upload.filename if isinstance(upload, UploadFile) else None
        if not data:
            problem = Problem(
                422,
                "file_missing",
                "choose the CSV file of the paper poll",
                ({"field": "file", "code": "file_missing", "detail": "no file was chosen"},),
            )
            return await show(request, survey_id, problem=problem)
        if len(data) > MAX_FILE:
            problem = Problem(413, "body_too_large", "the file is larger than 5 MB")
            return await show(request, survey_id, problem=problem)
        try:
            done = await backends(request).call(
                "survey",
                "POST",
                f"/v1/surveys/{survey_id}/paper-imports",
                me.token,
                content=data,
                media_type="text/csv",
                idempotency_key=f"paper-{form.get('nonce') or uuid.uuid4()}",
            )
        except Refused as refused:
            report = refused.problem.extra.get("lines")
            return await show(request, survey_id, problem=refused.problem, report=report, name=name)
        return await show(request, survey_id, report=done["lines"], imported=done, name=name)

    return r


async def show(
    request: Request,
    survey_id: str,
    *,
    problem: Problem | None = None,
    report: list[Json] | None = None,
    imported: Json | None = None,
    name: str | None = None,
) -> Response:
    me = signed_in(request)
    lang = lang_of(request)
    params = {"region": me.region} if me.region else {}
    found = await backends(request).call(
        "reporting", "GET", "/v1/public/surveys", None, params=params
    )
    survey: Json | None = next((s for s in found["items"] if s["survey_id"] == survey_id), None)
    if survey is None:
        problem = problem or Problem(404, "survey_not_found", "no such survey in your region")
    shown: dict[str, Any] = {}
    if survey is not None:
        shown = {**survey, "place": place(survey["settlement"], lang)}
    return render(
        request,
        "operator_survey.html",
        status=problem.status if problem else (201 if imported else 200),
        problem=problem,
        survey=shown,
        survey_id=survey_id,
        report=report or [],
        imported=imported,
        file_name=name,
        nonce=str(uuid.uuid4()),
    )
