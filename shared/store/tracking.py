"""What a consumer applied of one source: one record per (consumer, source service).

A source's events have gapless positions (its event store's ``global_position``) and every one
of them reaches its consumers: the tailer reads them in order, Kafka delivers each partition of
the source's topic in order but the partitions interleave. So the record is a watermark —
every position up to ``through`` applied — and the few ranges applied above it while a
partition ran ahead; when the gap closes they fold into the watermark. The record is written
in the transaction of the effect, so an effect and the record of it commit together, and a
redelivered or re-published event is recognised by its position alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Applied:
    """Positions applied: all of ``1..through`` and the ranges ``above`` (sorted, disjoint,
    each ``(first, last)`` with ``first > through + 1``)."""

    through: int = 0
    above: list[tuple[int, int]] = field(default_factory=list)

    def has(self, position: int) -> bool:
        if position <= self.through:
            return True
        return any(first <= position <= last for first, last in self.above)

    def add(self, positions: Iterable[int]) -> None:
        """Mark ``positions`` applied (already applied ones are no change)."""
        ranges = sorted([*self.above, *((p, p) for p in positions if p > self.through)])
        merged: list[tuple[int, int]] = []
        for first, last in ranges:
            if merged and first <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], last))
            else:
                merged.append((first, last))
        through = self.through
        while merged and merged[0][0] <= through + 1:
            through = max(through, merged.pop(0)[1])
        self.through, self.above = through, merged

    def text(self) -> str:
        return json.dumps([list(r) for r in self.above], separators=(",", ":"))

    @classmethod
    def stored(cls, through: int, above: str | None) -> Applied:
        return cls(int(through), [(int(a), int(b)) for a, b in json.loads(above or "[]")])
