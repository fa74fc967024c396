"""The runtime's clocks: wall time, and a manual one tests drive."""

from __future__ import annotations

import time

from realtime_socket.local.clock import Clock, ManualClock


def test_the_clock_reads_wall_time_in_seconds_and_milliseconds():
    """``now`` follows ``time.time``; ``now_ms`` is the same instant in whole milliseconds."""
    before = time.time()
    now = Clock().now()
    assert before <= now <= time.time()
    clock = ManualClock(1_700_000_000.1239)
    assert clock.now_ms() == 1_700_000_000_123


def test_the_manual_clock_moves_only_when_advanced():
    """Time passing outside does not move it; ``advance`` moves it by exactly that much."""
    clock = ManualClock(100.0)
    time.sleep(0.01)
    assert clock.now() == 100.0
    clock.advance(600)
    clock.advance(0.5)
    assert clock.now() == 700.5
    assert abs(ManualClock().now() - time.time()) < 5  # starts at wall time unless told
