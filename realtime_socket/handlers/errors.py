"""Exceptions raised by the handlers.

Hierarchy::

    HandlerError
    ├── BadRequest            the client sent something we refuse (answered, never retried)
    ├── NotConnected          the caller's connection row is gone (TTL or disconnect race)
    └── AuthError             the token is missing or invalid (the authorizer answers 401)
"""

from __future__ import annotations

__all__ = ["AuthError", "BadRequest", "HandlerError", "NotConnected"]


class HandlerError(Exception):
    """Base class: every error a handler raises on purpose."""

    code = "internal_error"


class BadRequest(HandlerError):
    """A client input that is refused with a documented error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotConnected(HandlerError):
    """The connection that sent the event has no row in the table any more."""

    code = "not_connected"


class AuthError(HandlerError):
    """The token is absent or fails verification; ``reason`` goes to the log only."""

    code = "unauthorized"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
