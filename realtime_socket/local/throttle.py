"""The stage's throttling: a token bucket (burst = capacity, rate = refill per second).

API Gateway throttles with a token bucket too:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
"""

from __future__ import annotations

from realtime_socket.local.clock import Clock

__all__ = ["TokenBucket"]


class TokenBucket:
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
