"""The questionnaire score of an admitted candidate (§12, §13, Annex 3).

The system scores the questionnaire with the edition's rubric; the region's secretary then
confirms it or corrects it with a reason (DOMAIN: "verified by the secretary"). A correction
supersedes the score and the old one is kept. Nothing changes after the stage-I deadline (§13).
"""

from __future__ import annotations

from datetime import datetime

from shared.errors import Conflict, RuleViolation
from shared.events import Actor, Event

from ..events import QuestionnaireScoreConfirmed, QuestionnaireScoreCorrected, QuestionnaireScored
from .application_state import ApplicationState, ApplicationStatus
from .calendar import CalendarStep
from .edition import EditionState
from .roles import SECRETARY, require_region, require_role
from .rubric import QuestionnaireScore, score, score_items
from .values import Frozen, Id, almaty_iso, almaty_text


class CorrectQuestionnaireScore(Frozen):
    """Command: the items of the rubric that really apply, and why the score was wrong."""

    application_id: Id
    items: tuple[str, ...]
    reason: str


class ConfirmScore(Frozen):
    """Command: the region's secretary confirms the computed questionnaire score."""

    application_id: Id


def score_questionnaire(
    application: ApplicationState, edition: EditionState, at: datetime
) -> list[Event]:
    """Annex 3: score an admitted candidate's questionnaire once, before the stage-I deadline."""
    _require_open(application, edition, at)
    if application.score is not None:
        raise Conflict("questionnaire_already_scored", "the questionnaire is already scored")
    result = score(edition.nomination_rules.rubric, application.questionnaire)
    return [
        QuestionnaireScored(application_id=application.application_id, score=result, scored_at=at)
    ]


def confirm_score(
    application: ApplicationState, edition: EditionState, actor: Actor, at: datetime
) -> list[Event]:
    """The region's secretary confirms the computed score."""
    current = _require_secretary_and_score(application, edition, actor, at, "confirm")
    if application.score_confirmed:
        raise Conflict("score_already_confirmed", "the questionnaire score is already confirmed")
    return [
        QuestionnaireScoreConfirmed(
            application_id=application.application_id, total=current.total, confirmed_at=at
        )
    ]


def correct_score(
    application: ApplicationState,
    edition: EditionState,
    command: CorrectQuestionnaireScore,
    actor: Actor,
    at: datetime,
) -> list[Event]:
    """The region's secretary replaces the score by the one of ``command.items``, with a reason."""
    current = _require_secretary_and_score(application, edition, actor, at, "correct")
    if not command.reason.strip():
        raise RuleViolation("reason_required", "a correction needs a reason")
    corrected = score_items(edition.nomination_rules.rubric, command.items)
    return [
        QuestionnaireScoreCorrected(
            application_id=application.application_id,
            score=corrected,
            previous_total=current.total,
            reason=command.reason.strip(),
            corrected_at=at,
        )
    ]


def _require_secretary_and_score(
    application: ApplicationState, edition: EditionState, actor: Actor, at: datetime, verb: str
) -> QuestionnaireScore:
    require_role(actor, SECRETARY, f"{verb} a questionnaire score")
    require_region(actor, application.region_kato, f"{verb} a questionnaire score")
    _require_open(application, edition, at)
    if application.score is None:
        raise Conflict("questionnaire_not_scored", "the questionnaire has no score yet")
    return application.score


def _require_open(application: ApplicationState, edition: EditionState, at: datetime) -> None:
    if application.status is not ApplicationStatus.admitted:
        raise Conflict(
            "application_not_admitted",
            f"application {application.application_id} is {application.status}, not admitted",
        )
    deadline = edition.calendar.stage_one_deadline
    if edition.calendar.is_over(CalendarStep.stage_one, at):
        raise RuleViolation(
            "stage_one_over",
            f"stage I ended at {almaty_text(deadline)} Asia/Almaty (§13)",
            deadline=almaty_iso(deadline),
        )
