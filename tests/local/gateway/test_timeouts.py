"""The idle timeout and the 2-hour cap, as a function of timestamps and the clock."""

from __future__ import annotations

import pytest

from realtime_socket.local.gateway.timeouts import GOING_AWAY, Timeouts

T0 = 1_000_000


def test_defaults_are_api_gateways():
    """10 minutes idle, 2 hours in all."""
    assert (Timeouts().idle_seconds, Timeouts().max_seconds) == (10 * 60, 2 * 3600)


@pytest.mark.parametrize(
    ("idle_s", "expired"), [(0, False), (599.999, False), (600, True), (3600, True)]
)
def test_idle_timeout(idle_s, expired):
    """A connection without a message for 10 minutes is closed with 1001."""
    now = T0 + int(idle_s * 1000)
    assert Timeouts().expired(T0, T0, now) == (GOING_AWAY if expired else None)


def test_activity_resets_the_idle_timeout():
    """700 s after connecting, a message 200 s ago keeps the connection."""
    assert Timeouts().expired(T0, T0 + 500_000, T0 + 700_000) is None


def test_two_hour_cap_applies_to_active_connections():
    """Active a second ago, but connected 2 hours ago: closed all the same."""
    now = T0 + 7_200_000
    assert Timeouts().expired(T0, now - 1000, now) == GOING_AWAY
    assert Timeouts().expired(T0, now - 1000, now - 1) is None


def test_limits_can_be_shortened():
    """--idle-timeout and --max-duration take effect."""
    assert Timeouts(idle_seconds=5).expired(T0, T0, T0 + 5000) == GOING_AWAY
    assert Timeouts(max_seconds=60).expired(T0, T0 + 59_000, T0 + 60_000) == GOING_AWAY


def test_going_away_is_1001():
    """API Gateway's own closes use 1001."""
    assert (GOING_AWAY.code, GOING_AWAY.reason) == (1001, "Going away")
