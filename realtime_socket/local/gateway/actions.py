"""What the gateway core asks the I/O layer to do, and what it needs back.

The core returns these; ``websocket_endpoint.py`` and ``management.py`` perform them. None
of them holds a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Accept", "Close", "Invoke", "Outcome", "Reject", "Reply"]


@dataclass(frozen=True)
class Accept:
    """Complete the handshake, answering ``Sec-WebSocket-Protocol`` with ``subprotocol``."""

    subprotocol: str | None = None


@dataclass(frozen=True)
class Reject:
    """Refuse the handshake with an HTTP ``status`` and a plain-text ``body``.

    ``reason`` is for the runtime's log only; the client never sees it.
    """

    status: int
    body: str
    reason: str | None = None


@dataclass(frozen=True)
class Invoke:
    """Invoke ``function`` (a :class:`LocalFunction` name) with ``event``.

    ``route`` names the invocation in the log; ``reply`` says the route has a route
    response, so the integration's ``body`` goes back to the client.
    """

    function: str
    route: str
    event: dict[str, Any]
    reply: bool = False


@dataclass(frozen=True)
class Reply:
    """Send ``frame`` to the connection's client."""

    frame: str


@dataclass(frozen=True)
class Close:
    """Close the connection with a WebSocket close ``code`` and ``reason``."""

    code: int
    reason: str


class Outcome(Protocol):
    """An invocation's outcome as the core reads it: Lambda's result or its error shape."""

    @property
    def result(self) -> Any: ...

    @property
    def error(self) -> Mapping[str, Any] | None: ...
