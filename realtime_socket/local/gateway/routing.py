"""What happens to a frame from a client, and to the integration's answer.

API Gateway evaluates the API's route selection expression (``$request.body.action``) on a
JSON text message and takes the route with that key; anything else (non-JSON, binary, a
missing field, an unknown key) goes to ``$default``, and without ``$default`` the client
gets a ``Forbidden`` frame. The integration's body goes back only when the route has a route
response; a failure or timeout sends ``Internal server error`` and keeps the connection.
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from realtime_socket.contract import MAX_MESSAGE_BYTES
from realtime_socket.local.gateway import events, frames
from realtime_socket.local.gateway.actions import Close, Invoke, Outcome, Reply
from realtime_socket.local.gateway.connection import Connection
from realtime_socket.local.gateway.throttling import TokenBucket

__all__ = ["MESSAGE_TOO_BIG", "disconnect", "integration_response", "route", "select_route"]

#: A message over 128 KB (the WebSocket layer also enforces 32 KB per frame).
MESSAGE_TOO_BIG = Close(1009, "Message too big")


def select_route(expression: str, body: str | bytes, routes: Sequence[str]) -> str:
    """The route key for a message: the selection expression's value if such a route
    exists, else ``$default`` (non-JSON, non-objects and missing fields included)."""
    field_path = expression.removeprefix("$request.body.").split(".")
    if isinstance(body, bytes):
        return "$default"
    try:
        value: Any = json.loads(body)
    except ValueError:
        return "$default"
    for part in field_path:
        if not isinstance(value, dict) or part not in value:
            return "$default"
        value = value[part]
    if isinstance(value, str) and value in routes and not value.startswith("$"):
        return value
    return "$default"


def _size(message: str | bytes) -> int:
    return len(message) if isinstance(message, bytes) else len(message.encode())


def route(
    connection: Connection, message: str | bytes, now_ms: int, throttle: TokenBucket
) -> Invoke | Reply | Close:
    """The action for one message from the client; the message counts as activity."""
    if _size(message) > MAX_MESSAGE_BYTES:
        return MESSAGE_TOO_BIG
    api, info = connection.api, connection.info
    info.last_active_ms = now_ms
    if not throttle.take():
        return Reply(frames.throttled_frame(info))
    key = select_route(api.route_selection_expression, message, list(api.routes))
    chosen = api.routes.get(key) or api.routes.get("$default")
    if chosen is None:
        return Reply(frames.forbidden_frame(info))
    event = events.message_event(info, chosen.key, message, now_ms)
    return Invoke(chosen.function.name, chosen.key, event, reply=chosen.reply)


def integration_response(connection: Connection, invoke: Invoke, outcome: Outcome) -> Reply | None:
    """What the client gets back from a message's invocation, if anything."""
    if outcome.error is not None:
        return Reply(frames.internal_error_frame(connection.info))
    result = outcome.result
    if invoke.reply and isinstance(result, dict) and "body" in result:
        return Reply(str(result["body"]))
    return None


def disconnect(connection: Connection, code: int, reason: str, now_ms: int) -> Invoke | None:
    """The ``$disconnect`` invocation for a connection that is gone, if the API has the route.

    ``code`` and ``reason`` are the socket's; a close the gateway made itself (a timeout,
    a DELETE) is reported instead.
    """
    chosen = connection.api.routes.get("$disconnect")
    if chosen is None:
        return None
    if connection.closed_by_gateway is not None:
        code, reason = connection.closed_by_gateway.code, connection.closed_by_gateway.reason
    event = events.disconnect_event(connection.info, code, reason, now_ms)
    return Invoke(chosen.function.name, "$disconnect", event)
