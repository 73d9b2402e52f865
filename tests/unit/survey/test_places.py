"""A survey is opened for a rural district of the KATO classifier, in the region named
(issue 13, item 5): a code that is no such place was accepted and could never be answered."""

from __future__ import annotations

import pytest

from services.survey.entrypoints.http import ensure_known_place
from shared.errors import DomainError


def test_a_rural_district_of_its_region_is_a_place_to_survey() -> None:
    ensure_known_place("111033000", "110000000")


@pytest.mark.parametrize(
    ("settlement", "region", "code"),
    [
        ("999999999", "110000000", "unknown_settlement"),
        ("111000000", "110000000", "unknown_settlement"),  # a district, not a rural district
        ("111033100", "110000000", "unknown_settlement"),  # a village of it
        ("111033000", "190000000", "settlement_not_in_region"),
    ],
)
def test_a_code_that_is_no_rural_district_of_the_region_is_refused(
    settlement: str, region: str, code: str
) -> None:
    with pytest.raises(DomainError) as refused:
        ensure_known_place(settlement, region)
    assert (refused.value.status, refused.value.code) == (422, code)
