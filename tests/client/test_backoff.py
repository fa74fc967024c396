"""Backoff: full jitter under a doubling ceiling, capped, reset by a success."""

from __future__ import annotations

import random

import pytest

from realtime_socket.client.backoff import Backoff


def test_delays_stay_under_a_doubling_ceiling_up_to_the_cap_and_reset() -> None:
    """base 0.5, cap 4: ceilings 0.5, 1, 2, 4, 4; every delay within [0, ceiling]; spread
    out (full jitter, not the ceiling itself); reset starts over at 0.5."""
    backoff = Backoff(0.5, 4.0, rng=random.Random(7))  # noqa: S311 - jitter, not secrets
    ceilings, delays = [], []
    for _ in range(5):
        ceilings.append(backoff.ceiling())
        delays.append(backoff.next_delay())
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == 5 and delays != ceilings
    backoff.reset()
    assert backoff.ceiling() == 0.5


def test_a_thousand_failures_do_not_overflow() -> None:
    """Attempt 1000 waits at most the cap (no float overflow from 2**1000)."""
    backoff = Backoff(0.5, 30.0, attempt=1000)
    assert backoff.ceiling() == 30.0


def test_invalid_bounds_are_refused() -> None:
    """A cap below the base is a configuration error, raised at once."""
    with pytest.raises(ValueError, match="base <= cap"):
        Backoff(1.0, 0.5)
