"""The client's timing rules, in one place, with API Gateway's numbers as defaults."""

from __future__ import annotations

from dataclasses import dataclass

from realtime_socket.contract import IDLE_TIMEOUT_SECONDS, MAX_CONNECTION_SECONDS

__all__ = ["ClientOptions"]


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """How the client keeps its connection; tests shrink the times to seconds."""

    #: ``{"action":"ping"}`` this often: API Gateway closes a connection idle for 10 minutes.
    ping_interval: float = IDLE_TIMEOUT_SECONDS / 2
    #: Reconnect (make-before-break) when the connection is this old: API Gateway closes
    #: every connection at 2 hours, so the default leaves 5 minutes.
    max_age: float = MAX_CONNECTION_SECONDS - 300
    #: With a token provider, also reconnect this long before the token's ``exp``: the
    #: server closes a connection whose token expired.
    expiry_margin: float = 60.0
    #: Backoff with full jitter after a drop: attempt n waits uniform(0, min(cap, base*2**n)).
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: How long a call (subscribe, history, send's echo...) waits for its answer.
    answer_timeout: float = 30.0
    #: ``room_busy`` (nothing stored) is sent again this many times before it is raised.
    busy_retries: int = 5
    #: Consecutive 401/403 handshakes tolerated when a token provider may bring a new token.
    auth_retries: int = 3
    #: The WebSocket handshake's own timeout.
    open_timeout: float = 10.0
    #: WebSocket ping/pong (control frames) this often: notices a dead TCP connection that
    #: would otherwise look open until the OS gives up. None turns it off.
    keepalive: float | None = 20.0

    def __post_init__(self) -> None:
        positive = ("ping_interval", "max_age", "backoff_base", "answer_timeout", "open_timeout")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.backoff_cap < self.backoff_base:
            raise ValueError("backoff_cap must be at least backoff_base")
        if self.busy_retries < 0 or self.auth_retries < 0 or self.expiry_margin < 0:
            raise ValueError("busy_retries, auth_retries and expiry_margin must be 0 or more")
