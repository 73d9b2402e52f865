"""The figures of an edition that scoring enforces; the defaults are the 2020 edition.

DOMAIN.md asks that every count, maximum and **Reading** be data, not code. A later edition
builds another :class:`ScoringRules` (e.g. from JSON) and nothing else changes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TieBreak = Literal["complex_projects", "trilingual", "feedback", "fewest_complaints"]
"""The §12 priorities: complex projects, three languages, openness, fewest complaints."""

_frozen = ConfigDict(frozen=True, extra="forbid")


class Quorum(BaseModel):
    """§3: a sitting is quorate with at least ``numerator/denominator`` of the members."""

    model_config = _frozen

    numerator: int = Field(default=2, ge=1)
    denominator: int = Field(default=3, ge=1)

    def required(self, members: int) -> int:
        """Members needed: ceil(members × numerator / denominator) — 6 of 9 for 2/3."""
        return -(-members * self.numerator // self.denominator)


class RegionalWeights(BaseModel):
    """**Reading (revised)** §15–§16: the regional total is Σ weight × component.

    The interview sheet is where §15's considerations (questionnaire, essay, project, awards,
    ethics and survey results) are weighed, so by default the ranking is the mean of the
    members' interview sheet totals alone (weight 1); every other component has weight 0: it is
    shown beside the total, not added again. An edition may ask for a weighted sum.
    """

    model_config = _frozen

    stage1_points: Decimal = Decimal(0)
    survey_mean: Decimal = Decimal(0)
    essay_mean: Decimal = Decimal(0)
    interview_mean: Decimal = Decimal(1)
    feedback: Decimal = Decimal(0)
    ethics: Decimal = Decimal(0)

    def items(self) -> tuple[tuple[str, Decimal], ...]:
        return tuple((name, Decimal(getattr(self, name))) for name in type(self).model_fields)


Prerequisite = Literal["ethics", "survey", "essay", "feedback"]
"""§14: what is recorded for a nominee before the interview (an essay: at least one sheet)."""


class Qualifications(BaseModel):
    """§3/§4: who may chair and who may be the secretary, as positions (enum-like lists).

    ``positions`` are the posts the edition knows; each role lists the ones it accepts
    (an empty list: any known position, or none given)."""

    model_config = _frozen

    positions: tuple[str, ...] = (
        "head_of_regional_department",
        "deputy_head_of_regional_department",
        "agency_deputy_chairperson",
        "agency_employee",
        "regional_department_employee",
        "akimat_employee",
        "other",
    )
    regional_chair: tuple[str, ...] = (
        "head_of_regional_department",
        "deputy_head_of_regional_department",
    )
    republican_chair: tuple[str, ...] = ("agency_deputy_chairperson",)
    regional_secretary: tuple[str, ...] = ()
    republican_secretary: tuple[str, ...] = ("agency_employee",)


class Criterion12Rule(BaseModel):
    """**Reading** §20, Annex 7 criterion 12 "results of the stage-I selection".

    ``proportional``: the value is round_half_up(max × T / T_max), where T is the finalist's
    regional total (as published in FinalistSelected) and T_max the highest regional total
    among the stage-II field (the finalists with a registered defence). The best regional
    result earns the full criterion, the others in proportion; 0 when every total is 0.
    Members never enter it: it is filled in on their sheets. The field is frozen once the
    first stage-II sheet is recorded, so the value never moves under a recorded sheet.
    """

    model_config = _frozen

    criterion: str = "stage1_result"
    method: Literal["proportional"] = "proportional"


class ScoringRules(BaseModel):
    """Edition data for scoring (§3, §4, §12, §14–§21); defaults = the 2020 edition."""

    model_config = _frozen

    edition: str = "2020"
    rubrics: str = Field(default="rubrics-2020.json", description="file in shared/data")
    members_per_commission: int = Field(default=9, ge=1)
    quorum: Quorum = Quorum()
    nominees_per_district: int = Field(default=3, ge=1)
    criterion_max: int = Field(default=10, ge=1, description="a rubric criterion's maximum")
    questionnaire_max: int = Field(default=29, ge=0, description="Annex 3 total")
    ethics_max: int = Field(default=10, ge=0)
    feedback_max: int = Field(default=10, ge=0)
    stage2_budget_max_tenge: int = Field(default=5_000_000, ge=0)
    talk_max_seconds: int = Field(default=300, ge=1)
    finalists_per_region: int = Field(default=1, ge=1)
    winners: int = Field(default=3, ge=1)
    regional_weights: RegionalWeights = RegionalWeights()
    criterion12: Criterion12Rule = Criterion12Rule()
    interview_prerequisites: tuple[Prerequisite, ...] = Field(
        default=("ethics", "survey", "essay", "feedback"),
        description="§14: recorded before a nominee's interview sheets are accepted",
    )
    qualifications: Qualifications = Qualifications()
    nomination_tie_breaks: tuple[TieBreak, ...] = (
        "complex_projects",
        "trilingual",
        "feedback",
        "fewest_complaints",
    )
    winners_tie_breaks: tuple[TieBreak, ...] = ()
    rank_by: Literal["mean", "sum"] = Field(
        default="mean", description="stage II: **Reading** §3, rank by the mean sheet total"
    )
    decimals: int = Field(default=4, ge=0, le=12, description="rounding of computed values")
