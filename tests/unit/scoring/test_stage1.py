"""§12: stage-I points, at most N nominees per district, the tie-break chain, the casting vote."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.scoring.domain import ScoringRules
from services.scoring.domain import commands as c
from services.scoring.events import (
    CandidateNominated,
    CastingVoteRecorded,
    RankingComputed,
)
from tests.unit.scoring.builders import (
    ALL,
    CHAIR,
    DISTRICT,
    RURAL,
    Desk,
    regional_desk,
    register,
    score_by,
    sitting,
)

SCORERS = ALL[:3]


def nominate(desk: Desk) -> tuple[RankingComputed, list[str]]:
    events = desk.do(c.NominateDistrict(sitting_id="s1", district=DISTRICT))
    ranking = events[0]
    assert isinstance(ranking, RankingComputed)
    nominees = [e.candidate_id for e in events[1:] if isinstance(e, CandidateNominated)]
    return ranking, nominees


def district_of_four(desk: Desk, c3: dict[str, Any], c4: dict[str, Any]) -> None:
    """Points 70, 65, 60, 60: the 3rd and the 4th tie across the cut-off of 3."""
    register(desk, "c1", questionnaire=20, rural=RURAL[0])
    register(desk, "c2", questionnaire=15, rural=RURAL[1])
    register(desk, "c3", questionnaire=10, rural=RURAL[2], **c3)
    register(desk, "c4", questionnaire=10, rural=RURAL[3], **c4)
    sitting(desk)
    for candidate in ("c1", "c2", "c3", "c4"):
        score_by(desk, SCORERS, candidate, value=5)


def test_stage_one_points_are_the_questionnaire_plus_the_mean_project_sheet() -> None:
    desk = regional_desk()
    register(desk, "c1", questionnaire=12)
    sitting(desk)
    score_by(desk, ["m1"], "c1", value=8)
    score_by(desk, ["m2", "m3"], "c1", value=9)
    ranking, nominees = nominate(desk)
    [entry] = ranking.entries
    assert entry.total == Decimal("98.6667")  # 12 + (80 + 90 + 90) / 3
    assert [(x.name, x.value) for x in entry.components] == [
        ("questionnaire", Decimal("12.0000")),
        ("project_mean", Decimal("86.6667")),
    ]
    assert (entry.sheets, entry.sheet_sums) == ({"project": 3}, {"project": 260})
    assert nominees == ["c1"]


def test_a_tie_across_the_cut_off_is_decided_by_the_first_separating_tie_break() -> None:
    desk = regional_desk()
    district_of_four(
        desk,
        c3={"complex_projects": True, "trilingual": True},
        c4={"complex_projects": True, "trilingual": False},
    )
    ranking, nominees = nominate(desk)
    assert [(e.candidate_id, e.rank) for e in ranking.entries] == [
        ("c1", 1),
        ("c2", 2),
        ("c3", 3),
        ("c4", 3),
    ]
    first, second = ranking.tie_break_steps
    assert (first.criterion, first.applied, first.still_tied) == (
        "complex_projects",
        True,
        ("c3", "c4"),
    )
    assert (first.advanced, first.eliminated) == ((), ())
    assert (second.criterion, second.advanced, second.eliminated) == (
        "trilingual",
        ("c3",),
        ("c4",),
    )
    assert second.values == {"c3": Decimal(1), "c4": Decimal(0)}
    assert ranking.status == "complete" and ranking.selected == ("c1", "c2", "c3")
    assert nominees == ["c1", "c2", "c3"]


def test_the_feedback_assessment_counts_only_where_available() -> None:
    desk = regional_desk()
    district_of_four(desk, c3={"complaints": 2}, c4={"complaints": 1})
    ranking, nominees = nominate(desk)
    steps = [(s.criterion, s.applied) for s in ranking.tie_break_steps]
    assert steps == [
        ("complex_projects", True),
        ("trilingual", True),
        ("feedback", False),  # nobody has a feedback assessment at nomination time
        ("fewest_complaints", True),
    ]
    assert ranking.tie_break_steps[-1].advanced == ("c4",)
    assert nominees == ["c1", "c2", "c4"]


def test_a_feedback_assessment_taken_before_nomination_breaks_the_tie() -> None:
    desk = regional_desk()
    district_of_four(desk, c3={}, c4={})
    for candidate, score in (("c3", 6), ("c4", 8)):
        desk.do(c.RecordFeedbackAssessment(candidate_id=candidate, assessor_id="sec", score=score))
    ranking, nominees = nominate(desk)
    feedback = ranking.tie_break_steps[-1]
    assert (feedback.criterion, feedback.applied) == ("feedback", True)
    assert (feedback.advanced, feedback.eliminated) == (("c4",), ("c3",))
    assert nominees == ["c1", "c2", "c4"]


def test_a_tie_through_the_whole_chain_waits_for_the_casting_vote_which_settles_it() -> None:
    desk = regional_desk()
    same = {"complex_projects": True, "trilingual": True, "complaints": 0}
    district_of_four(desk, c3=same, c4=same)
    ranking, nominees = nominate(desk)
    assert ranking.status == "pending_casting_vote"
    assert (ranking.tied, ranking.seats_left) == (("c3", "c4"), 1)
    assert len(ranking.tie_break_steps) == 4
    assert nominees == ["c1", "c2"]
    assert desk.refuse(c.NominateDistrict(sitting_id="s1", district=DISTRICT)).code == (
        "casting_vote_pending"
    )

    vote = c.CastCastingVote(
        sitting_id="s1", chair_id=CHAIR, purpose="nomination", scope=DISTRICT, chosen=("c4",)
    )
    assert (
        desk.refuse(c.CastCastingVote(**{**vote.__dict__, "chair_id": "m2"})).code
        == "not_the_chair"
    )
    assert desk.refuse(c.CastCastingVote(**{**vote.__dict__, "chosen": ("c3", "c4")})).code == (
        "casting_vote_invalid"
    )
    assert desk.refuse(c.CastCastingVote(**{**vote.__dict__, "chosen": ("c1",)})).code == (
        "casting_vote_invalid"
    )
    cast, nominated = desk.do(vote)
    assert isinstance(cast, CastingVoteRecorded) and cast.tied == ("c3", "c4")
    assert isinstance(nominated, CandidateNominated)
    assert (nominated.candidate_id, nominated.basis, nominated.rank) == ("c4", "casting_vote", 3)
    assert desk.refuse(c.NominateDistrict(sitting_id="s1", district=DISTRICT)).code == (
        "district_already_nominated"
    )
    assert desk.refuse(vote).code == "no_pending_tie"


def test_a_tie_that_does_not_cross_the_cut_off_is_left_alone() -> None:
    desk = regional_desk()
    register(desk, "c1", questionnaire=10, rural=RURAL[0])
    register(desk, "c2", questionnaire=10, rural=RURAL[1])
    register(desk, "c3", questionnaire=5, rural=RURAL[2])
    register(desk, "c4", questionnaire=1, rural=RURAL[3])
    sitting(desk)
    for candidate in ("c1", "c2", "c3", "c4"):
        score_by(desk, SCORERS, candidate)
    ranking, nominees = nominate(desk)
    assert ranking.tie_break_steps == ()
    assert nominees == ["c1", "c2", "c3"]


def test_the_number_of_nominees_is_edition_data() -> None:
    desk = regional_desk(ScoringRules(nominees_per_district=2))
    district_of_four(desk, c3={}, c4={})
    _, nominees = nominate(desk)
    assert nominees == ["c1", "c2"]


def test_a_district_is_nominated_only_when_every_candidate_has_a_project_sheet() -> None:
    desk = regional_desk()
    register(desk, "c1", rural=RURAL[0])
    register(desk, "c2", rural=RURAL[1])
    sitting(desk)
    score_by(desk, SCORERS, "c1")
    error = desk.refuse(c.NominateDistrict(sitting_id="s1", district=DISTRICT))
    assert (error.code, error.status) == ("candidates_unscored", 409)
    assert [e.field for e in error.errors] == ["c2"]


def test_no_nomination_at_a_sitting_without_quorum() -> None:
    desk = regional_desk()
    register(desk, "c1")
    sitting(desk)
    score_by(desk, SCORERS, "c1")
    sitting(desk, "s2", present=ALL[:5])
    error = desk.refuse(c.NominateDistrict(sitting_id="s2", district=DISTRICT))
    assert error.code == "sitting_not_quorate"


def test_akims_who_both_implement_complex_projects_share_step_one() -> None:
    """§12 (1) is a yes/no quality: however many projects each has, both do."""
    desk = regional_desk()
    district_of_four(
        desk,
        c3={"complex_projects": True, "trilingual": False},
        c4={"complex_projects": True, "trilingual": True},
    )
    ranking, nominees = nominate(desk)
    first, second = ranking.tie_break_steps[:2]
    assert (first.criterion, first.applied, first.values) == (
        "complex_projects",
        True,
        {"c3": Decimal(1), "c4": Decimal(1)},
    )
    assert (first.advanced, first.eliminated, first.still_tied) == ((), (), ("c3", "c4"))
    assert (second.criterion, second.advanced) == ("trilingual", ("c4",))
    assert nominees == ["c1", "c2", "c4"]


def test_a_registration_of_v1_counting_projects_reads_as_yes_no_and_complaints_unknown() -> None:
    from services.scoring.events import CandidateRegistered, registry

    v1 = {
        "candidate_id": "c1",
        "application_id": "c1",
        "edition_id": "e",
        "name": "Akim",
        "rural_district": RURAL[0],
        "district": DISTRICT,
        "region": "100000000",
        "questionnaire_score": 10,
        "complex_projects": 3,
        "trilingual": True,
        "justified_complaints": 0,
    }
    event = registry.decode("CandidateRegistered", 1, v1)
    assert isinstance(event, CandidateRegistered)
    assert (event.implements_complex_projects, event.justified_complaints) == (True, None)
    none = registry.decode("CandidateRegistered", 1, {**v1, "complex_projects": 0})
    assert isinstance(none, CandidateRegistered) and not none.implements_complex_projects


def test_an_unknown_complaints_figure_is_not_read_as_zero_the_step_is_skipped() -> None:
    desk = regional_desk()
    district_of_four(desk, c3={"complaints": None}, c4={"complaints": 1})
    ranking, nominees = nominate(desk)
    last = ranking.tie_break_steps[-1]
    assert (last.criterion, last.applied, last.values) == (
        "fewest_complaints",
        False,
        {"c3": None, "c4": Decimal(1)},
    )
    assert (ranking.status, ranking.tied, ranking.seats_left) == (
        "pending_casting_vote",
        ("c3", "c4"),
        1,
    )
    assert nominees == ["c1", "c2"]


def test_a_complaints_figure_recorded_after_registration_breaks_the_tie() -> None:
    desk = regional_desk()
    district_of_four(desk, c3={"complaints": None}, c4={"complaints": None})
    desk.do(c.RecordCandidateComplaints("c3", 0, "akimat register of appeals"))
    desk.do(c.RecordCandidateComplaints("c4", 2, "akimat register of appeals"))
    ranking, nominees = nominate(desk)
    last = ranking.tie_break_steps[-1]
    assert (last.criterion, last.applied, last.advanced) == ("fewest_complaints", True, ("c3",))
    assert nominees == ["c1", "c2", "c3"]


def test_a_district_with_fewer_candidates_than_seats_leaves_the_rest_unfilled() -> None:
    desk = regional_desk()
    register(desk, "c1", rural=RURAL[0])
    register(desk, "c2", rural=RURAL[1])
    sitting(desk)
    for candidate in ("c1", "c2"):
        score_by(desk, SCORERS, candidate)
    ranking, _ = nominate(desk)
    assert (ranking.status, ranking.selected, ranking.seats_left) == ("complete", ("c1", "c2"), 1)
