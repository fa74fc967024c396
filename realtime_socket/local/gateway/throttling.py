"""The stage's throttling: a token bucket (burst = capacity, rate = refill per second).

API Gateway throttles a stage's connects and messages together with a token bucket:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
A throttled handshake is answered 429; a throttled message gets a ``Too Many Requests``
frame (see ``frames``).
"""

from __future__ import annotations

from collections.abc import Mapping

from realtime_socket.local.clock import Clock
from realtime_socket.local.model import LocalApi

__all__ = ["TokenBucket", "stage_buckets"]


class TokenBucket:
    """``burst`` tokens at most, refilled at ``rate`` per second of ``clock``."""

    def __init__(self, rate: float, burst: float, clock: Clock) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock.now()

    def take(self) -> bool:
        """Take one token; False means the request is throttled (429)."""
        now = self._clock.now()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


def stage_buckets(apis: Mapping[str, LocalApi], clock: Clock) -> dict[str, TokenBucket]:
    """One bucket per API (by namespace), with its stage's rate and burst."""
    return {
        namespace: TokenBucket(rate=api.rate_limit, burst=api.burst_limit, clock=clock)
        for namespace, api in apis.items()
    }
