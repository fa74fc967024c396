"""Typed accessors for API Gateway WebSocket proxy events.

Event shape: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "Event",
    "authorizer_context",
    "body",
    "connection_id",
    "header",
    "query_param",
    "response",
    "route_key",
    "sender_sub",
]

Event = Mapping[str, Any]


def _ctx(event: Event) -> Mapping[str, Any]:
    ctx = event.get("requestContext") or {}
    return ctx if isinstance(ctx, Mapping) else {}


def connection_id(event: Event) -> str:
    return str(_ctx(event).get("connectionId", ""))


def route_key(event: Event) -> str:
    return str(_ctx(event).get("routeKey", ""))


def authorizer_context(event: Event) -> Mapping[str, Any]:
    auth = _ctx(event).get("authorizer") or {}
    return auth if isinstance(auth, Mapping) else {}


def sender_sub(event: Event) -> str | None:
    """The verified subject the authorizer put in the connection's context, if any."""
    auth = authorizer_context(event)
    sub = auth.get("sub") or auth.get("principalId")
    return str(sub) if sub else None


def query_param(event: Event, name: str) -> str | None:
    params = event.get("queryStringParameters") or {}
    value = params.get(name) if isinstance(params, Mapping) else None
    return None if value is None else str(value)


def header(event: Event, name: str) -> str | None:
    """Header lookup; HTTP header names are case-insensitive (RFC 9110 §5.1)."""
    headers = event.get("headers") or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return str(value)
    return None


def body(event: Event) -> str | None:
    value = event.get("body")
    if value is None:
        return None
    if event.get("isBase64Encoded"):
        import base64

        try:
            return base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
    return str(value)


def response(
    status: int, body_text: str | None = None, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Lambda proxy integration response."""
    result: dict[str, Any] = {"statusCode": status}
    if body_text is not None:
        result["body"] = body_text
    if headers:
        result["headers"] = dict(headers)
    return result
