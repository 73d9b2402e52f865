"""Annexes 4, 6, 7 and the §15 interview sheet as data; the edition's figures as ScoringRules."""

from __future__ import annotations

import pytest

from services.scoring.domain import ScoringRules, load_rubrics
from services.scoring.domain.rubrics import validate_entered
from services.scoring.events import SheetKind
from shared.errors import RuleViolation

RUBRICS = load_rubrics()


@pytest.mark.parametrize(
    ("kind", "count", "stage"),
    [
        ("project", 10, "stage1_selection"),  # Annex 4
        ("essay", 10, "stage1_interview"),  # Annex 6
        ("interview", 9, "stage1_interview"),  # §15
        ("stage2", 12, "stage2"),  # Annex 7
    ],
)
def test_each_sheet_ships_as_data_with_russian_and_english_names(
    kind: SheetKind, count: int, stage: str
) -> None:
    rubric = RUBRICS.of(kind)
    assert len(rubric.criteria) == count
    assert rubric.stage == stage
    assert all(c.name.ru and c.name.kk and c.name.en for c in rubric.criteria)


def test_annex7_criterion_12_is_filled_in_by_rule_not_by_members() -> None:
    rubric = RUBRICS.of("stage2")
    assert [c.key for c in rubric.derived] == [ScoringRules().criterion12.criterion]
    assert len(rubric.entered) == 11


def test_the_2020_rules_are_the_defaults() -> None:
    rules = ScoringRules()
    assert rules.members_per_commission == 9
    assert rules.quorum.required(9) == 6
    assert rules.nominees_per_district == 3
    assert rules.stage2_budget_max_tenge == 5_000_000
    assert rules.talk_max_seconds == 300
    assert (rules.finalists_per_region, rules.winners) == (1, 3)
    assert rules.nomination_tie_breaks == (
        "complex_projects",
        "trilingual",
        "feedback",
        "fewest_complaints",
    )


def test_rules_are_edition_data_that_round_trips_through_json() -> None:
    changed = ScoringRules.model_validate_json(
        ScoringRules(
            nominees_per_district=2, quorum={"numerator": 3, "denominator": 4}
        ).model_dump_json()
    )
    assert changed.nominees_per_district == 2
    assert changed.quorum.required(9) == 7


def entered(value: int = 5) -> dict[str, object]:
    return {c.key: value for c in RUBRICS.of("project").entered}


def test_a_score_above_the_maximum_is_refused_naming_the_criterion() -> None:
    scores = {**entered(), "originality": 11}
    with pytest.raises(RuleViolation) as caught:
        validate_entered(RUBRICS.of("project"), scores, default_max=10)
    assert caught.value.code == "score_out_of_range"
    assert caught.value.status == 422
    assert [e.field for e in caught.value.errors] == ["scores.originality"]


def test_every_failed_criterion_is_listed() -> None:
    scores = {**entered(), "copyright": -1, "modernity": 2.5, "bonus": 3}
    del scores["rationality"]
    with pytest.raises(RuleViolation) as caught:
        validate_entered(RUBRICS.of("project"), scores, default_max=10)
    assert caught.value.code == "score_out_of_range"
    assert {(e.code, e.field) for e in caught.value.errors} == {
        ("score_out_of_range", "scores.copyright"),
        ("score_not_integer", "scores.modernity"),
        ("criterion_missing", "scores.rationality"),
        ("criterion_unknown", "scores.bonus"),
    }


def test_zero_and_the_maximum_are_accepted() -> None:
    validate_entered(RUBRICS.of("project"), entered(0), default_max=10)
    validate_entered(RUBRICS.of("project"), entered(10), default_max=10)


def test_a_member_may_not_enter_the_derived_criterion() -> None:
    scores = {**{c.key: 5 for c in RUBRICS.of("stage2").entered}, "stage1_result": 10}
    with pytest.raises(RuleViolation) as caught:
        validate_entered(RUBRICS.of("stage2"), scores, default_max=10)
    assert caught.value.code == "criterion_derived"
