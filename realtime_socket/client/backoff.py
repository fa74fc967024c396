"""Exponential backoff with full jitter between reconnect attempts.

"Full jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter") waits a uniform
random time in ``[0, min(cap, base * 2**attempt)]``: after an outage that dropped many clients
at once, they come back spread out instead of in synchronized waves.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """Delays for consecutive failed attempts; :meth:`reset` after a success."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= cap")

    def ceiling(self) -> float:
        """The most the next delay may be."""
        return min(self.cap, self.base * 2.0 ** min(self.attempt, 62))

    def next_delay(self) -> float:
        """The wait before the next attempt; each call counts one more failure."""
        delay = self.rng.uniform(0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
