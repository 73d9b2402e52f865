"""Annex 5: the criteria residents rate, and the survey rules of an edition (§14.3).

Every figure (how many criteria, the maximum of each, the rate limits) is edition data shipped
in ``services/survey/data/``; the code only reads it. Loading reads immutable package data,
not the outside world, so the domain stays free of I/O ports.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Lang = Literal["kk", "ru", "en"]
LANGS: tuple[Lang, ...] = ("kk", "ru", "en")

_PACKAGE = "services.survey"
_frozen = ConfigDict(frozen=True, extra="forbid")


class Names(BaseModel):
    """A text in the three languages of the service."""

    model_config = _frozen

    kk: str = Field(min_length=1)
    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def in_(self, lang: Lang) -> str:
        text: str = getattr(self, lang)
        return text


class Criterion(BaseModel):
    """One Annex 5 row: residents give an integer from 0 to ``max``."""

    model_config = _frozen

    number: int = Field(ge=1)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    max: int = Field(ge=1)
    name: Names


class Rubric(BaseModel):
    """The ordered list of criteria; an answer vector follows this order."""

    model_config = _frozen

    id: str = Field(min_length=1)
    source: str
    title: Names
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_in_order(self) -> Self:
        numbers = [c.number for c in self.criteria]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError("criteria must be numbered 1..n in order")
        return self

    @property
    def size(self) -> int:
        return len(self.criteria)

    @property
    def max_total(self) -> int:
        return sum(c.max for c in self.criteria)


class TokenBucketRule(BaseModel):
    """A token bucket: ``capacity`` requests at once, refilled at ``refill_per_minute``."""

    model_config = _frozen

    capacity: int = Field(ge=1)
    refill_per_minute: float = Field(gt=0)

    @property
    def refill_per_second(self) -> float:
        return self.refill_per_minute / 60


class BurstRule(BaseModel):
    """Flag (never drop) more than ``max_per_source`` sends from one source, or more than
    ``max_identical`` identical answer vectors in one survey, within ``window_seconds``."""

    model_config = _frozen

    window_seconds: int = Field(ge=1)
    max_per_source: int = Field(ge=1)
    max_identical: int = Field(ge=1)


class SurveyRules(BaseModel):
    """Edition data for the survey: the rubric, rate limits and the burst detector."""

    model_config = _frozen

    edition: str
    rubric: Rubric
    per_ip: TokenBucketRule
    per_survey: TokenBucketRule
    burst: BurstRule
    open_days: int = Field(
        ge=1, description="how long a survey opened by a nomination takes answers"
    )
    max_window_days: int = Field(
        92, ge=1, description="the longest window a survey may be opened for (by hand too)"
    )
    max_lead_days: int = Field(
        366, ge=0, description="how far ahead of the opening command a survey may open"
    )

    @classmethod
    def edition_2020(cls) -> SurveyRules:
        """The rules of the 2020 edition (``data/survey-rules-2020.json``)."""
        return load_rules("2020")


def _data_dir() -> Traversable:
    return resources.files(_PACKAGE).joinpath("data")


@cache
def load_rubric(rubric_id: str) -> Rubric:
    """The rubric with this id among ``data/*rubric*.json``; KeyError when unknown."""
    for item in _data_dir().iterdir():
        if item.name.endswith(".json") and "rubric" in item.name:
            rubric = Rubric.model_validate(json.loads(item.read_text(encoding="utf-8")))
            if rubric.id == rubric_id:
                return rubric
    raise KeyError(rubric_id)


@cache
def load_rules(edition: str) -> SurveyRules:
    """The survey rules of an edition (``data/survey-rules-<edition>.json``)."""
    raw = json.loads(_data_dir().joinpath(f"survey-rules-{edition}.json").read_text("utf-8"))
    rubric = load_rubric(raw.pop("rubric_id"))
    return SurveyRules.model_validate({**raw, "rubric": rubric})
