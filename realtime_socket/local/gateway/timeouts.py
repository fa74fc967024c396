"""When API Gateway closes a connection by itself: idle too long, or open too long.

A connection is closed (1001, ``Going away``) after 10 minutes without a message from the
client, and in any case 2 hours after it connected; see the limits table:
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_socket.contract import IDLE_TIMEOUT_SECONDS, MAX_CONNECTION_SECONDS
from realtime_socket.local.gateway.actions import Close

__all__ = ["GOING_AWAY", "Timeouts"]

GOING_AWAY = Close(1001, "Going away")


@dataclass(frozen=True)
class Timeouts:
    """The two limits, in seconds; the defaults are API Gateway's."""

    idle_seconds: float = IDLE_TIMEOUT_SECONDS
    max_seconds: float = MAX_CONNECTION_SECONDS

    def expired(self, connected_at_ms: int, last_active_ms: int, now_ms: int) -> Close | None:
        """The close for a connection past either limit at ``now_ms``, else None."""
        idle = (now_ms - last_active_ms) / 1000
        age = (now_ms - connected_at_ms) / 1000
        if idle >= self.idle_seconds or age >= self.max_seconds:
            return GOING_AWAY
        return None
