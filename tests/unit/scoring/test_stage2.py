"""§19–§21: defences within budget and time, Annex 7 criterion 12, three winners by mean."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.scoring.domain import commands as c
from services.scoring.events import RankingComputed, ScoreRecorded, WinnersDecided
from tests.unit.scoring.builders import (
    ALL_R,
    AT,
    Desk,
    finalist,
    republican_desk,
    score_by,
    sheet,
    sitting,
)

REGIONS = ("100000000", "110000000", "150000000", "190000000")


def defence(candidate: str, budget: int = 4_000_000, talk: int = 280) -> c.RegisterDefence:
    return c.RegisterDefence(
        candidate_id=candidate, title="Clean water", budget_tenge=budget, talk_seconds=talk
    )


def field(*totals: str) -> Desk:
    """The Republican commission with one finalist per region (regional totals given)."""
    desk = republican_desk()
    for i, total in enumerate(totals):
        desk.record(finalist(f"f{i + 1}", REGIONS[i], total))
    return desk


def stage2_sitting(desk: Desk) -> None:
    sitting(desk, "r1", stage="stage2", present=ALL_R)


def test_a_budget_over_five_million_tenge_is_refused_and_five_million_accepted() -> None:
    desk = field("100")
    error = desk.refuse(defence("f1", budget=5_000_001))
    assert (error.code, error.status) == ("budget_over_limit", 422)
    assert error.errors[0].field == "budget_tenge"
    desk.do(defence("f1", budget=5_000_000))


def test_a_talk_over_five_minutes_is_refused() -> None:
    desk = field("100")
    error = desk.refuse(defence("f1", talk=301))
    assert (error.code, error.status) == ("talk_too_long", 422)
    both = desk.refuse(defence("f1", budget=6_000_000, talk=400))
    assert [e.code for e in both.errors] == ["budget_over_limit", "talk_too_long"]
    desk.do(defence("f1", talk=300))


def test_only_finalists_defend() -> None:
    desk = field("100")
    assert desk.refuse(defence("nobody")).code == "candidate_out_of_scope"


def test_criterion_12_is_filled_in_from_the_regional_totals() -> None:
    desk = field("150", "120", "33")
    for f in ("f1", "f2", "f3"):
        desk.do(defence(f))
    stage2_sitting(desk)
    filled = {}
    for f in ("f1", "f2", "f3"):
        [event] = desk.do(sheet(desk, "r1", f, "stage2", 5, sitting_id="r1"))
        assert isinstance(event, ScoreRecorded) and event.derived == ("stage1_result",)
        filled[f] = (event.scores["stage1_result"], event.total)
    assert filled == {"f1": (10, 65), "f2": (8, 63), "f3": (2, 57)}  # 10×120/150, 10×33/150=2.2


def test_the_stage_two_field_is_fixed_once_scoring_begins() -> None:
    desk = field("100", "90")
    desk.do(defence("f1"))
    stage2_sitting(desk)
    desk.do(sheet(desk, "r1", "f1", "stage2", 5, sitting_id="r1"))
    error = desk.refuse(defence("f2"))
    assert (error.code, error.status) == ("stage2_scoring_started", 409)


def test_a_sheet_needs_a_registered_defence() -> None:
    desk = field("100", "90")
    desk.do(defence("f1"))
    stage2_sitting(desk)
    assert desk.refuse(sheet(desk, "r1", "f2", "stage2", sitting_id="r1")).code == (
        "defence_not_registered"
    )


@pytest.fixture
def four_defended() -> Desk:
    desk = field("100", "100", "100", "100")
    for f in ("f1", "f2", "f3", "f4"):
        desk.do(defence(f))
    stage2_sitting(desk)
    return desk


def test_winners_rank_by_mean_when_the_scorers_differ_and_show_the_sum(four_defended: Desk) -> None:
    desk = four_defended
    score_by(desk, ALL_R[:3], "f1", "stage2", 9, sitting_id="r1")  # mean 109, sum 327
    score_by(desk, ALL_R[:5], "f2", "stage2", 8, sitting_id="r1")  # mean 98, sum 490
    score_by(desk, ALL_R[:4], "f3", "stage2", 7, sitting_id="r1")  # mean 87
    score_by(desk, ALL_R[:4], "f4", "stage2", 6, sitting_id="r1")  # mean 76
    ranking, decided = desk.do(c.DecideWinners(sitting_id="r1"))
    assert isinstance(ranking, RankingComputed) and isinstance(decided, WinnersDecided)
    assert [(w.candidate_id, w.place, w.mean, w.sum, w.sheets) for w in decided.winners] == [
        ("f1", 1, Decimal("109.0000"), 327, 3),
        ("f2", 2, Decimal("98.0000"), 490, 5),
        ("f3", 3, Decimal("87.0000"), 348, 4),
    ]
    assert decided.by_casting_vote is False
    assert desk.refuse(c.DecideWinners(sitting_id="r1")).code == "winners_already_decided"


def test_winners_with_a_tie_at_third_wait_for_the_casting_vote(four_defended: Desk) -> None:
    desk = four_defended
    for f, value in (("f1", 9), ("f2", 8), ("f3", 7), ("f4", 7)):
        score_by(desk, ALL_R[:6], f, "stage2", value, sitting_id="r1")
    [ranking] = desk.do(c.DecideWinners(sitting_id="r1"))
    assert isinstance(ranking, RankingComputed)
    assert ranking.status == "pending_casting_vote"
    assert (ranking.selected, ranking.tied, ranking.seats_left) == (("f1", "f2"), ("f3", "f4"), 1)
    assert desk.refuse(c.CloseStage(stage="stage2", at=AT)).code == "casting_vote_pending"
    _, decided = desk.do(
        c.CastCastingVote(sitting_id="r1", chair_id="r1", purpose="winners", chosen=("f4",))
    )
    assert isinstance(decided, WinnersDecided) and decided.by_casting_vote
    assert [(w.candidate_id, w.place) for w in decided.winners] == [("f1", 1), ("f2", 2), ("f4", 3)]


def test_winners_are_decided_only_when_every_defence_is_scored(four_defended: Desk) -> None:
    score_by(four_defended, ALL_R[:6], "f1", "stage2", 9, sitting_id="r1")
    error = four_defended.refuse(c.DecideWinners(sitting_id="r1"))
    assert (error.code, [e.field for e in error.errors]) == (
        "candidates_unscored",
        ["f2", "f3", "f4"],
    )
