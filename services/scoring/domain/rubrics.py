"""Evaluation sheets (оценочные листы) as data: Annexes 4, 6, 7 and the §15 interview sheet.

The criteria of an edition ship in ``shared/data/rubrics-<edition>.json`` (reference data:
reporting names the criteria from it) with their Russian, Kazakh and English names; the code
only reads them. Loading reads immutable package data, not
the outside world, so the domain stays free of I/O ports.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scoring.domain.refusals import refuse
from services.scoring.events import SheetKind, Stage
from shared.errors import ErrorItem

_frozen = ConfigDict(frozen=True, extra="forbid")


class Names(BaseModel):
    model_config = _frozen

    ru: str = Field(min_length=1)
    kk: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Criterion(BaseModel):
    """One row of a sheet: an integer 0..max; ``derived`` rows are filled in by a rule."""

    model_config = _frozen

    number: int = Field(ge=1)
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Names
    max: int | None = Field(default=None, ge=1, description="else ScoringRules.criterion_max")
    derived: bool = False

    def maximum(self, default: int) -> int:
        return self.max if self.max is not None else default


class Rubric(BaseModel):
    """The ordered criteria of one kind of sheet and the stage it belongs to."""

    model_config = _frozen

    kind: SheetKind
    stage: Stage
    source: str
    title: Names
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbered_once(self) -> Self:
        if [c.number for c in self.criteria] != list(range(1, len(self.criteria) + 1)):
            raise ValueError(f"{self.kind}: criteria must be numbered 1..n in order")
        if len({c.key for c in self.criteria}) != len(self.criteria):
            raise ValueError(f"{self.kind}: criterion keys must be unique")
        return self

    @property
    def entered(self) -> tuple[Criterion, ...]:
        """The criteria a member scores (all but the derived ones)."""
        return tuple(c for c in self.criteria if not c.derived)

    @property
    def derived(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.derived)


class RubricSet(BaseModel):
    """Every sheet of an edition, by kind."""

    model_config = _frozen

    id: str
    edition: str
    source: str
    note: str = ""
    sheets: tuple[Rubric, ...]

    @model_validator(mode="after")
    def _one_per_kind(self) -> Self:
        if len({r.kind for r in self.sheets}) != len(self.sheets):
            raise ValueError("one rubric per sheet kind")
        return self

    def of(self, kind: SheetKind) -> Rubric:
        """The rubric of ``kind``; KeyError when the edition has none."""
        for rubric in self.sheets:
            if rubric.kind == kind:
                return rubric
        raise KeyError(kind)

    def kinds_of(self, stage: Stage) -> tuple[SheetKind, ...]:
        return tuple(r.kind for r in self.sheets if r.stage == stage)


@cache
def load_rubrics(name: str = "rubrics-2020.json") -> RubricSet:
    """The rubrics shipped as ``shared/data/<name>`` (``ScoringRules.rubrics``)."""
    text = resources.files("shared").joinpath("data", name).read_text("utf-8")
    return RubricSet.model_validate(json.loads(text))


def validate_entered(rubric: Rubric, scores: Mapping[str, object], default_max: int) -> None:
    """Every entered criterion once, an integer 0..max; else 422 listing each failure.

    Codes: ``score_out_of_range``, ``score_not_integer``, ``criterion_missing``,
    ``criterion_unknown``, ``criterion_derived`` (a member may not enter a derived criterion).
    ``errors[].field`` is ``scores.<criterion key>``.
    """
    problems = [p for c in rubric.entered if (p := _check(c, scores, default_max)) is not None]
    problems += [_extra(rubric, key) for key in sorted(scores) if key not in _entered(rubric)]
    if problems:
        refuse(sorted(problems, key=_severity))


def _entered(rubric: Rubric) -> set[str]:
    return {c.key for c in rubric.entered}


def _check(criterion: Criterion, scores: Mapping[str, object], default: int) -> ErrorItem | None:
    field, top = f"scores.{criterion.key}", criterion.maximum(default)
    if criterion.key not in scores:
        return ErrorItem("criterion_missing", f"criterion {criterion.key} is not scored", field)
    value = scores[criterion.key]
    if isinstance(value, bool) or not isinstance(value, int):
        return ErrorItem("score_not_integer", f"{criterion.key}: a whole number is required", field)
    if not 0 <= value <= top:
        detail = f"{criterion.key}: {value} is outside 0..{top}"
        return ErrorItem("score_out_of_range", detail, field)
    return None


def _extra(rubric: Rubric, key: str) -> ErrorItem:
    if any(c.key == key for c in rubric.derived):
        return ErrorItem("criterion_derived", f"{key} is filled in by rule", f"scores.{key}")
    return ErrorItem(
        "criterion_unknown", f"{key} is not on the {rubric.kind} sheet", f"scores.{key}"
    )


_ORDER = ("score_out_of_range", "score_not_integer", "criterion_derived")


def _severity(item: ErrorItem) -> int:
    """Range errors first, so the top-level ``code`` names the most telling failure."""
    return _ORDER.index(item.code) if item.code in _ORDER else len(_ORDER)


def resolved(rubrics: RubricSet, default: int) -> RubricSet:
    """``rubrics`` with every criterion's maximum stated (``default`` where it names none):
    what a client shows as the scale, without knowing the edition's figures."""
    sheets = tuple(
        sheet.model_copy(
            update={
                "criteria": tuple(
                    c.model_copy(update={"max": c.maximum(default)}) for c in sheet.criteria
                )
            }
        )
        for sheet in rubrics.sheets
    )
    return rubrics.model_copy(update={"sheets": sheets})
