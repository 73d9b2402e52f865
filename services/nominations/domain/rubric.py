"""The questionnaire score of stage I (§12, Annex 3) as data plus one generic scorer.

A rubric is criteria of items; an item applies when a numeric *fact* read from the
questionnaire lies in ``[at_least, at_most]``. A criterion is ``one_choice`` (the best item
that applies) or ``additive`` (every item that applies). The 2020 rubric ships as
``data/annex3-rubric-2020.json``; DOMAIN's criterion-2 reading is that file's ``mode``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Annotated, Self

from pydantic import Field, model_validator

from shared.errors import ErrorItem, RuleViolation

from .questionnaire import AwardKind, EducationLevel, Language, Questionnaire
from .values import Count, Frozen, Names


class Fact(StrEnum):
    """What an item looks at in the questionnaire; each is a number (a flag is 0 or 1)."""

    civil_service_months = "civil_service_months"
    fluent_state = "fluent_state"
    fluent_state_russian_english = "fluent_state_russian_english"
    departmental_awards = "departmental_awards"
    state_awards = "state_awards"
    honorary_titles = "honorary_titles"
    international_awards = "international_awards"
    higher_educations = "higher_educations"
    academic_degree = "academic_degree"
    scientific_works = "scientific_works"
    projects = "projects"
    seminars = "seminars"
    internships = "internships"
    refresher_courses = "refresher_courses"
    proposals = "proposals"


_L = Language
_FACTS: MappingProxyType[Fact, Callable[[Questionnaire], int]] = MappingProxyType(
    {
        Fact.civil_service_months: lambda q: q.civil_service.total_months,
        Fact.fluent_state: lambda q: int(q.fluent_in(_L.state)),
        Fact.fluent_state_russian_english: lambda q: int(
            q.fluent_in(_L.state, _L.russian, _L.english)
        ),
        Fact.departmental_awards: lambda q: q.count_awards(AwardKind.departmental),
        Fact.state_awards: lambda q: q.count_awards(AwardKind.state),
        Fact.honorary_titles: lambda q: q.count_awards(AwardKind.honorary_title),
        Fact.international_awards: lambda q: q.count_awards(AwardKind.international),
        Fact.higher_educations: lambda q: q.count_education(EducationLevel.higher),
        Fact.academic_degree: lambda q: int(q.academic_degree is not None),
        Fact.scientific_works: lambda q: len(q.scientific_works),
        Fact.projects: lambda q: len(q.projects),
        Fact.seminars: lambda q: len(q.seminars),
        Fact.internships: lambda q: len(q.internships),
        Fact.refresher_courses: lambda q: len(q.refresher_courses),
        Fact.proposals: lambda q: len(q.proposals),
    }
)


class CriterionMode(StrEnum):
    one_choice = "one_choice"
    additive = "additive"


class RubricItem(Frozen):
    key: str = Field(description="stable key of the item, e.g. state_language")
    names: Names = Field(description="the item as Annex 3 words it")
    points: Count = Field(description="points the item earns")
    fact: Fact = Field(description="the number read from the questionnaire")
    at_least: Annotated[int, Field(ge=1)] = Field(1, description="applies from this value")
    at_most: int | None = Field(None, description="applies up to this value (none: no bound)")

    def applies(self, facts: dict[Fact, int]) -> bool:
        value = facts[self.fact]
        return value >= self.at_least and (self.at_most is None or value <= self.at_most)


class Criterion(Frozen):
    number: int = Field(description="the criterion's number in Annex 3")
    key: str = Field(description="stable key of the criterion")
    names: Names = Field(description="the criterion as Annex 3 words it")
    mode: CriterionMode = Field(description="one_choice: the best item; additive: every item")
    items: tuple[RubricItem, ...] = Field(description="the items that earn points")

    @property
    def max_points(self) -> int:
        points = [item.points for item in self.items]
        return sum(points) if self.mode is CriterionMode.additive else max(points, default=0)


class CriterionScore(Frozen):
    number: int = Field(description="the criterion's number in Annex 3")
    key: str = Field(description="stable key of the criterion")
    points: Count = Field(description="points earned")
    max_points: Count = Field(description="the most the criterion gives")
    items: tuple[str, ...] = Field(description="keys of the items that earned the points")


class QuestionnaireScore(Frozen):
    rubric_id: str = Field(description="the rubric that scored it")
    total: Count = Field(description="points in all")
    max_total: Count = Field(description="the rubric's maximum")
    criteria: tuple[CriterionScore, ...] = Field(description="the breakdown per criterion")


class Rubric(Frozen):
    """Annex 3 as data; ``max_total`` is checked against the criteria."""

    rubric_id: str = Field(description="stable id of the rubric, e.g. annex3-2020")
    source: str = Field(description="where the rubric comes from")
    readings: tuple[str, ...] = Field(
        (), description="readings chosen where the source is ambiguous"
    )
    max_total: Count = Field(description="the most a questionnaire can score")
    criteria: tuple[Criterion, ...] = Field(description="the criteria, in Annex 3 order")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        keys = [item.key for criterion in self.criteria for item in criterion.items]
        if len(keys) != len(set(keys)):
            raise ValueError("rubric item keys must be unique")
        computed = sum(criterion.max_points for criterion in self.criteria)
        if computed != self.max_total:
            raise ValueError(f"max_total {self.max_total} but the criteria add up to {computed}")
        return self


def score(rubric: Rubric, questionnaire: Questionnaire) -> QuestionnaireScore:
    """Annex 3 score of ``questionnaire``: total and the points of every criterion (§12)."""
    facts = {fact: read(questionnaire) for fact, read in _FACTS.items()}
    chosen = [[i for i in c.items if i.applies(facts)] for c in rubric.criteria]
    return _total(rubric, chosen)


def score_items(rubric: Rubric, keys: Iterable[str]) -> QuestionnaireScore:
    """The score when exactly the items ``keys`` apply (a secretary's correction, §12)."""
    wanted = set(keys)
    known = {item.key for criterion in rubric.criteria for item in criterion.items}
    errors = [_item_error(k, "unknown_rubric_item") for k in sorted(wanted - known)]
    chosen = [[i for i in c.items if i.key in wanted] for c in rubric.criteria]
    for criterion, items in zip(rubric.criteria, chosen, strict=True):
        if criterion.mode is CriterionMode.one_choice and len(items) > 1:
            errors.extend(_item_error(i.key, "one_choice_criterion") for i in items)
    if errors:
        raise RuleViolation("invalid_score_correction", "the correction breaks the rubric", errors)
    return _total(rubric, chosen)


def _best(criterion: Criterion, items: list[RubricItem]) -> CriterionScore:
    if criterion.mode is CriterionMode.one_choice:
        items = sorted(items, key=lambda item: item.points, reverse=True)[:1]
    return CriterionScore(
        number=criterion.number,
        key=criterion.key,
        points=sum(item.points for item in items),
        max_points=criterion.max_points,
        items=tuple(item.key for item in items),
    )


def _total(rubric: Rubric, chosen: list[list[RubricItem]]) -> QuestionnaireScore:
    criteria = [_best(c, items) for c, items in zip(rubric.criteria, chosen, strict=True)]
    return QuestionnaireScore(
        rubric_id=rubric.rubric_id,
        total=sum(c.points for c in criteria),
        max_total=rubric.max_total,
        criteria=tuple(criteria),
    )


def _item_error(key: str, code: str) -> ErrorItem:
    detail = {
        "unknown_rubric_item": f"{key} is not an item of the rubric",
        "one_choice_criterion": f"{key}: only one item of a one-choice criterion may apply",
    }[code]
    return ErrorItem(code=code, detail=detail, field=f"items.{key}")


def parse_rubric(text: str) -> Rubric:
    return Rubric.model_validate_json(text)


@cache
def load_rubric(name: str = "annex3-rubric-2020.json") -> Rubric:
    """A rubric shipped in ``services/nominations/data``."""
    resource = files("services.nominations") / "data" / name
    return parse_rubric(resource.read_text(encoding="utf-8"))
