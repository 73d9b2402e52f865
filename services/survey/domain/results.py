"""The survey result of §14.3: number of responses, mean per criterion and mean total.

The live tally is a fold of integers (count and sums), so it is exact; means are computed once,
from the exact fraction, rounded half-up to :data:`MEAN_PLACES` decimals. The mean total is
``sum of all answers / responses`` rounded once, not the sum of the rounded means. Flagged
responses still count (flags are for the commission's review, not a silent drop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from uuid import UUID

from services.survey.events import SurveyResult

MEAN_PLACES = 4
_QUANTUM = Decimal(1).scaleb(-MEAN_PLACES)


@dataclass(frozen=True)
class Tally:
    """Running totals of one survey."""

    count: int
    sums: tuple[int, ...]
    flagged: frozenset[UUID] = frozenset()

    @classmethod
    def empty(cls) -> Tally:
        """No response yet; the first one fixes the number of criteria."""
        return cls(count=0, sums=())

    def add(self, answers: Sequence[int]) -> Tally:
        """The tally with one more response."""
        base = self.sums if self.count else (0,) * len(answers)
        if len(answers) != len(base):
            raise ValueError("answer vector does not match the earlier responses")
        sums = tuple(s + a for s, a in zip(base, answers, strict=True))
        return replace(self, count=self.count + 1, sums=sums)

    def flag(self, response_id: UUID) -> Tally:
        """The tally with one more response flagged for review (idempotent)."""
        return replace(self, flagged=self.flagged | {response_id})

    @property
    def total(self) -> int:
        return sum(self.sums)


def mean(total: int, count: int) -> Decimal:
    """``total / count`` rounded half-up to :data:`MEAN_PLACES` decimals, exactly."""
    exact = Fraction(total, count)
    scaled = exact * 10**MEAN_PLACES
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return (Decimal(whole).scaleb(-MEAN_PLACES)).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def result_of(tally: Tally) -> SurveyResult:
    """The §14.3 result of a tally (live, or final when the survey closes)."""
    if tally.count == 0:
        return SurveyResult(responses=0, flagged=0, means=None, mean_total=None)
    return SurveyResult(
        responses=tally.count,
        flagged=len(tally.flagged),
        means=tuple(mean(s, tally.count) for s in tally.sums),
        mean_total=mean(tally.total, tally.count),
    )
