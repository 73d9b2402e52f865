"""§14 order before the interview, the finalist's ethics result, "no finalist" (§16), materials
to the Agency (§18) and fewer finalists than places (§21)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from services.scoring.domain import ScoringRules
from services.scoring.domain import commands as c
from services.scoring.domain.deadlines import ensure_in_time, step_of
from services.scoring.events import (
    MaterialsSentToAgency,
    NoFinalistRecorded,
    RankingComputed,
    WinnersDecided,
)
from shared.errors import DomainError
from tests.unit.scoring.builders import (
    ALL_R,
    AT,
    Desk,
    regional_desk,
    score_by,
    sheet,
    sitting,
)
from tests.unit.scoring.test_regional import SCORERS, assess, nominees
from tests.unit.scoring.test_stage2 import defence, field, stage2_sitting


def survey(desk: Desk, cid: str) -> None:
    desk.do(
        c.ReceiveSurveyResult(
            candidate_id=cid,
            survey_id=f"survey-{cid}",
            rubric_id="annex5-2020",
            responses=3,
            mean_per_criterion=tuple([Decimal(5)] * 16),
            mean_total=Decimal(80),
        )
    )


# --- §14: ethics, feedback, survey and essay before the interview ---------------------------


def test_an_interview_sheet_before_the_assessments_is_refused_naming_each_missing() -> None:
    desk = regional_desk()
    nominees(desk, 10)
    error = desk.refuse(sheet(desk, "m1", "c1", "interview", sitting_id="s2"))
    assert (error.code, error.status) == ("interview_prerequisites_missing", 409)
    assert [e.field for e in error.errors] == ["ethics", "survey", "essay", "feedback"]
    desk.do(c.RecordEthicsResult(candidate_id="c1", commissioner_id="ethics", score=9))
    desk.do(c.RecordFeedbackAssessment(candidate_id="c1", assessor_id="sec", score=8))
    survey(desk, "c1")
    error = desk.refuse(sheet(desk, "m1", "c1", "interview", sitting_id="s2"))
    assert [e.field for e in error.errors] == ["essay"]
    desk.do(sheet(desk, "m2", "c1", "essay", sitting_id="s2"))
    desk.do(sheet(desk, "m1", "c1", "interview", sitting_id="s2"))


def test_an_edition_may_relax_the_prerequisites() -> None:
    desk = regional_desk(ScoringRules(interview_prerequisites=("ethics",)))
    nominees(desk, 10)
    assert desk.refuse(sheet(desk, "m1", "c1", "interview", sitting_id="s2")).code == (
        "interview_prerequisites_missing"
    )
    desk.do(c.RecordEthicsResult(candidate_id="c1", commissioner_id="ethics", score=9))
    desk.do(sheet(desk, "m1", "c1", "interview", sitting_id="s2"))


def test_a_finalist_without_an_ethics_result_is_refused() -> None:
    desk = regional_desk(ScoringRules(interview_prerequisites=()))
    nominees(desk, 10)
    score_by(desk, SCORERS, "c1", "interview", 7, sitting_id="s2")
    error = desk.refuse(c.SelectFinalist(sitting_id="s2", candidate_id="c1"))
    assert (error.code, error.status) == ("finalist_ethics_missing", 409)
    desk.do(c.RecordEthicsResult(candidate_id="c1", commissioner_id="ethics", score=9))
    desk.do(c.SelectFinalist(sitting_id="s2", candidate_id="c1"))


# --- §16: a region with no admitted candidate ------------------------------------------------


@pytest.fixture
def empty_region() -> Desk:
    desk = regional_desk()
    sitting(desk, "s2", stage="stage1_interview")
    return desk


def test_a_region_without_candidates_records_no_finalist_and_closes_its_stage(
    empty_region: Desk,
) -> None:
    desk = empty_region
    assert desk.refuse(c.CloseStage(stage="stage1_interview", at=AT)).code == (
        "finalist_not_selected"
    )
    [event] = desk.do(c.RecordNoFinalist(sitting_id="s2", reason="no admitted candidate"))
    assert isinstance(event, NoFinalistRecorded)
    assert (event.region, event.reason, event.sitting_id) == (
        "100000000",
        "no admitted candidate",
        "s2",
    )
    assert step_of(desk.state, event) == "finalists"
    again = c.RecordNoFinalist(sitting_id="s2", reason="again")
    assert desk.refuse(again).code == "no_finalist_already_recorded"
    desk.do(c.CloseStage(stage="stage1_interview", at=AT))


def test_no_finalist_needs_a_reason(empty_region: Desk) -> None:
    error = empty_region.refuse(c.RecordNoFinalist(sitting_id="s2", reason=" "))
    assert (error.code, error.status) == ("reason_required", 422)


def test_no_finalist_is_refused_when_the_region_has_a_nominee() -> None:
    desk = regional_desk()
    nominees(desk, 10)
    error = desk.refuse(c.RecordNoFinalist(sitting_id="s2", reason="no admitted candidate"))
    assert (error.code, error.status) == ("region_has_candidates", 409)
    assert "1 nominated" in error.detail


# --- §18: materials to the Agency ------------------------------------------------------------


def test_materials_wait_for_the_regional_decision_and_are_sent_once(two_nominees: Desk) -> None:
    desk = two_nominees
    send = c.SendMaterials(at=AT, note="file and protocols")
    assert desk.refuse(send).code == "regional_decision_missing"
    desk.do(c.SelectFinalist(sitting_id="s2", candidate_id="c1"))
    [event] = desk.do(send)
    assert isinstance(event, MaterialsSentToAgency)
    assert (event.finalist_id, event.region, event.note) == (
        "c1",
        "100000000",
        "file and protocols",
    )
    assert desk.refuse(send).code == "materials_already_sent"


def test_materials_of_a_region_without_finalist_say_so(empty_region: Desk) -> None:
    desk = empty_region
    desk.do(c.RecordNoFinalist(sitting_id="s2", reason="no admitted candidate"))
    [event] = desk.do(c.SendMaterials(at=AT))
    assert isinstance(event, MaterialsSentToAgency) and event.finalist_id is None


def test_materials_after_the_deadline_are_refused_unless_extended(empty_region: Desk) -> None:
    desk = empty_region
    desk.do(c.RecordNoFinalist(sitting_id="s2", reason="no admitted candidate"))
    [event] = desk.do(c.SendMaterials(at=AT))
    assert step_of(desk.state, event) == "materials"
    with pytest.raises(DomainError) as late:
        ensure_in_time(desk.state, [event], {"materials": AT - timedelta(minutes=1)}, AT)
    assert (late.value.code, late.value.extra["step"]) == ("deadline_passed", "materials")
    ensure_in_time(desk.state, [event], {"materials": AT + timedelta(days=1)}, AT)  # extended


@pytest.fixture
def two_nominees() -> Desk:
    desk = regional_desk()
    nominees(desk, 10, 5)
    assess(desk, "c1")
    assess(desk, "c2", interview=6)
    return desk


# --- §21: fewer finalists than places ---------------------------------------------------------


def test_with_two_finalists_the_third_place_is_not_awarded_and_the_decision_says_why() -> None:
    desk = field("100", "90")
    for f in ("f1", "f2"):
        desk.do(defence(f))
    stage2_sitting(desk)
    score_by(desk, ALL_R[:6], "f1", "stage2", 9, sitting_id="r1")
    score_by(desk, ALL_R[:6], "f2", "stage2", 8, sitting_id="r1")
    ranking, decided = desk.do(c.DecideWinners(sitting_id="r1"))
    assert isinstance(ranking, RankingComputed) and isinstance(decided, WinnersDecided)
    assert (ranking.seats, ranking.selected, ranking.seats_left) == (3, ("f1", "f2"), 1)
    assert [w.place for w in decided.winners] == [1, 2]
    assert decided.places_not_awarded == (3,)
    assert decided.not_awarded_reason == "only 2 finalist(s) defended for 3 places (§21)"


def test_with_three_finalists_every_place_is_awarded() -> None:
    desk = field("100", "90", "80")
    for f in ("f1", "f2", "f3"):
        desk.do(defence(f))
    stage2_sitting(desk)
    for f, value in (("f1", 9), ("f2", 8), ("f3", 7)):
        score_by(desk, ALL_R[:6], f, "stage2", value, sitting_id="r1")
    ranking, decided = desk.do(c.DecideWinners(sitting_id="r1"))
    assert isinstance(ranking, RankingComputed) and isinstance(decided, WinnersDecided)
    assert (ranking.seats_left, decided.places_not_awarded, decided.not_awarded_reason) == (
        0,
        (),
        None,
    )


def test_a_winners_decision_of_v1_reads_with_every_place_awarded() -> None:
    from services.scoring.events import registry

    v1 = {"commission_id": "rep", "sitting_id": "r1", "winners": [], "by_casting_vote": False}
    event = registry.decode("WinnersDecided", 1, v1)
    assert isinstance(event, WinnersDecided) and event.places_not_awarded == ()
