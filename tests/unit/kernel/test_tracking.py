"""What a consumer applied of a source: a watermark and the ranges above it."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from shared.store.tracking import Applied


def test_positions_in_order_move_the_watermark_only() -> None:
    seen = Applied()
    seen.add([1, 2, 3])
    assert (seen.through, seen.above) == (3, [])
    assert seen.has(2) and not seen.has(4)


def test_a_partition_ahead_leaves_ranges_that_fold_in_when_the_gap_closes() -> None:
    seen = Applied()
    seen.add([1, 4, 5, 7])
    assert (seen.through, seen.above) == (1, [(4, 5), (7, 7)])
    seen.add([2, 3])
    assert (seen.through, seen.above) == (5, [(7, 7)])
    seen.add([6])
    assert (seen.through, seen.above) == (7, [])


def test_the_stored_text_reads_back_the_same() -> None:
    seen = Applied()
    seen.add([1, 3, 4, 9])
    again = Applied.stored(seen.through, seen.text())
    assert again == seen and Applied.stored(0, None) == Applied()


@given(st.permutations(list(range(1, 60))), st.integers(0, 1000))
def test_any_delivery_order_with_duplicates_ends_at_the_last_position(
    order: list[int], seed: int
) -> None:
    rng = random.Random(seed)
    seen, applied = Applied(), []
    for position in order + rng.sample(order, 10):
        if not seen.has(position):
            applied.append(position)
            seen.add([position])
    assert sorted(applied) == list(range(1, 60))  # each once
    assert (seen.through, seen.above) == (59, [])
