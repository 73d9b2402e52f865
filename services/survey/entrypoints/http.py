"""Survey HTTP API (thin: validate, authorise, call the service or a handler).

| route | who | what |
|---|---|---|
| ``POST /v1/surveys`` | organiser | open a survey (also opened by a consumed nomination) |
| ``GET /v1/surveys/{id}`` | anyone | the survey: place, window, status |
| ``POST /v1/surveys/{id}/responses`` | a resident (no account) | answer once, by IIN |
| ``POST /v1/surveys/{id}/paper-imports`` | operator | a paper poll's CSV, whole or nothing |
| ``PUT /v1/surveys/{id}/roll`` | organiser, operator | the residents allowed to answer |
| ``GET /v1/surveys/{id}/flags`` | organiser, auditor | responses flagged as a burst |
| ``GET /v1/surveys/{id}/results`` | organiser, auditor, commission | live (or final) result |
| ``POST /v1/surveys/{id}/closure`` | organiser | close by hand, with the final result |
| ``POST /v1/survey-closures`` | organiser | close every survey past its deadline now |
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from services.survey import handlers
from services.survey.adapters.readmodels import FLAG, SurveyDoc, get_tally, page
from services.survey.domain.csv_import import ImportPaperPoll
from services.survey.domain.results import result_of
from services.survey.domain.roll import UploadRoll
from services.survey.domain.survey import CloseSurvey, OpenSurvey
from services.survey.entrypoints.schemas import (
    MAX_IMPORT_BYTES,
    MAX_ROLL_BYTES,
    Appended,
    OpenSurveyBody,
    Recorded,
    ResponseBody,
    ResultsView,
    RollBody,
    SurveyView,
)
from services.survey.service import SurveyService, service_of
from shared.auth import Principal
from shared.edge import FastRoute, RawRequest, body_limit, bounded_body, principal
from shared.errors import ErrorItem, RuleViolation
from shared.handlers import Cause
from shared.http import command, correlation_id, fingerprint
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork
from shared.territory import Level, load_territory

MAX_RESPONSE_BYTES = 16_384
RESPONSES_PATH = re.compile(
    r"/v1/surveys/(?P<survey_id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12})/responses"
)


async def record_response(
    svc: SurveyService,
    survey_id: UUID,
    raw: bytes,
    idempotency_key: str | None,
    peer: str | None,
    forwarded_for: str | None,
) -> Response:
    """``POST /v1/surveys/{id}/responses`` whichever way it arrived: the body parsed and
    validated here (the hot path of a national vote), the service decides, 201 or a problem."""
    try:
        body = ResponseBody.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
    accepted = await svc.respond(
        survey_id,
        body.iin,
        body.answers,
        "api",
        svc.config.source_of(peer, forwarded_for),
        idempotency_key=idempotency_key[:128] if idempotency_key else None,
        request_hash=fingerprint(svc.pepper, raw) if idempotency_key else "",
    )
    headers = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return Response(
        orjson.dumps(accepted.body), status_code=201, headers=headers, media_type=JSON_MEDIA
    )


JSON_MEDIA = "application/json"


def fast_routes(ctx: ServiceContext) -> list[FastRoute]:
    """The residents' responses as pure ASGI, ahead of FastAPI (see :class:`FastRoute`)."""
    svc = service_of(ctx)

    async def respond(request: RawRequest) -> Response:
        return await record_response(
            svc,
            UUID(request.params["survey_id"]),
            await request.body(MAX_RESPONSE_BYTES),
            request.header(b"idempotency-key"),
            request.peer,
            request.header(b"x-forwarded-for"),
        )

    return [FastRoute("POST", RESPONSES_PATH, respond)]


def ensure_known_place(settlement_kato: str, region_kato: str) -> None:
    """422 ``unknown_settlement`` unless ``settlement_kato`` is a rural district of the KATO
    classifier, in ``region_kato`` (the survey of a place no resident lives in, or of another
    region, could never be answered by the right residents)."""
    territory = load_territory()
    unit = territory.find(settlement_kato)
    if unit is None or unit.level is not Level.rural_district:
        raise RuleViolation(
            "unknown_settlement",
            f"{settlement_kato} is not a rural district of the KATO classifier",
            [ErrorItem("unknown_settlement", "not a rural district", "settlement_kato")],
        )
    if territory.region_of(settlement_kato).kato != region_kato:
        raise RuleViolation(
            "settlement_not_in_region",
            f"{settlement_kato} is not in region {region_kato}",
            [ErrorItem("settlement_not_in_region", "another region's", "settlement_kato")],
        )


def client_source(svc: SurveyService, request: Request) -> str:
    peer = request.client.host if request.client else None
    return svc.config.source_of(peer, request.headers.get("x-forwarded-for"))


def view(doc: SurveyDoc) -> SurveyView:
    o = doc.opened
    return SurveyView(
        survey_id=str(o.survey_id),
        edition_id=o.edition_id,
        candidate_id=o.candidate_id,
        settlement_kato=o.settlement_kato,
        region_kato=o.region_kato,
        opens_at=o.opens_at,
        closes_at=o.closes_at,
        rubric_id=o.rubric_id,
        status=doc.status,
        closed_at=doc.closed_at,
        roll=doc.roll_sha256 is not None,
        roll_count=doc.roll_count,
        roll_sha256=doc.roll_sha256,
    )


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["surveys"])
    _surveys(api, ctx)
    _answers(api, ctx)
    _outcomes(api, ctx)
    return api


def _surveys(api: APIRouter, ctx: ServiceContext) -> None:
    """A survey opened for a nominee, and read."""
    svc = service_of(ctx)

    @api.post("/surveys", status_code=201, response_model=Appended)
    async def open_survey(
        body: OpenSurveyBody, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Open the survey of a nominee's rural district (§14.3). Organiser only."""
        actor = who.act_as("organiser", region=body.region_kato)
        ensure_known_place(body.settlement_kato, body.region_kato)
        cmd = OpenSurvey(**body.model_dump())

        async def run(uow: UnitOfWork) -> Appended:
            cause = Cause(actor, correlation_id(request), ctx.now())
            envelopes = await handlers.open_survey(uow, cmd, cause, rules=svc.rules)
            return Appended(id=str(body.survey_id), event_ids=[str(e.event_id) for e in envelopes])

        return await command(request, ctx.store, "open_survey", run)

    @api.get("/surveys/{survey_id}", response_model=SurveyView)
    async def get_survey(survey_id: UUID) -> SurveyView:
        """The survey as residents and integrators see it (no result while it runs)."""
        return view(await svc.survey(survey_id))


def _answers(api: APIRouter, ctx: ServiceContext) -> None:
    """The residents' answers: online, on paper, and the roll of who may answer."""
    svc = service_of(ctx)

    @api.post(
        "/surveys/{survey_id}/responses",
        status_code=201,
        response_model=Recorded,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ResponseBody.model_json_schema()}},
            }
        },
        responses={
            403: {"description": "not_on_roll"},
            404: {"description": "survey_not_found"},
            409: {"description": "survey_closed, survey_not_open, already_answered"},
            422: {"description": "invalid_iin, answer_out_of_range, … (each named)"},
            429: {"description": "rate_limited (Retry-After)"},
        },
    )
    @body_limit(MAX_RESPONSE_BYTES)
    async def respond(survey_id: UUID, request: Request) -> Response:
        """A resident's answers (§14.3): once per resident, identified by the IIN, which is
        never stored — only its HMAC. Durable when answered (committed to the event store).

        (Served by :func:`fast_routes` ahead of FastAPI; this twin documents it and answers
        the same way, through :func:`record_response`.)"""
        return await record_response(
            svc,
            survey_id,
            await bounded_body(request.stream(), MAX_RESPONSE_BYTES),
            request.headers.get("idempotency-key"),
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
        )

    @api.post(
        "/surveys/{survey_id}/paper-imports",
        status_code=201,
        openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
    @body_limit(MAX_IMPORT_BYTES)
    async def paper_import(
        survey_id: UUID, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """A paper poll (operator): a CSV ``iin,a1..aN``; every line accepted, or nothing and
        a 422 ``import_refused`` reporting each line (accepted, or refused and why)."""
        doc = await svc.survey(survey_id, fresh=True)
        actor = who.act_as("operator", region=doc.opened.region_kato)
        data = await request.body()  # at most MAX_IMPORT_BYTES (413 body_too_large beyond)

        async def run(uow: UnitOfWork) -> dict[str, Any]:
            done = await handlers.import_paper_poll(
                uow,
                ImportPaperPoll(survey_id=survey_id, data=data),
                Cause(actor, correlation_id(request), ctx.now()),
                pepper=svc.pepper,
            )
            return {
                "id": str(done.import_id),
                "survey_id": str(survey_id),
                "fingerprint": done.report.fingerprint,
                "accepted": done.report.accepted,
                "refused": 0,
                "lines": handlers.line_report(done.report),
                "event_ids": [str(e.event_id) for e in done.envelopes],
            }

        try:
            return await command(request, ctx.store, f"paper_import:{survey_id}", run)
        finally:
            svc.forget(survey_id)

    @api.put("/surveys/{survey_id}/roll", response_model=Appended)
    @body_limit(MAX_ROLL_BYTES)
    async def upload_roll(
        survey_id: UUID,
        request: Request,
        body: RollBody = Body(),
        who: Principal = Depends(principal),
    ) -> object:
        """The residents' roll (organiser, or the region's operator who keeps the akimat's
        register): only residents on it may answer. Replaceable until the first response;
        logged as its size and digest."""
        doc = await svc.survey(survey_id, fresh=True)
        actor = who.act_as("organiser", "operator", region=doc.opened.region_kato)

        async def run(uow: UnitOfWork) -> Appended:
            _, envelopes = await handlers.upload_roll(
                uow,
                UploadRoll(survey_id=survey_id, residents=body.residents),
                Cause(actor, correlation_id(request), ctx.now()),
                pepper=svc.pepper,
            )
            return Appended(id=str(survey_id), event_ids=[str(e.event_id) for e in envelopes])

        try:
            return await command(request, ctx.store, f"roll:{survey_id}", run, status=200)
        finally:
            svc.forget(survey_id)


def _outcomes(api: APIRouter, ctx: ServiceContext) -> None:
    """Flags, results and the closing of surveys."""
    svc = service_of(ctx)

    @api.get("/surveys/{survey_id}/flags")
    async def flags(
        survey_id: UUID,
        after: str | None = Query(None, description="cursor: the last key of the last page"),
        limit: int = Query(100, ge=1, le=1000),
        who: Principal = Depends(principal),
    ) -> dict[str, Any]:
        """Responses flagged for review (a burst from one source, identical answers in a burst);
        they still count. Oldest first."""
        doc = await svc.survey(survey_id)
        who.act_as("organiser", "auditor", region=doc.opened.region_kato)
        async with ctx.store.reader() as uow:
            rows = await page(uow, FLAG, f"{survey_id}:", after, limit)
            tally = await get_tally(uow, survey_id)
        items = [{"cursor": key, **doc_} for key, doc_ in rows]
        return {
            "items": items,
            "next": rows[-1][0] if len(rows) == limit else None,
            "flagged": tally.flagged,
        }

    @api.get("/surveys/{survey_id}/results", response_model=ResultsView)
    async def results(survey_id: UUID, who: Principal = Depends(principal)) -> ResultsView:
        """The live result (responses, mean per criterion, mean total), final once closed.
        Read from the store, not the per-process cache: another replica may have recorded
        responses in the last second."""
        doc = await svc.survey(survey_id, fresh=True)
        who.act_as(
            "organiser", "auditor", "chair", "secretary", "member", region=doc.opened.region_kato
        )
        result = doc.result
        if result is None:
            async with ctx.store.reader() as uow:
                tally = await get_tally(uow, survey_id)
            result = result_of(tally.tally).model_copy(update={"flagged": tally.flagged})
        return ResultsView(
            survey_id=str(survey_id),
            status=doc.status,
            final=doc.status == "closed",
            rubric_id=doc.opened.rubric_id,
            result=result,
        )

    @api.post("/surveys/{survey_id}/closure", status_code=201)
    async def close(
        survey_id: UUID, request: Request, who: Principal = Depends(principal)
    ) -> object:
        """Close the survey now (organiser); ``SurveyClosed`` carries the final result."""
        doc = await svc.survey(survey_id, fresh=True)
        actor = who.act_as("organiser", region=doc.opened.region_kato)

        async def run(uow: UnitOfWork) -> dict[str, Any]:
            closed = await handlers.close_survey(
                uow,
                CloseSurvey(survey_id=survey_id, reason="manual"),
                Cause(actor, correlation_id(request), ctx.now()),
            )
            return closed.model_dump(mode="json")

        try:
            return await command(request, ctx.store, f"closure:{survey_id}", run)
        finally:
            svc.forget(survey_id)

    @api.post("/survey-closures")
    async def close_due(who: Principal = Depends(principal)) -> dict[str, list[str]]:
        """Close every open survey whose deadline passed (business time). The service does
        this by itself every ``UZDIK_SURVEY_CLOSE_EVERY_S``; the embedded mode, whose clock
        is simulated, calls this."""
        who.act_as("organiser")
        return {"closed": await svc.close_due()}
