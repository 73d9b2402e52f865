"""Builders for the survey unit tests: one place that knows how to make a valid survey."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from services.survey.domain.answers import RecordResponse
from services.survey.domain.iin import make_iin
from services.survey.domain.rubric import SurveyRules
from services.survey.domain.state import SurveyState, replay
from services.survey.domain.survey import OpenSurvey, open_survey, record_response
from shared.events import Event

RULES = SurveyRules.edition_2020()
PEPPER = b"test-pepper-not-a-secret"
OPENS = datetime(2020, 7, 1, 3, 0, tzinfo=UTC)  # 09:00 in Almaty
CLOSES = datetime(2020, 7, 20, 12, 30, tzinfo=UTC)
DURING = OPENS + timedelta(days=3)
SURVEY_ID = UUID("0190f5a0-0000-7000-8000-000000000001")


def open_cmd(survey_id: UUID = SURVEY_ID) -> OpenSurvey:
    return OpenSurvey(
        survey_id=survey_id,
        edition_id=UUID("0190f5a0-0000-7000-8000-0000000000e0"),
        candidate_id=UUID("0190f5a0-0000-7000-8000-0000000000c0"),
        settlement_kato="101835100",
        region_kato="100000000",
        opens_at=OPENS,
        closes_at=CLOSES,
    )


def opened_events() -> list[Event]:
    return open_survey(None, open_cmd(), now=OPENS - timedelta(days=1), rules=RULES)


def state_of(events: Iterable[Event]) -> SurveyState:
    state = replay(events)
    assert state is not None
    return state


def answers(value: int = 7) -> list[int]:
    return [value] * RULES.rubric.size


def response(n: int, values: Sequence[int] | None = None, iin: str | None = None) -> RecordResponse:
    return RecordResponse(
        survey_id=SURVEY_ID,
        response_id=uuid4(),
        iin=iin if iin is not None else make_iin(n),
        answers=list(values) if values is not None else answers(),
    )


def with_responses(*vectors: Sequence[int]) -> list[Event]:
    """An open survey and one response per vector, from residents make_iin(0), (1), ..."""
    events = opened_events()
    for n, vector in enumerate(vectors):
        state = state_of(events)
        events += record_response(
            state, response(n, vector), now=DURING, rules=RULES, pepper=PEPPER
        )
    return events
