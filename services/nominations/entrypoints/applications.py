"""Commands on applications: submit, admission check, questionnaire score, withdrawal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.auth import Principal
from shared.edge import principal
from shared.handlers import Cause
from shared.http import command
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork

from .. import handlers
from ..domain.application import SubmitApplication, WithdrawApplication
from ..domain.complaints import RecordJustifiedComplaints
from ..domain.eligibility import CheckApplication
from ..domain.questionnaire_score import ConfirmScore, CorrectQuestionnaireScore
from ..handlers import Outcome
from . import drafts
from .common import NOMINATING, authorised, cause, scope
from .ids import uuid7
from .schemas import (
    AdmissionDecision,
    ApplicationReceipt,
    ComplaintsBody,
    ComplaintsView,
    ScoreCorrectionBody,
    ScoreView,
    SubmitApplicationBody,
    WithdrawalBody,
)
from .views import complaints_view, created, decision, score_view

Handler = Callable[[UnitOfWork, Any, Cause], Awaitable[Outcome]]


@dataclass(frozen=True)
class Intent:
    """A command on an existing application: its name, who may give it, how it answers."""

    handle: Handler
    roles: tuple[str, ...]
    view: Callable[[Outcome], BaseModel]

    @property
    def name(self) -> str:
        return self.handle.__name__


CHECK = Intent(handlers.check_application, ("secretary",), decision)
CONFIRM = Intent(handlers.confirm_score, ("secretary",), score_view)
CORRECT = Intent(handlers.correct_score, ("secretary",), score_view)
COMPLAINTS = Intent(handlers.record_complaints, ("secretary",), complaints_view)
WITHDRAW = Intent(handlers.withdraw_application, NOMINATING, created)


def router(ctx: ServiceContext) -> APIRouter:
    api = APIRouter(prefix="/v1/applications", tags=["applications"])

    async def on_application(
        request: Request, who: Principal, intent: Intent, given: Any
    ) -> JSONResponse:
        """Authorise by the region of ``given.application_id``, then handle the command
        ``given`` in one transaction."""

        async def run(uow: UnitOfWork) -> BaseModel:
            actor = await authorised(uow, who, given.application_id, *intent.roles)
            return intent.view(await intent.handle(uow, given, cause(ctx, request, actor)))

        return await command(request, ctx.store, scope(intent.name), run)

    @api.post("", status_code=201, response_model=ApplicationReceipt)
    async def submit_application(
        body: SubmitApplicationBody, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        """Submit an akim's application within the window (§7, §9). Nominator or secretary of
        the akim's region. 409 ``duplicate_application`` names the akim's live application."""
        region = handlers.region_of_rural_district(body.questionnaire.rural_district_kato)
        actor = who.act_as(*NOMINATING, region=region)
        cmd = SubmitApplication(
            application_id=str(body.application_id or uuid7()),
            edition_id=str(body.edition_id),
            questionnaire=body.questionnaire,
        )

        async def run(uow: UnitOfWork) -> BaseModel:
            receipt = created(
                await handlers.submit_application(uow, cmd, cause(ctx, request, actor))
            )
            if body.draft_id is not None:
                await drafts.discard(uow.docs, who, body.draft_id)
            return receipt

        response = await command(request, ctx.store, scope("submit_application"), run)
        response.headers["Location"] = f"/v1/applications/{cmd.application_id}"
        return response

    @api.post(
        "/{application_id}/admission-check", status_code=201, response_model=AdmissionDecision
    )
    async def check_application(
        application_id: UUID, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        """The secretary's completeness and eligibility check (§10, §11), in the check period.
        A rejection lists every failed rule; an admission scores the questionnaire (Annex 3)."""
        return await on_application(
            request, who, CHECK, CheckApplication(application_id=str(application_id))
        )

    @api.post(
        "/{application_id}/questionnaire-score/confirmation",
        status_code=201,
        response_model=ScoreView,
    )
    async def confirm_score(
        application_id: UUID, request: Request, who: Principal = Depends(principal)
    ) -> JSONResponse:
        """The region's secretary confirms the computed questionnaire score (§12)."""
        return await on_application(
            request, who, CONFIRM, ConfirmScore(application_id=str(application_id))
        )

    @api.post(
        "/{application_id}/questionnaire-score/corrections",
        status_code=201,
        response_model=ScoreView,
    )
    async def correct_score(
        application_id: UUID,
        body: ScoreCorrectionBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """The region's secretary corrects the score: the rubric items that apply, and why."""
        cmd = CorrectQuestionnaireScore(
            application_id=str(application_id), items=tuple(body.items), reason=body.reason
        )
        return await on_application(request, who, CORRECT, cmd)

    @api.post("/{application_id}/complaints", status_code=201, response_model=ComplaintsView)
    async def record_complaints(
        application_id: UUID,
        body: ComplaintsBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """The region's secretary records the number of justified citizen complaints and its
        source (§12 tie-break 4), for a submitted or admitted application; again supersedes."""
        cmd = RecordJustifiedComplaints(
            application_id=str(application_id), count=body.count, source=body.source
        )
        return await on_application(request, who, COMPLAINTS, cmd)

    @api.post("/{application_id}/withdrawal", status_code=201, response_model=ApplicationReceipt)
    async def withdraw_application(
        application_id: UUID,
        body: WithdrawalBody,
        request: Request,
        who: Principal = Depends(principal),
    ) -> JSONResponse:
        """Withdraw a live application, for a reason; the akim may apply again (§9)."""
        cmd = WithdrawApplication(application_id=str(application_id), reason=body.reason)
        return await on_application(request, who, WITHDRAW, cmd)

    return api
