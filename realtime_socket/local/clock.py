"""Clocks: the real one, and one tests can drive (idle timeouts, throttling, TTLs)."""

from __future__ import annotations

import threading
import time

__all__ = ["Clock", "ManualClock"]


class Clock:
    """Wall-clock seconds since the epoch."""

    def now(self) -> float:
        return time.time()

    def now_ms(self) -> int:
        return int(self.now() * 1000)


class ManualClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
