"""Ids the services mint: UUIDv7 (time-ordered, as ../API.md asks) and UUIDv4, from the
operating system's random source read a page at a time (a hot path mints two ids per
resident's answer; one ``getrandom`` call per id was a measurable part of it)."""

from __future__ import annotations

import os
import time
from uuid import UUID

_PAGE = 4096


class _Random:
    """``os.urandom`` bytes, read ahead a page at a time (same source, fewer system calls).
    A forked child drops what its parent read ahead (``os.register_at_fork``)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._at = 0

    def take(self, n: int) -> bytes:
        if self._at + n > len(self._buffer):
            self._buffer, self._at = os.urandom(max(_PAGE, n)), 0
        start, self._at = self._at, self._at + n
        return self._buffer[start : self._at]

    def forget(self) -> None:
        self._buffer, self._at = b"", 0


_random = _Random()
os.register_at_fork(after_in_child=_random.forget)


def uuid4() -> UUID:
    """A random UUID (version 4)."""
    return UUID(bytes=_random.take(16), version=4)


def uuid7() -> UUID:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(_random.take(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return UUID(int=value)
