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
from collections.abc import Iterable, Sequence
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
class _Window:
    """Send times within the window, and the sends not flagged yet (at most the limit: once
    the window is over it, every new send is flagged as it comes)."""

    times: deque[float] = field(default_factory=deque)
    pending: deque[_Seen] = field(default_factory=deque)


@dataclass
class BurstDetector:
    """Sliding windows per (survey, source) and per (survey, answer vector); O(1) per send
    however large the burst."""

    rule: BurstRule
    _sources: dict[tuple[str, str], _Window] = field(default_factory=dict)
    _vectors: dict[tuple[str, tuple[int, ...]], _Window] = field(default_factory=dict)
    _flagged: set[UUID] = field(default_factory=set)  # flagged after the fact, still recent
    _flagged_at: deque[_Seen] = field(default_factory=deque)

    def forget(self, response_ids: Iterable[UUID], now: float) -> None:
        """Sends that did not become responses (refused, replayed, failed): never flag them
        after the fact (they still count towards the burst)."""
        for rid in response_ids:
            if rid not in self._flagged:
                self._flagged.add(rid)
                self._flagged_at.append(_Seen(now, rid))

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
        self._forget_flagged(now)
        by_source = self._window(self._sources, (str(survey_id), source), now)
        by_vector = self._window(self._vectors, (str(survey_id), tuple(answers)), now)
        reasons: list[str] = []
        earlier: dict[UUID, list[str]] = {}
        for window, limit, reason in (
            (by_source, self.rule.max_per_source, BURST_FROM_SOURCE),
            (by_vector, self.rule.max_identical, IDENTICAL_ANSWERS),
        ):
            window.times.append(now)
            if len(window.times) > limit:
                reasons.append(reason)
                for item in window.pending:
                    if item.response_id not in self._flagged:
                        earlier.setdefault(item.response_id, []).append(reason)
                window.pending.clear()
        if not reasons:
            seen = _Seen(now, response_id)
            by_source.pending.append(seen)
            by_vector.pending.append(seen)
        for rid in earlier:
            self._flagged.add(rid)
            self._flagged_at.append(_Seen(now, rid))
        return BurstVerdict(
            reasons=tuple(reasons), earlier=tuple((rid, tuple(r)) for rid, r in earlier.items())
        )

    def sweep(self, now: float) -> None:
        """Drop windows with nothing recent; bounds memory."""
        self._forget_flagged(now)
        self._sweep(self._sources, now)
        self._sweep(self._vectors, now)

    def _sweep(self, windows: dict[_K, _Window], now: float) -> None:
        for key in list(windows):
            if not self._prune(windows[key], now).times:
                del windows[key]

    def _window(self, windows: dict[_K, _Window], key: _K, now: float) -> _Window:
        window = windows.get(key)
        if window is None:
            window = windows[key] = _Window()
        return self._prune(window, now)

    def _prune(self, window: _Window, now: float) -> _Window:
        horizon = now - self.rule.window_seconds
        while window.times and window.times[0] <= horizon:
            window.times.popleft()
        while window.pending and window.pending[0].at <= horizon:
            window.pending.popleft()
        return window

    def _forget_flagged(self, now: float) -> None:
        horizon = now - self.rule.window_seconds
        while self._flagged_at and self._flagged_at[0].at <= horizon:
            self._flagged.discard(self._flagged_at.popleft().response_id)
