"""Tailers of one store share its decoded events (shared.consumers.Recent)."""

from __future__ import annotations

from typing import Any

from shared.consumers import Recent


class Source:
    """An append-only log whose reads are counted."""

    def __init__(self, size: int) -> None:
        self.size, self.reads = size, []

    async def read_all(self, after: int = 0, limit: int = 1000) -> list[Any]:
        self.reads.append((after, limit))
        return [Event(p) for p in range(after + 1, min(self.size, after + limit) + 1)]


class Event:
    def __init__(self, position: int) -> None:
        self.global_position = position


async def test_a_second_tailer_gets_the_events_the_first_read_without_reading_them_again() -> None:
    source = Source(size=10)
    recent = Recent(source)  # type: ignore[arg-type]
    first = await recent.read_all(after=0, limit=4)
    again = await recent.read_all(after=0, limit=4)
    assert [e.global_position for e in first] == [1, 2, 3, 4]
    assert again == first and [a is b for a, b in zip(again, first, strict=True)] == [True] * 4
    assert source.reads == [(0, 4)]


async def test_what_is_past_the_known_events_is_read_from_the_store_and_joined() -> None:
    source = Source(size=10)
    recent = Recent(source)  # type: ignore[arg-type]
    await recent.read_all(after=0, limit=3)
    found = await recent.read_all(after=1, limit=5)
    assert [e.global_position for e in found] == [2, 3, 4, 5, 6]
    assert source.reads == [(0, 3), (3, 3)]
    assert [e.global_position for e in await recent.read_all(after=9, limit=5)] == [10]


async def test_only_the_newest_events_are_kept() -> None:
    source = Source(size=100)
    recent = Recent(source, keep=10)  # type: ignore[arg-type]
    await recent.read_all(after=0, limit=50)
    source.reads.clear()
    assert [e.global_position for e in await recent.read_all(after=45, limit=3)] == [46, 47, 48]
    assert source.reads == []
    assert [e.global_position for e in await recent.read_all(after=0, limit=2)] == [1, 2]
    assert source.reads == [(0, 2)]
