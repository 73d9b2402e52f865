"""Protecting the online vote (§14.3) from floods and ballot stuffing, without I/O.

* :class:`RateLimiter` — token buckets per client IP and per survey: a request over either
  limit is refused with ``rate_limited`` (429) and ``Retry-After`` seconds, consuming nothing.
  Villages reach the internet through shared mobile NATs and akimat computers, so the per-IP
  bucket is generous; the burst detector catches what it lets through.
* :class:`BurstDetector` — **flags, never drops**: a response is flagged when its source sent
  more than ``max_per_source`` responses within ``window_seconds`` (``burst_from_source``), or
  when more than ``max_identical`` identical answer vectors reached the survey within that window
  (``identical_answers_in_burst``). The earlier responses of the same burst are returned too,
  once each, for :class:`~services.survey.events.ResponseFlagged`. Paper imports skip it.

Both keep state in memory; the caller passes the clock (seconds, e.g. ``time.monotonic()``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from uuid import UUID

from services.survey.domain.rubric import BurstRule, TokenBucketRule
from shared.errors import DomainError

BURST_FROM_SOURCE = "burst_from_source"
IDENTICAL_ANSWERS = "identical_answers_in_burst"
_K = TypeVar("_K")


class RateLimited(DomainError):
    """429 ``rate_limited``; ``retry_after`` (seconds) goes to the ``Retry-After`` header."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            code="rate_limited",
            detail=f"too many requests; retry in {retry_after} s",
            status=429,
            extra={"retry_after": retry_after},
        )

    @property
    def retry_after(self) -> int:
        value: int = self.extra["retry_after"]
        return value


@dataclass(frozen=True)
class Bucket:
    """Tokens left at time ``at``."""

    tokens: float
    at: float


def take(bucket: Bucket | None, rule: TokenBucketRule, now: float) -> tuple[Bucket, int]:
    """The bucket after taking one token, and 0; or the unchanged bucket and the seconds to wait."""
    if bucket is None:
        tokens = float(rule.capacity)
    else:
        elapsed = max(0.0, now - bucket.at)
        tokens = min(float(rule.capacity), bucket.tokens + elapsed * rule.refill_per_second)
    if tokens >= 1:
        return Bucket(tokens - 1, now), 0
    wait = math.ceil((1 - tokens) / rule.refill_per_second)
    return Bucket(tokens, now), max(1, wait)


class RateLimiter:
    """Token buckets keyed per client IP (all surveys) and per survey."""

    def __init__(self, per_ip: TokenBucketRule, per_survey: TokenBucketRule) -> None:
        self._rules = {"ip": per_ip, "survey": per_survey}
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def check(self, *, ip: str, survey_id: UUID | str, now: float) -> None:
        """Take a token from both buckets, or raise :class:`RateLimited` and take none."""
        keys = (("ip", ip), ("survey", str(survey_id)))
        outcomes = [(key, *take(self._buckets.get(key), self._rules[key[0]], now)) for key in keys]
        wait = max(w for _, _, w in outcomes)
        if wait:
            raise RateLimited(wait)
        for key, bucket, _ in outcomes:
            self._buckets[key] = bucket

    def sweep(self, now: float) -> None:
        """Forget buckets that have refilled (they behave as new ones); bounds memory."""
        for key, bucket in list(self._buckets.items()):
            rule = self._rules[key[0]]
            if take(bucket, rule, now)[0].tokens >= rule.capacity - 1:
                del self._buckets[key]


@dataclass(frozen=True)
class BurstVerdict:
    """Flags for this response, and earlier responses of the burst to flag after the fact."""

    reasons: tuple[str, ...] = ()
    earlier: tuple[tuple[UUID, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class _Seen:
    at: float
    response_id: UUID


@dataclass
class BurstDetector:
    """Sliding windows per (survey, source) and per (survey, answer vector)."""

    rule: BurstRule
    _sources: dict[tuple[str, str], deque[_Seen]] = field(default_factory=dict)
    _vectors: dict[tuple[str, tuple[int, ...]], deque[_Seen]] = field(default_factory=dict)
    _flagged: set[UUID] = field(default_factory=set)

    def observe(
        self,
        *,
        survey_id: UUID | str,
        source: str,
        response_id: UUID,
        answers: Sequence[int],
        now: float,
    ) -> BurstVerdict:
        """Note one send (accepted or not) and say which responses the burst flags."""
        seen = _Seen(now, response_id)
        by_source = self._window(self._sources, (str(survey_id), source), now)
        by_vector = self._window(self._vectors, (str(survey_id), tuple(answers)), now)
        by_source.append(seen)
        by_vector.append(seen)
        flagged: dict[UUID, list[str]] = {}
        for window, limit, reason in (
            (by_source, self.rule.max_per_source, BURST_FROM_SOURCE),
            (by_vector, self.rule.max_identical, IDENTICAL_ANSWERS),
        ):
            if len(window) > limit:
                for item in window:
                    flagged.setdefault(item.response_id, []).append(reason)
        mine = tuple(flagged.pop(response_id, ()))
        earlier = tuple((rid, tuple(r)) for rid, r in flagged.items() if rid not in self._flagged)
        self._flagged.update(rid for rid, _ in earlier)
        if mine:
            self._flagged.add(response_id)
        return BurstVerdict(reasons=mine, earlier=earlier)

    def sweep(self, now: float) -> None:
        """Drop windows with nothing recent; bounds memory."""
        self._sweep(self._sources, now)
        self._sweep(self._vectors, now)

    def _sweep(self, windows: dict[_K, deque[_Seen]], now: float) -> None:
        for key in list(windows):
            if not self._prune(windows[key], now):
                del windows[key]

    def _window(self, windows: dict[_K, deque[_Seen]], key: _K, now: float) -> deque[_Seen]:
        window = windows.setdefault(key, deque())
        self._prune(window, now)
        return window

    def _prune(self, window: deque[_Seen], now: float) -> deque[_Seen]:
        while window and window[0].at <= now - self.rule.window_seconds:
            self._flagged.discard(window.popleft().response_id)
        return window
