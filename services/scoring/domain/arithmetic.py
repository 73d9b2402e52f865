"""Exact arithmetic for computed scores: fractions inside, rounded decimals outside.

Means and weighted sums are computed as exact fractions and rounded half-up once, to
``ScoringRules.decimals`` places. The rounded value is the one shown, stored and ranked on, so a
replay yields the same bytes and two totals that look equal are equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction


def round_half_up(value: Fraction, places: int) -> Decimal:
    """``value`` rounded half-up (away from zero for ties) to ``places`` decimals."""
    scale = 10**places
    scaled = abs(value) * scale
    whole = int(scaled + Fraction(1, 2))
    sign = -1 if value < 0 else 1
    return Decimal(sign * whole).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def mean(values: Iterable[int | Decimal], places: int) -> Decimal:
    """The rounded mean of ``values``; ValueError when there are none."""
    items = [Fraction(v) for v in values]
    if not items:
        raise ValueError("mean of no values")
    return round_half_up(sum(items, Fraction(0)) / len(items), places)


def weighted(value: Decimal, weight: Decimal, places: int) -> Decimal:
    """``value × weight`` rounded."""
    return round_half_up(Fraction(value) * Fraction(weight), places)


def fixed(value: int | Decimal, places: int) -> Decimal:
    """A value written with exactly ``places`` decimals (``29`` -> ``29.0000``)."""
    return round_half_up(Fraction(value), places)
