"""The Annex 3 questionnaire score: the rubric as data and the generic scorer (§12)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
from pydantic import ValidationError

from services.nominations.domain.rubric import Rubric, load_rubric, score, score_items
from shared.errors import RuleViolation

from .builders import full_questionnaire, questionnaire

FLUENT = "fluent"


def rubric_data() -> dict[str, Any]:
    text = (files("services.nominations") / "data" / "annex3-rubric-2020.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def languages(*names: str, level: str = FLUENT) -> list[dict[str, str]]:
    return [{"language": name, "level": level} for name in names]


def points(result: Any, number: int) -> int:
    return int(next(c.points for c in result.criteria if c.number == number))


def test_shipped_rubric_is_annex_3_with_a_maximum_of_29() -> None:
    rubric = load_rubric()
    assert rubric.rubric_id == "annex3-2020"
    assert [c.max_points for c in rubric.criteria] == [2, 5, 7, 8, 5, 2]
    assert rubric.max_total == 29


def test_full_questionnaire_scores_29() -> None:
    result = score(load_rubric(), full_questionnaire())
    assert (result.total, result.max_total) == (29, 29)
    assert [c.points for c in result.criteria] == [2, 5, 7, 8, 5, 2]


def test_empty_questionnaire_scores_0() -> None:
    result = score(load_rubric(), questionnaire())
    assert result.total == 0
    assert all(c.points == 0 and c.items == () for c in result.criteria)


def test_breakdown_names_each_criterion_and_the_items_that_earned_points() -> None:
    result = score(load_rubric(), full_questionnaire())
    assert result.rubric_id == "annex3-2020"
    assert [(c.number, c.key) for c in result.criteria][:2] == [
        (1, "civil_service_length"),
        (2, "languages"),
    ]
    assert result.criteria[0].items == ("civil_service_over_10_years",)
    assert result.criteria[1].items == ("state_language", "state_russian_english")


@pytest.mark.parametrize(
    ("years", "months", "expected"),
    [(0, 11, 0), (1, 0, 1), (10, 0, 1), (10, 1, 2), (25, 0, 2)],
)
def test_civil_service_length_is_one_choice(years: int, months: int, expected: int) -> None:
    q = questionnaire(civil_service={"years": years, "months": months})
    assert points(score(load_rubric(), q), 1) == expected


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        (("state",), 3),
        (("state", "russian"), 3),
        (("state", "russian", "english"), 5),
        (("russian", "english"), 0),
        ((), 0),
    ],
)
def test_criterion_2_additive_reading(spoken: tuple[str, ...], expected: int) -> None:
    q = questionnaire(languages=languages(*spoken))
    assert points(score(load_rubric(), q), 2) == expected


def test_criterion_2_counts_only_free_command() -> None:
    q = questionnaire(languages=languages("state", "russian", "english", level="intermediate"))
    assert points(score(load_rubric(), q), 2) == 0


def test_criterion_2_one_choice_reading_is_a_matter_of_data() -> None:
    data = rubric_data()
    data["criteria"][1]["mode"] = "one_choice"
    data["max_total"] = 27
    rubric = Rubric.model_validate(data)
    trilingual = questionnaire(languages=languages("state", "russian", "english"))
    assert points(score(rubric, trilingual), 2) == 3
    assert score(rubric, full_questionnaire()).total == 27


def test_rubric_whose_maximum_disagrees_with_its_criteria_is_refused() -> None:
    data = rubric_data()
    data["max_total"] = 30
    with pytest.raises(ValidationError, match="add up to 29"):
        Rubric.model_validate(data)


def test_awards_of_different_kinds_add_up_and_one_kind_counts_once() -> None:
    awards = [
        {"kind": "departmental", "title": "Құрмет грамотасы"},
        {"kind": "state", "title": "Медаль «Ерен еңбегі үшін»"},
        {"kind": "state", "title": "Орден «Құрмет»"},
    ]
    assert points(score(load_rubric(), questionnaire(awards=awards)), 3) == 3


def test_a_second_higher_education_is_needed_for_criterion_4_item_1() -> None:
    one = [{"institution": "КазНУ", "graduated_in": 2000, "speciality": "право", "level": "higher"}]
    master = {
        "institution": "АГУ",
        "graduated_in": 2004,
        "speciality": "ГМУ",
        "level": "postgraduate",
    }
    assert points(score(load_rubric(), questionnaire(education=one)), 4) == 0
    assert points(score(load_rubric(), questionnaire(education=[*one, master])), 4) == 0
    twice = [*one, {**one[0], "graduated_in": 2010}]
    assert points(score(load_rubric(), questionnaire(education=twice)), 4) == 1


def test_score_of_chosen_items_follows_the_rubric() -> None:
    chosen = ["civil_service_1_to_10_years", "state_language", "seminars"]
    result = score_items(load_rubric(), chosen)
    assert result.total == 5
    assert [c.points for c in result.criteria] == [1, 3, 0, 0, 1, 0]


def test_score_of_unknown_or_rival_items_is_refused_naming_each() -> None:
    rivals = ["civil_service_1_to_10_years", "civil_service_over_10_years", "no_such_item"]
    with pytest.raises(RuleViolation) as refused:
        score_items(load_rubric(), rivals)
    assert [e.code for e in refused.value.errors] == [
        "unknown_rubric_item",
        "one_choice_criterion",
        "one_choice_criterion",
    ]
