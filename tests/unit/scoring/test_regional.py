"""§14–§16: the regional total component by component, and exactly one finalist per region."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.scoring.domain import ScoringRules
from services.scoring.domain import commands as c
from services.scoring.domain.edition_figures import RegionalWeights
from services.scoring.events import FinalistSelected, RankingComputed
from tests.unit.scoring.builders import (
    ALL,
    AT,
    DISTRICT,
    RURAL,
    Desk,
    regional_desk,
    register,
    score_by,
    sheet,
    sitting,
)

SCORERS = ALL[:3]


def nominees(desk: Desk, *questionnaires: int) -> list[str]:
    """Register and nominate one candidate per questionnaire score (project sheets at 5)."""
    ids = [f"c{i}" for i in range(1, len(questionnaires) + 1)]
    for cid, q, rural in zip(ids, questionnaires, RURAL, strict=False):
        register(desk, cid, questionnaire=q, rural=rural)
    sitting(desk)
    for cid in ids:
        score_by(desk, SCORERS, cid, value=5)
    desk.do(c.NominateDistrict(sitting_id="s1", district=DISTRICT))
    sitting(desk, "s2", stage="stage1_interview")
    return ids


def assess(
    desk: Desk,
    cid: str,
    *,
    survey: str = "100",
    feedback: int = 8,
    ethics: int = 9,
    interview: int = 7,
) -> None:
    mean = Decimal(survey)
    desk.do(
        c.ReceiveSurveyResult(
            candidate_id=cid,
            survey_id=f"survey-{cid}",
            rubric_id="annex5-2020",
            responses=12,
            mean_per_criterion=tuple([mean / 16] * 16),
            mean_total=mean,
        )
    )
    desk.do(c.RecordFeedbackAssessment(candidate_id=cid, assessor_id="sec", score=feedback))
    desk.do(c.RecordEthicsResult(candidate_id=cid, commissioner_id="ethics", score=ethics))
    score_by(desk, SCORERS, cid, "essay", 6, sitting_id="s2")
    score_by(desk, SCORERS, cid, "interview", interview, sitting_id="s2")


@pytest.fixture
def two_nominees() -> Desk:
    desk = regional_desk()
    nominees(desk, 10, 5)
    assess(desk, "c1")
    assess(desk, "c2", interview=6)
    return desk


def rank(desk: Desk) -> RankingComputed:
    [ranking] = desk.do(c.RankRegion(sitting_id="s2"))
    assert isinstance(ranking, RankingComputed)
    return ranking


def test_the_regional_ranking_is_the_interview_mean_with_the_rest_shown_beside(
    two_nominees: Desk,
) -> None:
    """DOMAIN "Reading (revised)" (issue 13): the interview mean ranks; stage-I points, survey
    mean with its responses, essay mean, feedback and ethics are shown with weight 0, not added
    again (was: Σ of five components, 291 and 286)."""
    ranking = rank(two_nominees)
    top = ranking.entries[0]
    lines = {x.name: (x.value, x.weight, x.weighted, x.count) for x in top.components}
    assert lines == {
        "stage1_points": (Decimal("60.0000"), Decimal(0), Decimal("0.0000"), None),
        "survey_mean": (Decimal("100.0000"), Decimal(0), Decimal("0.0000"), 12),
        "essay_mean": (Decimal("60.0000"), Decimal(0), Decimal("0.0000"), None),
        "interview_mean": (Decimal("63.0000"), Decimal(1), Decimal("63.0000"), None),
        "feedback": (Decimal("8.0000"), Decimal(0), Decimal("0.0000"), None),
        "ethics": (Decimal("9.0000"), Decimal(0), Decimal("0.0000"), None),
    }
    assert (top.candidate_id, top.total) == ("c1", Decimal("63.0000"))
    assert ranking.entries[1].total == Decimal("54.0000")


def test_a_survey_nobody_answered_is_no_responses_never_zero() -> None:
    desk = regional_desk()
    nominees(desk, 10)
    desk.do(
        c.ReceiveSurveyResult(
            candidate_id="c1",
            survey_id="survey-c1",
            rubric_id="annex5-2020",
            responses=0,
            mean_per_criterion=None,
            mean_total=None,
        )
    )
    desk.do(c.RecordFeedbackAssessment(candidate_id="c1", assessor_id="sec", score=8))
    desk.do(c.RecordEthicsResult(candidate_id="c1", commissioner_id="ethics", score=9))
    score_by(desk, SCORERS, "c1", "essay", 6, sitting_id="s2")
    score_by(desk, SCORERS, "c1", "interview", 7, sitting_id="s2")
    [entry] = rank(desk).entries
    survey = next(x for x in entry.components if x.name == "survey_mean")
    assert (survey.value, survey.weighted, survey.count) == (None, None, 0)
    assert entry.total == Decimal("63.0000")


def test_a_weighted_survey_without_responses_is_a_missing_component_not_zero() -> None:
    desk = regional_desk(ScoringRules(regional_weights=RegionalWeights(survey_mean=Decimal(1))))
    nominees(desk, 10)
    desk.do(
        c.ReceiveSurveyResult(
            candidate_id="c1",
            survey_id="survey-c1",
            rubric_id="annex5-2020",
            responses=0,
            mean_per_criterion=None,
            mean_total=None,
        )
    )
    error = desk.refuse(c.RankRegion(sitting_id="s2"))
    assert (error.code, [e.field for e in error.errors]) == (
        "components_missing",
        ["c1.survey_mean", "c1.interview_mean"],
    )
    assert error.errors[0].detail == "c1: the survey has no responses, so no mean to weigh"


def test_the_weights_are_edition_data() -> None:
    """An edition may still ask for a weighted sum of every component."""
    one = Decimal(1)
    weights = RegionalWeights(
        stage1_points=one,
        survey_mean=Decimal("0.5"),
        essay_mean=one,
        interview_mean=one,
        feedback=one,
        ethics=one,
    )
    desk = regional_desk(ScoringRules(regional_weights=weights))
    nominees(desk, 10)
    assess(desk, "c1", survey="99.5")
    [entry] = rank(desk).entries
    assert entry.total == Decimal("249.7500")  # 60 + 49.75 + 60 + 63 + 8 + 9


def test_a_pick_departing_from_the_ranking_without_a_reason_is_refused(two_nominees: Desk) -> None:
    error = two_nominees.refuse(c.SelectFinalist(sitting_id="s2", candidate_id="c2"))
    assert (error.code, error.status) == ("finalist_reason_required", 422)
    assert error.detail == "c2 is ranked 2; the ranking puts c1 first"
    [event] = two_nominees.do(
        c.SelectFinalist(sitting_id="s2", candidate_id="c2", reason="c1 withdrew his project")
    )
    assert isinstance(event, FinalistSelected)
    assert (event.rank, event.top, event.reason) == (2, ("c1",), "c1 withdrew his project")


def test_the_top_of_the_ranking_is_picked_without_a_reason_and_only_once(
    two_nominees: Desk,
) -> None:
    [event] = two_nominees.do(c.SelectFinalist(sitting_id="s2", candidate_id="c1"))
    assert isinstance(event, FinalistSelected)
    assert (event.regional_total, event.reason, event.region) == (
        Decimal("63.0000"),  # the interview mean (issue 13; was the five-component 291)
        None,
        "100000000",
    )
    again = two_nominees.refuse(c.SelectFinalist(sitting_id="s2", candidate_id="c2", reason="both"))
    assert (again.code, again.status) == ("finalist_already_selected", 409)
    two_nominees.do(c.CloseStage(stage="stage1_interview", at=AT))


def test_a_ranking_waits_for_every_component() -> None:
    desk = regional_desk()
    nominees(desk, 10)
    score_by(desk, SCORERS, "c1", "essay", 6, sitting_id="s2")
    error = desk.refuse(c.RankRegion(sitting_id="s2"))
    assert (error.code, error.status) == ("components_missing", 409)
    assert [e.field for e in error.errors] == ["c1.interview_mean"]  # the one weighted


def test_interview_sheets_and_assessments_are_for_nominees_only() -> None:
    desk = regional_desk()
    nominees(desk, 10, 9, 8, 1)  # c4 is not nominated
    assert desk.refuse(sheet(desk, "m1", "c4", "essay", sitting_id="s2")).code == (
        "candidate_not_nominated"
    )
    refused = c.RecordEthicsResult(candidate_id="c4", commissioner_id="ethics", score=5)
    assert desk.refuse(refused).code == "candidate_not_nominated"


def test_an_assessment_is_recorded_once_and_within_its_scale() -> None:
    desk = regional_desk()
    nominees(desk, 10)
    too_high = c.RecordFeedbackAssessment(candidate_id="c1", assessor_id="sec", score=11)
    assert desk.refuse(too_high).code == "score_out_of_range"
    desk.do(c.RecordFeedbackAssessment(candidate_id="c1", assessor_id="sec", score=7))
    again = c.RecordFeedbackAssessment(candidate_id="c1", assessor_id="sec", score=8)
    assert desk.refuse(again).code == "feedback_already_recorded"
