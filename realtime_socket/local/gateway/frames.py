"""The frames API Gateway itself sends a client, rather than a route's integration.

- ``Internal server error`` when the integration fails or times out (the connection stays);
- ``Too Many Requests`` when the stage throttles a message;
- ``Forbidden`` when no route matches and there is no ``$default``.
"""

from __future__ import annotations

import json
import uuid

from realtime_socket.local.gateway.connection import ConnectionInfo

__all__ = ["forbidden_frame", "internal_error_frame", "throttled_frame"]


def _request_id() -> str:
    return uuid.uuid4().hex[:16] + "="


def internal_error_frame(info: ConnectionInfo) -> str:
    """What API Gateway sends when the integration fails or times out."""
    return json.dumps(
        {
            "message": "Internal server error",
            "connectionId": info.connection_id,
            "requestId": _request_id(),
        }
    )


def throttled_frame(info: ConnectionInfo) -> str:
    """What API Gateway sends for a message over the stage's rate or burst."""
    return json.dumps(
        {
            "message": "Too Many Requests",
            "connectionId": info.connection_id,
            "requestId": _request_id(),
        }
    )


def forbidden_frame(info: ConnectionInfo) -> str:
    """What API Gateway sends for a message no route takes (no ``$default``)."""
    return json.dumps({"message": "Forbidden", "connectionId": info.connection_id})
