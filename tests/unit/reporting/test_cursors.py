"""The audit trail's cursor (issue 13, item 4): a position that is no BIGINT (non-ASCII
digits, too many digits) reads as no position, never a 500."""

from __future__ import annotations

import pytest

from services.reporting.projections import audit


@pytest.mark.parametrize("position", ["²", "٣", "1" * 5000, "9" * 20, "x", ""])
def test_a_position_that_is_no_bigint_reads_as_none(position: str) -> None:
    assert audit.parse_cursor(f"nominations:{position}") == ("nominations", -1)
