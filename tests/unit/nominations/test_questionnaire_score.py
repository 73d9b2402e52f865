"""Scoring an admitted candidate's questionnaire; the secretary confirms or corrects (§12)."""

from __future__ import annotations

from typing import Any

import pytest

from services.nominations.domain.application_state import ApplicationState
from services.nominations.domain.edition import EditionState
from services.nominations.domain.eligibility import decide_admission
from services.nominations.domain.questionnaire_score import (
    CorrectQuestionnaireScore,
    confirm_score,
    correct_score,
    score_questionnaire,
)
from services.nominations.events import QuestionnaireScoreCorrected, QuestionnaireScored
from shared.errors import Conflict, Forbidden, RuleViolation
from shared.events import Actor

from .builders import IN_CHECK, SECRETARY, complete, edition_2020, evolve_application, submitted


def admitted(state: EditionState, **overrides: Any) -> ApplicationState:
    app = complete(submitted(state, **overrides), state)
    return evolve_application(app, decide_admission(app, state, SECRETARY, IN_CHECK))


def scored(state: EditionState) -> ApplicationState:
    app = admitted(state, civil_service={"years": 3, "months": 0})
    return evolve_application(app, score_questionnaire(app, state, IN_CHECK))


def test_admitted_questionnaire_is_scored_by_the_edition_rubric() -> None:
    state = edition_2020()
    app = admitted(state, civil_service={"years": 3, "months": 0})
    [event] = score_questionnaire(app, state, IN_CHECK)
    assert isinstance(event, QuestionnaireScored)
    assert (event.score.rubric_id, event.score.total) == ("annex3-2020", 1)


def test_a_questionnaire_is_scored_once() -> None:
    state = edition_2020()
    with pytest.raises(Conflict) as refused:
        score_questionnaire(scored(state), state, IN_CHECK)
    assert refused.value.code == "questionnaire_already_scored"


def test_an_application_not_admitted_is_not_scored() -> None:
    state = edition_2020()
    with pytest.raises(Conflict) as refused:
        score_questionnaire(complete(submitted(state), state), state, IN_CHECK)
    assert refused.value.code == "application_not_admitted"


def test_scoring_after_the_stage_one_deadline_is_refused() -> None:
    state = edition_2020()
    app = admitted(state)
    with pytest.raises(RuleViolation) as refused:
        score_questionnaire(app, state, state.calendar.stage_one_deadline)
    assert refused.value.code == "stage_one_over"


def test_the_secretary_confirms_the_score_once() -> None:
    state = edition_2020()
    app = scored(state)
    app = evolve_application(app, confirm_score(app, state, SECRETARY, IN_CHECK))
    assert app.score_confirmed
    with pytest.raises(Conflict) as refused:
        confirm_score(app, state, SECRETARY, IN_CHECK)
    assert refused.value.code == "score_already_confirmed"


def test_only_the_regions_secretary_confirms() -> None:
    state = edition_2020()
    with pytest.raises(Forbidden):
        member = Actor(id="x", role="member", region="190000000")
        confirm_score(scored(state), state, member, IN_CHECK)


def test_a_correction_supersedes_the_score_and_keeps_the_old_one() -> None:
    state = edition_2020()
    app = scored(state)
    command = CorrectQuestionnaireScore(
        application_id=app.application_id,
        items=("civil_service_1_to_10_years", "internship"),
        reason="the service record shows an internship in 2018",
    )
    [event] = correct_score(app, state, command, SECRETARY, IN_CHECK)
    assert isinstance(event, QuestionnaireScoreCorrected)
    assert (event.previous_total, event.score.total) == (1, 3)
    app = evolve_application(app, [event])
    assert app.score is not None and app.score.total == 3
    assert [s.total for s in app.superseded_scores] == [1]


def test_a_correction_needs_a_reason() -> None:
    state = edition_2020()
    app = scored(state)
    command = CorrectQuestionnaireScore(application_id=app.application_id, items=(), reason=" ")
    with pytest.raises(RuleViolation) as refused:
        correct_score(app, state, command, SECRETARY, IN_CHECK)
    assert refused.value.code == "reason_required"


def test_an_unscored_questionnaire_cannot_be_corrected() -> None:
    state = edition_2020()
    app = admitted(state)
    command = CorrectQuestionnaireScore(application_id=app.application_id, items=(), reason="x")
    with pytest.raises(Conflict) as refused:
        correct_score(app, state, command, SECRETARY, IN_CHECK)
    assert refused.value.code == "questionnaire_not_scored"
