"""The §14.3 result: responses, mean per criterion and in total, deterministically rounded."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from services.survey.domain.results import Tally, mean, result_of


def tally_of(*vectors: list[int]) -> Tally:
    tally = Tally.empty()
    for vector in vectors:
        tally = tally.add(vector)
    return tally


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [
        (29, 4, "7.2500"),
        (2, 3, "0.6667"),
        (1, 3, "0.3333"),
        (1, 32, "0.0313"),  # 0.03125: half-up, not banker's rounding (0.0312)
        (3, 32, "0.0938"),  # 0.09375
        (160, 1, "160.0000"),
        (0, 5, "0.0000"),
    ],
)
def test_means_round_half_up_to_four_decimals(total: int, count: int, expected: str) -> None:
    assert str(mean(total, count)) == expected


def test_result_has_count_mean_per_criterion_and_mean_total() -> None:
    result = result_of(tally_of([10, 0, 5], [9, 1, 5], [8, 1, 6]))
    assert result.responses == 3
    assert result.means == (Decimal("9.0000"), Decimal("0.6667"), Decimal("5.3333"))
    assert result.mean_total == Decimal("15.0000")


def test_mean_total_comes_from_the_exact_sum_not_from_rounded_means() -> None:
    result = result_of(tally_of([1, 1, 1], [0, 0, 0], [0, 0, 0]))
    assert result.means == (Decimal("0.3333"),) * 3
    assert result.mean_total == Decimal("1.0000")  # not 0.9999


def test_no_response_means_no_result_not_zero() -> None:
    result = result_of(Tally.empty())
    assert (result.responses, result.means, result.mean_total) == (0, None, None)


def test_flagged_responses_still_count_and_are_reported() -> None:
    flagged = uuid4()
    tally = tally_of([10, 10], [0, 0]).flag(flagged).flag(flagged)
    result = result_of(tally)
    assert (result.responses, result.flagged) == (2, 1)
    assert result.mean_total == Decimal("10.0000")


def test_means_serialise_as_fixed_point_strings() -> None:
    payload = result_of(tally_of([7, 3], [8, 3])).model_dump(mode="json")
    assert payload == {
        "responses": 2,
        "flagged": 0,
        "means": ["7.5000", "3.0000"],
        "mean_total": "10.5000",
    }


def test_a_vector_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError):
        tally_of([1, 2, 3], [1, 2])
