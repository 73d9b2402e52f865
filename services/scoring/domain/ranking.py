"""Ranking candidates and finding the cut-off (§3: "adding up the points … and ranking").

Equal totals share a rank (1, 2, 2, 4). A cut-off of ``seats`` either falls between two totals
or inside a group of equal totals; only that group is a tie that needs settling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Cut:
    """Who is certainly in, and the tie across the cut-off with the seats it competes for."""

    selected: tuple[str, ...]
    tied: tuple[str, ...] = ()
    seats_left: int = 0


def order(totals: Mapping[str, Decimal]) -> tuple[str, ...]:
    """Best first; equal totals by id, so the order is the same on every replay."""
    return tuple(sorted(totals, key=lambda cid: (-totals[cid], cid)))


def ranks(totals: Mapping[str, Decimal]) -> dict[str, int]:
    """Competition ranking: one plus the number of strictly better totals."""
    values = sorted(totals.values(), reverse=True)
    return {cid: 1 + sum(1 for v in values if v > total) for cid, total in totals.items()}


def cut(totals: Mapping[str, Decimal], seats: int) -> Cut:
    """The best ``seats``; when equal totals straddle the cut-off, they are the tie."""
    best = order(totals)
    if len(best) <= seats:
        return Cut(selected=best)
    boundary = totals[best[seats - 1]]
    if totals[best[seats]] != boundary:
        return Cut(selected=best[:seats])
    above = tuple(c for c in best if totals[c] > boundary)
    tied = tuple(c for c in best if totals[c] == boundary)
    return Cut(selected=above, tied=tied, seats_left=seats - len(above))
