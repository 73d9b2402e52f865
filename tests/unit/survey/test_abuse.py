"""Rate limits (429 with Retry-After) and burst flags (flag, never drop), on a fake clock."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from services.survey.domain.abuse import (
    BURST_FROM_SOURCE,
    IDENTICAL_ANSWERS,
    BurstDetector,
    RateLimited,
    RateLimiter,
    take,
)
from services.survey.domain.rubric import BurstRule, TokenBucketRule

PER_IP = TokenBucketRule(capacity=3, refill_per_minute=6)  # one token every 10 s
PER_SURVEY = TokenBucketRule(capacity=5, refill_per_minute=60)
SURVEY = "survey-a"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def tick(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def test_a_fresh_bucket_allows_capacity_requests_then_says_how_long_to_wait() -> None:
    bucket = None
    for _ in range(3):
        bucket, wait = take(bucket, PER_IP, 0.0)
        assert wait == 0
    assert bucket is not None
    _, wait = take(bucket, PER_IP, 0.0)
    assert wait == 10
    _, wait = take(bucket, PER_IP, 4.0)
    assert wait == 6


def test_over_the_ip_limit_is_429_rate_limited_with_retry_after() -> None:
    clock, limiter = FakeClock(), RateLimiter(PER_IP, PER_SURVEY)
    for _ in range(3):
        limiter.check(ip="10.0.0.1", survey_id=SURVEY, now=clock.now)
    with pytest.raises(RateLimited) as caught:
        limiter.check(ip="10.0.0.1", survey_id=SURVEY, now=clock.tick(1))
    error = caught.value
    assert (error.code, error.status, error.retry_after) == ("rate_limited", 429, 9)
    assert error.extra == {"retry_after": 9}


def test_the_bucket_refills_with_time() -> None:
    clock, limiter = FakeClock(), RateLimiter(PER_IP, PER_SURVEY)
    for _ in range(3):
        limiter.check(ip="10.0.0.1", survey_id=SURVEY, now=clock.now)
    limiter.check(ip="10.0.0.1", survey_id=SURVEY, now=clock.tick(10))
    with pytest.raises(RateLimited):
        limiter.check(ip="10.0.0.1", survey_id=SURVEY, now=clock.tick(1))


def test_ips_are_limited_separately_and_the_survey_as_a_whole() -> None:
    clock, limiter = FakeClock(), RateLimiter(PER_IP, PER_SURVEY)
    for ip in ("a", "a", "a", "b", "b"):
        limiter.check(ip=ip, survey_id=SURVEY, now=clock.now)
    with pytest.raises(RateLimited) as caught:
        limiter.check(ip="c", survey_id=SURVEY, now=clock.now)
    assert caught.value.retry_after == 1
    limiter.check(ip="c", survey_id="survey-b", now=clock.now)


def test_a_refused_request_consumes_no_token() -> None:
    clock, limiter = (
        FakeClock(),
        RateLimiter(PER_IP, TokenBucketRule(capacity=1, refill_per_minute=1)),
    )
    limiter.check(ip="a", survey_id=SURVEY, now=clock.now)
    with pytest.raises(RateLimited):
        limiter.check(ip="b", survey_id=SURVEY, now=clock.now)  # survey bucket empty
    for survey in ("other-1", "other-2", "other-3"):  # b still has all 3 of its tokens
        limiter.check(ip="b", survey_id=survey, now=clock.now)


def test_sweep_forgets_refilled_buckets_without_changing_behaviour() -> None:
    clock, limiter = FakeClock(), RateLimiter(PER_IP, PER_SURVEY)
    limiter.check(ip="a", survey_id=SURVEY, now=clock.now)
    limiter.sweep(clock.tick(3600))
    assert limiter._buckets == {}
    for _ in range(3):
        limiter.check(ip="a", survey_id=SURVEY, now=clock.now)


BURST = BurstRule(window_seconds=60, max_per_source=3, max_identical=4)


def send(detector: BurstDetector, now: float, source: str = "ip-1", value: int = 0, rid=None):  # type: ignore[no-untyped-def]
    rid = rid or uuid4()
    answers = [value] * 16
    return rid, detector.observe(
        survey_id=SURVEY, source=source, response_id=rid, answers=answers, now=now
    )


def test_more_than_k_sends_from_one_source_within_w_flag_the_burst() -> None:
    detector, clock = BurstDetector(BURST), FakeClock()
    first = [send(detector, clock.tick(5), value=v) for v in (1, 2, 3)]
    assert all(verdict.reasons == () and verdict.earlier == () for _, verdict in first)
    _, fourth = send(detector, clock.tick(5), value=4)
    assert fourth.reasons == (BURST_FROM_SOURCE,)
    assert [rid for rid, _ in fourth.earlier] == [rid for rid, _ in first]
    assert all(reasons == (BURST_FROM_SOURCE,) for _, reasons in fourth.earlier)
    _, fifth = send(detector, clock.tick(5), value=5)
    assert fifth.reasons == (BURST_FROM_SOURCE,) and fifth.earlier == ()  # each flagged once


def test_sends_spread_beyond_the_window_are_not_flagged() -> None:
    detector, clock = BurstDetector(BURST), FakeClock()
    verdicts = [send(detector, clock.tick(30), value=v)[1] for v in range(10)]
    assert all(v.reasons == () for v in verdicts)


def test_identical_vectors_from_many_sources_in_a_burst_are_flagged() -> None:
    detector, clock = BurstDetector(BURST), FakeClock()
    quiet = [send(detector, clock.tick(1), source=f"ip-{i}", value=10)[1] for i in range(4)]
    assert all(v.reasons == () for v in quiet)
    _, fifth = send(detector, clock.tick(1), source="ip-9", value=10)
    assert fifth.reasons == (IDENTICAL_ANSWERS,)
    assert len(fifth.earlier) == 4
    _, other = send(detector, clock.tick(1), source="ip-10", value=9)
    assert other.reasons == ()


def test_both_reasons_can_apply_to_one_response() -> None:
    rule = BurstRule(window_seconds=60, max_per_source=2, max_identical=2)
    detector, clock = BurstDetector(rule), FakeClock()
    for _ in range(2):
        send(detector, clock.tick(1), value=10)
    _, third = send(detector, clock.tick(1), value=10)
    assert third.reasons == (BURST_FROM_SOURCE, IDENTICAL_ANSWERS)


def test_sweep_drops_stale_windows() -> None:
    detector, clock = BurstDetector(BURST), FakeClock()
    send(detector, clock.now)
    detector.sweep(clock.tick(61))
    assert detector._sources == {} and detector._vectors == {} and detector._flagged == set()


def test_flags_are_per_survey() -> None:
    detector, clock = BurstDetector(BURST), FakeClock()
    for survey in ("s1", "s2", "s3", "s4"):
        verdict = detector.observe(
            survey_id=survey, source="ip", response_id=UUID(int=1), answers=[1], now=clock.tick(1)
        )
        assert verdict.reasons == ()
