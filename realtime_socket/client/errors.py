"""What the client raises.

Hierarchy::

    ClientError
    ├── ServerError          an error frame ({"type":"error","code":…,"message":…})
    ├── HandshakeRefused     the server answered the handshake with an HTTP status
    │   └── AuthenticationError  401 or 403: the token does not work (and no provider fixed it)
    └── ConnectionLost       the connection dropped before an answer came (calls retry it)

A refused reconnect that no new token can fix ends the client: ``async for`` and every later
call raise it. One ``except ClientError`` catches them all.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ConnectionLost",
    "HandshakeRefused",
    "ServerError",
]


class ClientError(Exception):
    """Base class of every error the client raises."""


class ServerError(ClientError):
    """An error frame from the server: ``code`` is stable (README's errors table),
    ``message`` is for humans. Raised by the call that caused it when it can be told
    apart, else yielded by the iteration."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class HandshakeRefused(ClientError):
    """The server refused the WebSocket handshake with ``status`` (400 bad room id, 429 too
    many connections of the user, ...)."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(
            f"handshake refused with HTTP {status}" + (f": {reason}" if reason else "")
        )
        self.status = status
        self.reason = reason


class AuthenticationError(HandshakeRefused):
    """401 or 403: the token is missing, expired, or does not grant the room. Retrying with
    the same token cannot work, so the client stops instead of looping."""


class ConnectionLost(ClientError):
    """The connection closed while a call waited for its answer."""
