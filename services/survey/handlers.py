"""Survey service layer: one function per command (load, decide, append)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.survey.domain import state as survey_state
from services.survey.domain.rubric import SurveyRules
from services.survey.domain.survey import OpenSurvey, open_survey
from services.survey.events import registry
from shared.events import Actor, Envelope
from shared.handlers import execute
from shared.store.eventstore import UnitOfWork


def survey_stream(survey_id: str) -> str:
    return f"survey-{survey_id}"


async def open_survey_command(
    uow: UnitOfWork,
    command: OpenSurvey,
    rules: SurveyRules,
    actor: Actor,
    correlation_id: str,
    now: datetime | None = None,
) -> list[Envelope]:
    moment = now or datetime.now(UTC)
    return await execute(
        uow,
        survey_stream(str(command.survey_id)),
        registry,
        survey_state.evolve,
        lambda state: open_survey(state, command, now=moment, rules=rules),
        actor,
        correlation_id,
    )
