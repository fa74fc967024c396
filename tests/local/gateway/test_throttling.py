"""The stage's token bucket."""

from __future__ import annotations

from realtime_socket.local.clock import ManualClock
from realtime_socket.local.gateway.throttling import TokenBucket, stage_buckets
from tests.local.gateway.factories import api


def test_token_bucket_burst_and_refill():
    """The burst is spent at once, then tokens come back at the rate, never past the burst."""
    clock = ManualClock(0)
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.5)
    assert bucket.take() and not bucket.take()
    clock.advance(100)
    assert sum(bucket.take() for _ in range(10)) == 3


def test_each_api_has_its_own_bucket_with_its_stage_limits():
    """Throttling one namespace leaves another untouched."""
    chat, other = api(namespace="chat"), api(namespace="other")
    chat.burst_limit, chat.rate_limit = 1, 0
    buckets = stage_buckets({"chat": chat, "other": other}, ManualClock(0))
    assert (buckets["chat"].burst, buckets["other"].burst) == (1, 5000)
    assert buckets["chat"].take() and not buckets["chat"].take()
    assert buckets["other"].take()
