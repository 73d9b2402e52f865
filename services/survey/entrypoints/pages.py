"""The public survey page (§14.3): ``GET/POST /surveys/{id}``, server-rendered, no JavaScript.

The language is ``?lang=`` (the page's links), else the form's ``lang`` field, else
``Accept-Language``, else Kazakh. The form carries a fresh idempotency key in a hidden field:
a resident on a bad network who sends it twice sees the confirmation twice, and one response is
recorded. Refusals are shown in the page's language with the matching HTTP status.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.survey.adapters.readmodels import SurveyDoc
from services.survey.domain.rubric import Lang
from services.survey.entrypoints.http import client_source
from services.survey.service import service_of
from services.survey.web import (
    SurveyPage,
    notice_for,
    pick_language,
    read_form,
    render_confirmation,
    render_form,
    render_notice,
)
from shared.edge import body_limit
from shared.errors import DomainError
from shared.http import fingerprint
from shared.runtime import ServiceContext

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
MAX_FORM_BYTES = 16_384


@cache
def place_names(kato: str) -> dict[str, str]:
    """The rural district with its district and region, by language (KATO classifier: kk and
    ru; English: the Russian names in the Latin script); the code when unknown."""
    try:
        from shared.territory import place_chain

        return {lang: place_chain(kato, lang) for lang in ("kk", "ru", "en")}
    except Exception:  # the classifier is a convenience here, never a reason to fail
        return {"kk": kato, "ru": kato, "en": kato}


def _page(doc: SurveyDoc, rubric: Any, notice: str | None, akim: str | None = None) -> SurveyPage:
    return SurveyPage(
        survey_id=doc.survey_id,
        rubric=rubric,
        place=place_names(doc.opened.settlement_kato),
        closes_at=doc.opened.closes_at,
        akim=akim,
        notice=notice,
    )


def _html(text: str, status: int = 200, **extra: str) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers={**HEADERS, **extra})


def router(ctx: ServiceContext) -> APIRouter:
    pages = APIRouter(tags=["public page"], include_in_schema=False)
    svc = service_of(ctx)

    def language(request: Request, form_lang: str | None = None) -> Lang:
        return pick_language(
            request.query_params.get("lang") or form_lang,
            request.headers.get("accept-language"),
        )

    @pages.get("/surveys/{survey_id}", response_class=HTMLResponse)
    async def show(survey_id: UUID, request: Request) -> HTMLResponse:
        lang = language(request)
        try:
            doc = await svc.survey(survey_id)
        except DomainError as refused:
            return _html(render_notice(refused.code, lang), refused.status)
        akim = await svc.akim(doc.opened.candidate_id)
        page = _page(doc, svc.rubric(doc), notice_for(doc.state(), ctx.now()), akim)
        return _html(render_form(page, lang, idempotency_key=str(uuid4())))

    @pages.post("/surveys/{survey_id}", response_class=HTMLResponse)
    @body_limit(MAX_FORM_BYTES)
    async def submit(survey_id: UUID, request: Request) -> HTMLResponse:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        lang = language(request, form.get("lang"))
        try:
            doc = await svc.survey(survey_id)
        except DomainError as refused:
            return _html(render_notice(refused.code, lang), refused.status)
        rubric = svc.rubric(doc)
        akim = await svc.akim(doc.opened.candidate_id)
        page = _page(doc, rubric, None, akim)
        key = (form.get("idempotency_key") or "").strip()[:64] or None
        try:
            iin, answers = read_form(form, rubric)
            accepted = await svc.respond(
                survey_id,
                iin,
                answers,
                "web",
                client_source(svc, request),
                idempotency_key=key,
                request_hash=_form_hash(svc.pepper, form),
            )
        except DomainError as refused:
            if refused.code in ("survey_closed", "survey_not_open"):
                closed = _page(doc, rubric, refused.code, akim)
                return _html(render_form(closed, lang), refused.status)
            retry = refused.extra.get("retry_after")
            extra = {"Retry-After": str(retry)} if retry else {}
            values = {k: v for k, v in form.items() if k != "idempotency_key"}
            body = render_form(page, lang, refused, values, idempotency_key=str(uuid4()))
            return _html(body, refused.status, **extra)
        status = 200 if accepted.replayed else 201
        return _html(render_confirmation(lang), status)

    return pages


def _form_hash(pepper: bytes, form: dict[str, str]) -> str:
    """The form's fingerprint for its idempotency key: keyed by the pepper (it holds the IIN)."""
    fields = sorted((k, v) for k, v in form.items() if k not in ("lang", "idempotency_key"))
    return fingerprint(pepper, repr(fields).encode())
