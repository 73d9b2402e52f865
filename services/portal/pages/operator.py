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
from services.portal.i18n import N_, place
from services.portal.pages.common import Json
from services.portal.web import back_to, backends, form_of, lang_of, render, signed_in

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

    @r.post("/operator/surveys/{survey_id}/roll", include_in_schema=False)
    async def roll(survey_id: str, request: Request) -> Response:
        """The residents' roll from a file: one IIN a line (or a CSV whose first column is the
        IIN, under a header); the survey service hashes each at once and keeps no IIN."""
        me = signed_in(request)
        form = await form_of(request)
        upload = form.get("file")
        data = await upload.read(MAX_FILE + 1) if isinstance(upload, UploadFile) else b""
        residents = roll_entries(data)
        if not residents:
            problem = Problem(
                422,
                "file_missing",
                "choose the roll's file: one IIN a line",
                ({"field": "roll", "code": "file_missing", "detail": "no IIN in the file"},),
            )
            return await show(request, survey_id, problem=problem)
        try:
            await backends(request).call(
                "survey",
                "PUT",
                f"/v1/surveys/{survey_id}/roll",
                me.token,
                json={"residents": residents},
                idempotency_key=f"roll-{form.get('nonce') or uuid.uuid4()}",
            )
        except Refused as refused:
            return await show(request, survey_id, problem=refused.problem)
        return back_to(
            request,
            f"/operator/surveys/{survey_id}",
            flash=N_("The residents' roll is set: only residents on it may answer."),
        )

    return r


def roll_entries(data: bytes) -> list[str]:
    """The file's entries: each line's first field (``;`` or ``,``), a header line skipped."""
    text = data.decode("utf-8-sig", errors="replace")
    entries = [line.replace(",", ";").split(";")[0].strip() for line in text.splitlines()]
    return [e for e in entries if e and e.lower() != "iin"]


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
        detail = await backends(request).call("survey", "GET", f"/v1/surveys/{survey_id}", None)
        shown = {
            **survey,
            "place": place(survey["settlement"], lang),
            "roll_count": detail.get("roll_count"),
            "roll_sha256": detail.get("roll_sha256"),
        }
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
