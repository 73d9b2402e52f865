"""Annex 5 as data: 16 criteria, each 0..10, named in kk, ru and en (§14.3)."""

from __future__ import annotations

import pytest

from services.survey.domain.rubric import LANGS, SurveyRules, load_rubric, load_rules


def test_the_2020_rubric_is_annex_5() -> None:
    rubric = SurveyRules.edition_2020().rubric
    assert rubric.id == "annex5-2020"
    assert rubric.size == 16
    assert [c.number for c in rubric.criteria] == list(range(1, 17))
    assert {c.max for c in rubric.criteria} == {10}
    assert rubric.max_total == 160


def test_every_criterion_is_named_in_the_three_languages() -> None:
    rubric = load_rubric("annex5-2020")
    for criterion in rubric.criteria:
        names = [criterion.name.in_(lang) for lang in LANGS]
        assert all(names) and len(set(names)) == 3
    assert rubric.criteria[0].name.ru.startswith("Эффективность мер, принятых по защите прав")
    assert rubric.criteria[12].name.kk == "Интернет ресурстарымен қамтамасыз ету"
    assert "этических норм" in rubric.criteria[15].name.ru


def test_criterion_keys_are_unique() -> None:
    keys = [c.key for c in load_rubric("annex5-2020").criteria]
    assert len(set(keys)) == len(keys)


def test_2020_rules_carry_rate_limits_and_burst_thresholds() -> None:
    rules = load_rules("2020")
    assert rules.edition == "2020"
    assert rules.per_ip.capacity >= 1 and rules.per_ip.refill_per_second > 0
    assert rules.per_survey.capacity >= rules.per_ip.capacity
    assert rules.burst.window_seconds > 0


def test_an_unknown_rubric_is_a_lookup_error() -> None:
    with pytest.raises(KeyError):
        load_rubric("annex5-1999")
