"""The nominator's pages (§7, §9, Annexes 1 and 2): the application as a form with every field
the annexes ask for, kept as a draft in the nominations service until it is submitted; then
the file's documents uploaded from the browser (a large video in resumable pieces with its
progress, or as one plain form upload without JavaScript), the admission outcome with every
reason, and the withdrawal.

The form's inputs are named by their place in the questionnaire's JSON
(``akim.surname``, ``education.0.institution``), so that a refusal's field
(``questionnaire.education.0.graduated_in``) is put beside the very input it names; the
portal decides nothing: an empty input is left out, the rest is sent as typed and the
nominations service judges it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from services.portal.backends import Problem, Refused, Unreachable
from services.portal.i18n import N_, gettext, place
from services.portal.pages.admission import STATUS_NAMES, show
from services.portal.pages.common import Json
from services.portal.web import (
    Person,
    back_to,
    backends,
    explain,
    form_of,
    lang_of,
    render,
    require_csrf,
    signed_in,
)
from shared.territory import Level, load_territory

NOMINATING = ("nominator", "secretary")
MAX_ROWS = 20


@dataclass(frozen=True)
class Field:
    """One input: its path in the questionnaire (within its row for a list), label, kind."""

    path: str
    label: str
    kind: str = "text"  # text, date, number, select, check, email, tel, textarea
    options: tuple[tuple[str, str], ...] = ()
    required: bool = False
    hint: str = ""


@dataclass(frozen=True)
class Section:
    """A group of inputs; ``rows`` > 0: a list (``key``) of rows, at least that many shown."""

    key: str
    title: str
    fields: tuple[Field, ...]
    rows: int = 0
    hint: str = ""


NOMINATOR_KINDS = (
    ("local_executive_body", N_("the local executive body (akimat)")),
    ("central_body_territorial_unit", N_("a territorial unit of a central state body")),
    ("local_public_organisation", N_("a local public organisation")),
    ("self_nomination", N_("self-nomination")),
)
LEVELS = (
    ("vocational", N_("vocational")),
    ("higher", N_("higher")),
    ("postgraduate", N_("postgraduate")),
)
AWARDS = (
    ("state", N_("state award")),
    ("departmental", N_("departmental award")),
    ("honorary_title", N_("honorary title")),
    ("international", N_("international award")),
)
ROLES = (("developed", N_("developed")), ("implemented", N_("implemented")))
LANGUAGES = (
    ("state", N_("Kazakh (the state language)")),
    ("russian", N_("Russian")),
    ("english", N_("English")),
    ("other", N_("another language")),
)
LANGUAGE_LEVELS = (
    ("basic", N_("basic")),
    ("intermediate", N_("intermediate")),
    ("fluent", N_("fluent")),
)
SANCTIONS = (("disciplinary", N_("disciplinary")), ("administrative", N_("administrative")))


def _activity(year_label: str = N_("Year")) -> tuple[Field, ...]:
    return (Field("title", N_("Title")), Field("year", year_label, "number"))


SECTIONS: tuple[Section, ...] = (
    Section(
        "",
        N_("Who puts the akim forward (§7)"),
        (
            Field("nominator.kind", N_("Nominator"), "select", NOMINATOR_KINDS, True),
            Field(
                "nominator.name",
                N_("Name of the nominating body"),
                hint=N_("Leave empty for self-nomination."),
            ),
        ),
    ),
    Section(
        "",
        N_("The akim (Annex 2)"),
        (
            Field("akim.surname", N_("Surname"), required=True),
            Field("akim.given_name", N_("Given name"), required=True),
            Field("akim.patronymic", N_("Patronymic")),
            Field("birth_date", N_("Date of birth"), "date"),
            Field("place_of_work", N_("Place of work")),
            Field("position", N_("Position"), required=True),
            Field("rural_district_kato", N_("Rural district"), "district", required=True),
            Field("appointed_akim_on", N_("Appointed akim on"), "date", required=True),
            Field("contacts.phone", N_("Telephone"), "tel"),
            Field("contacts.email", N_("E-mail"), "email"),
            Field("academic_degree", N_("Academic degree")),
            Field("academic_title", N_("Academic title")),
            Field("civil_service.years", N_("Civil service: years"), "number", required=True),
            Field("civil_service.months", N_("Civil service: months"), "number"),
            Field(
                "field_experience.years", N_("Work in the field of the project: years"), "number"
            ),
            Field(
                "field_experience.months", N_("Work in the field of the project: months"), "number"
            ),
        ),
    ),
    Section(
        "education",
        N_("Education"),
        (
            Field("institution", N_("Institution")),
            Field("graduated_in", N_("Year of graduation"), "number"),
            Field("speciality", N_("Speciality")),
            Field("qualification", N_("Qualification")),
            Field("level", N_("Level"), "select", LEVELS),
        ),
        rows=1,
    ),
    Section(
        "awards",
        N_("State and departmental awards, honorary titles, diplomas"),
        (
            Field("kind", N_("Kind"), "select", AWARDS),
            Field("title", N_("Title")),
            Field("year", N_("Year"), "number"),
        ),
        rows=1,
    ),
    Section("seminars", N_("Seminars, forums and conferences"), _activity(), rows=1),
    Section(
        "internships",
        N_("Internships"),
        (
            Field("title", N_("Direction")),
            Field("institution", N_("Institution")),
            Field("specialisation", N_("Specialisation")),
            Field("year", N_("Year of completion"), "number"),
        ),
        rows=1,
    ),
    Section(
        "refresher_courses",
        N_("Refresher courses and retraining"),
        (
            Field("title", N_("Direction")),
            Field("institution", N_("Institution")),
            Field("specialisation", N_("Specialisation")),
            Field("year", N_("Year of completion"), "number"),
        ),
        rows=1,
    ),
    Section("scientific_works", N_("Publications, books, articles"), _activity(), rows=1),
    Section(
        "projects",
        N_("Projects"),
        (
            Field("title", N_("Title")),
            Field("role", N_("Role"), "select", ROLES),
        ),
        rows=1,
    ),
    Section(
        "",
        N_("Complex projects (§12)"),
        (Field("implements_complex_projects", N_("Implements complex projects"), "check"),),
    ),
    Section(
        "implemented_developments",
        N_("Scientific developments implemented in public administration"),
        _activity(),
        rows=1,
    ),
    Section("planned_research", N_("Planned research"), _activity(), rows=1),
    Section(
        "languages",
        N_("Languages"),
        (
            Field("language", N_("Language"), "select", LANGUAGES),
            Field("name", N_("Name of the other language")),
            Field("level", N_("Level"), "select", LANGUAGE_LEVELS),
        ),
        rows=2,
    ),
    Section(
        "sanctions",
        N_("Disciplinary and administrative sanctions"),
        (
            Field("kind", N_("Kind"), "select", SANCTIONS),
            Field("imposed_on", N_("Imposed on"), "date"),
            Field("lifted", N_("Lifted"), "check"),
            Field("lifted_on", N_("Lifted on"), "date"),
            Field("description", N_("What for")),
        ),
        rows=1,
        hint=N_("Every sanction, lifted or not."),
    ),
    Section(
        "",
        N_("Socio-economic indicators of the rural district as of 1 January (§9 item 5)"),
        (
            Field("indicators.as_of", N_("As of"), "date", required=True),
            Field(
                "indicators.investment_tenge",
                N_("Investment attracted, tenge"),
                "number",
                required=True,
            ),
            Field("indicators.jobs_created", N_("Jobs created"), "number", required=True),
            Field(
                "indicators.agricultural_output_tenge",
                N_("Agricultural output, tenge"),
                "number",
                required=True,
            ),
            Field(
                "indicators.migration.arrived", N_("People who moved in"), "number", required=True
            ),
            Field(
                "indicators.migration.departed", N_("People who moved out"), "number", required=True
            ),
            Field(
                "indicators.registered_offences", N_("Offences registered"), "number", required=True
            ),
        ),
    ),
    Section(
        "",
        N_("Statement (Annex 1) and consent (Annex 2)"),
        (
            Field(
                "statement.agrees_to_terms",
                N_("I ask to be admitted to the competition; I have read and accept its terms."),
                "check",
                required=True,
            ),
            Field(
                "statement.consents_to_personal_data",
                N_("I consent to the processing and keeping of my personal data."),
                "check",
                required=True,
            ),
            Field("statement.signed_on", N_("Date"), "date", required=True),
        ),
    ),
)
ROW_CHECKS = {"lifted"}


def inputs(form: dict[str, Any]) -> list[Json]:
    """The sections with their inputs' names, labels and typed values, for the template."""
    shown: list[Json] = []
    for s in SECTIONS:
        if not s.rows:
            shown.append(
                {"section": s, "rows": [[(f, f.path, form.get(f.path, "")) for f in s.fields]]}
            )
            continue
        filled = [i for i in range(MAX_ROWS) if _row_has(form, s, i)]
        count = min(MAX_ROWS, max(s.rows, (filled[-1] + 2) if filled else 0))
        rows = [
            [(f, f"{s.key}.{i}.{f.path}", form.get(f"{s.key}.{i}.{f.path}", "")) for f in s.fields]
            for i in range(count)
        ]
        shown.append({"section": s, "rows": rows})
    return shown


def _row_has(form: dict[str, Any], s: Section, i: int) -> bool:
    return any(
        str(form.get(f"{s.key}.{i}.{f.path}", "")).strip()
        for f in s.fields
        if f.path not in ROW_CHECKS
    )


def questionnaire(form: dict[str, Any]) -> Json:
    """The questionnaire's JSON from the form: empty inputs left out, the rest as typed."""
    out: Json = {}
    for s in SECTIONS:
        if not s.rows:
            for f in s.fields:
                _put(out, f.path, _value(f, form.get(f.path)))
            continue
        items: list[Json] = []
        for i in range(MAX_ROWS):
            if not _row_has(form, s, i):
                continue
            row: Json = {}
            for f in s.fields:
                _put(row, f.path, _value(f, form.get(f"{s.key}.{i}.{f.path}")))
            items.append(row)
        out[s.key] = items
    return out


def _value(f: Field, raw: Any) -> Any:
    if f.kind == "check":
        return bool(raw)
    text = str(raw or "").strip()
    if f.kind == "number":
        text = text.replace(" ", "").replace("\u00a0", "")
    return text or None


def _put(into: Json, path: str, value: Any) -> None:
    if value is None:
        return
    *parents, last = path.split(".")
    for part in parents:
        into = into.setdefault(part, {})
    into[last] = value


def flat(value: Any, prefix: str = "") -> dict[str, str]:
    """A questionnaire's JSON back into the form's inputs (a submitted one, shown again)."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            found.update(flat(v, f"{prefix}{k}."))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.update(flat(v, f"{prefix}{i}."))
    elif value is not None:
        found[prefix[:-1]] = "on" if value is True else ("" if value is False else str(value))
    return found


def field_errors(problem: Problem | None, names: set[str]) -> dict[str, str]:
    """A refusal's items by the input they concern (the nearest one for a missing group)."""
    found: dict[str, str] = {}
    for item in problem.errors if problem else ():
        where = str(item.get("field") or "").removeprefix("questionnaire.")
        target = (
            where
            if where in names
            else next((n for n in sorted(names) if n.startswith(where + ".")), None)
        )
        if target:
            found.setdefault(target, str(item.get("code") or ""))
    return found


def anchor(name: str) -> str:
    return "f-" + name.replace(".", "-")


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/nominator", include_in_schema=False)
    async def home(request: Request) -> Response:
        me = signed_in(request)
        api = backends(request)
        editions = (await api.call("reporting", "GET", "/v1/public/editions", None))["items"]
        chosen = request.query_params.get("edition") or (
            editions[0]["edition_id"] if editions else None
        )
        edition: Json | None = None
        mine: list[Json] = []
        if chosen:
            edition = await api.call("nominations", "GET", f"/v1/editions/{chosen}", None)
            found = await api.call(
                "nominations",
                "GET",
                "/v1/applications",
                me.token,
                params={"edition_id": chosen, "mine": "true"},
            )
            lang = lang_of(request)
            mine = [
                {**a, "settlement": place(a["rural_district_kato"], lang)} for a in found["items"]
            ]
        drafts = (await api.call("nominations", "GET", "/v1/application-drafts", me.token))["items"]
        return render(
            request,
            "nominator.html",
            title=gettext(lang_of(request), "My applications"),
            editions=editions,
            edition=edition,
            mine=mine,
            drafts=[d for d in drafts if not chosen or d["edition_id"] == chosen],
            statuses=STATUS_NAMES,
        )

    @r.get("/nominator/applications/new", include_in_schema=False)
    async def new(request: Request) -> Response:
        me = signed_in(request)
        draft_id = request.query_params.get("draft")
        edition_id = request.query_params.get("edition", "")
        typed: dict[str, Any] = {}
        if draft_id:
            draft = await backends(request).call(
                "nominations", "GET", f"/v1/application-drafts/{draft_id}", me.token
            )
            typed, edition_id = dict(draft["form"]), str(draft["edition_id"])
        return await show_form(request, edition_id, draft_id or str(uuid.uuid4()), typed)

    @r.post("/nominator/applications", include_in_schema=False)
    async def submit(request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        typed = {k: v for k, v in form.items() if isinstance(v, str)}
        edition_id, draft_id = typed.pop("edition_id", ""), typed.pop("draft_id", "")
        action = typed.pop("action", "submit")
        api = backends(request)
        akim = " ".join(
            typed.get(k, "").strip() for k in ("akim.surname", "akim.given_name") if typed.get(k)
        )
        try:
            if action == "draft":
                await api.call(
                    "nominations",
                    "PUT",
                    f"/v1/application-drafts/{draft_id}",
                    me.token,
                    json={"edition_id": edition_id, "title": akim[:200], "form": typed},
                )
                return back_to(
                    request,
                    f"/nominator/applications/new?draft={draft_id}",
                    flash=N_("Draft kept. It is not submitted until you submit it."),
                )
            receipt = await api.call(
                "nominations",
                "POST",
                "/v1/applications",
                me.token,
                json={
                    "edition_id": edition_id,
                    "questionnaire": questionnaire(typed),
                    "draft_id": draft_id or None,
                },
                idempotency_key=f"portal-submit-{draft_id}" if draft_id else None,
            )
        except Refused as refused:
            return await show_form(request, edition_id, draft_id, typed, refused.problem)
        return back_to(
            request,
            f"/applications/{receipt['id']}",
            flash=N_("The application is submitted. Now attach its documents."),
        )

    @r.post("/nominator/drafts/{draft_id}/deletion", include_in_schema=False)
    async def delete_draft(draft_id: str, request: Request) -> Response:
        me = signed_in(request)
        await form_of(request)
        await backends(request).call(
            "nominations", "DELETE", f"/v1/application-drafts/{draft_id}", me.token
        )
        return back_to(request, "/nominator", flash=N_("The draft is deleted."))

    @r.post("/applications/{application_id}/documents/{kind}", include_in_schema=False)
    async def upload(application_id: str, kind: str, request: Request) -> Response:
        """One document as a plain form upload (no JavaScript): streamed to nominations."""
        me = signed_in(request)
        form = await form_of(request)
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            problem = Problem(
                422,
                "file_missing",
                "no file was chosen",
                ({"field": f"file-{kind}", "code": "file_missing", "detail": "choose a file"},),
            )
            return await show(request, application_id, problem)

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await file.read(1 << 20):
                yield chunk

        try:
            await backends(request).call(
                "nominations",
                "PUT",
                f"/v1/applications/{application_id}/documents/{kind}",
                me.token,
                params={"filename": file.filename[:255]},
                content=chunks(),
                media_type="application/octet-stream",
            )
        except Refused as refused:
            return await show(request, application_id, refused.problem)
        return back_to(
            request, f"/applications/{application_id}#docs", flash=N_("The document is attached.")
        )

    @r.post("/applications/{application_id}/withdrawal", include_in_schema=False)
    async def withdraw(application_id: str, request: Request) -> Response:
        me = signed_in(request)
        form = await form_of(request)
        body = {"reason": str(form.get("reason", "")).strip()}
        try:
            await backends(request).call(
                "nominations",
                "POST",
                f"/v1/applications/{application_id}/withdrawal",
                me.token,
                json=body,
            )
        except Refused as refused:
            return await show(request, application_id, refused.problem, {"reason": body["reason"]})
        return back_to(
            request, f"/applications/{application_id}", flash=N_("The application is withdrawn.")
        )

    # --- resumable uploads, for the page's script (JSON in, JSON out) ------------------------

    @r.post("/applications/{application_id}/uploads", include_in_schema=False)
    async def open_upload(application_id: str, request: Request) -> Response:
        me = _scripted(request)
        body = await request.json()
        return await _relay(
            request,
            "POST",
            f"/v1/applications/{application_id}/uploads",
            me.token,
            json={k: body.get(k) for k in ("kind", "filename", "size")},
        )

    @r.get("/uploads/{upload_id}", include_in_schema=False)
    async def upload_status(upload_id: str, request: Request) -> Response:
        me = signed_in(request)
        return await _relay(request, "GET", f"/v1/uploads/{upload_id}", me.token)

    @r.patch("/uploads/{upload_id}", include_in_schema=False)
    async def append(upload_id: str, request: Request) -> Response:
        me = _scripted(request)
        offset = request.headers.get("upload-offset", "")
        return await _relay(
            request,
            "PATCH",
            f"/v1/uploads/{upload_id}",
            me.token,
            content=request.stream(),
            headers={"Upload-Offset": offset},
        )

    return r


def _scripted(request: Request) -> Person:
    """The person behind a script's request, its CSRF token in ``X-CSRF-Token``."""
    me = signed_in(request)
    require_csrf(request, request.headers.get("x-csrf-token"))
    return me


async def _relay(
    request: Request,
    method: str,
    path: str,
    token: str,
    *,
    json: Any = None,
    content: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A nominations call for the page's script: its JSON, or its refusal in the page's
    language (``message``) beside its code, with the service's status."""
    lang = lang_of(request)
    try:
        response = await backends(request).send(
            "nominations",
            method,
            path,
            token,
            json=json,
            content=content,
            media_type="application/offset+octet-stream" if content is not None else None,
            headers=headers,
        )
    except Refused as refused:
        p = refused.problem
        return JSONResponse(
            {"code": p.code, "message": explain(p, lang), "detail": p.detail, **p.extra},
            status_code=p.status,
        )
    except Unreachable:
        return JSONResponse(
            {
                "code": "service_unreachable",
                "message": gettext(lang, "The service did not answer. Try again in a minute."),
            },
            status_code=503,
        )
    return JSONResponse(response.json(), status_code=response.status_code)


async def show_form(
    request: Request,
    edition_id: str,
    draft_id: str,
    typed: dict[str, Any],
    problem: Problem | None = None,
) -> Response:
    me = signed_in(request)
    api, lang = backends(request), lang_of(request)
    edition: Json | None = None
    if edition_id:
        edition = await api.call("nominations", "GET", f"/v1/editions/{edition_id}", None)
    territory = load_territory()
    region = me.region
    districts = [
        {
            "name": place(d.kato, lang),
            "options": [
                (rd.kato, place(rd.kato, lang))
                for rd in sorted(territory.children(d.kato), key=lambda u: place(u.kato, lang))
                if rd.level is Level.rural_district
            ],
        }
        for d in sorted(
            (u for u in territory.children(region) if u.level is Level.district) if region else (),
            key=lambda u: place(u.kato, lang),
        )
    ]
    shown = inputs(typed)
    names = {name for s in shown for row in s["rows"] for _, name, _ in row}
    errors = field_errors(problem, names)
    return render(
        request,
        "nominator_form.html",
        status=problem.status if problem else 200,
        problem=problem,
        title=gettext(lang, "Application (Annexes 1 and 2)"),
        edition=edition,
        edition_id=edition_id,
        draft_id=draft_id,
        sections=shown,
        districts=districts,
        errors=errors,
        anchors={f"questionnaire.{n}": anchor(n) for n in errors},
        anchor=anchor,
    )
