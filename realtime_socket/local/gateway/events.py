"""The Lambda events API Gateway builds for ``$connect``, messages and ``$disconnect``.

Shapes follow AWS's WebSocket event format: a ``requestContext`` with the route, event type,
connection and timing fields; headers and the query string (with their ``multiValue``
twins) on ``$connect``; the close code and reason on ``$disconnect``. See
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Sequence
from typing import Any

from realtime_socket.local.gateway.connection import ConnectionInfo, new_connection_id

__all__ = ["authorizer_event", "connect_event", "disconnect_event", "message_event"]

Pairs = Sequence[tuple[str, str]]


def _context(
    info: ConnectionInfo, route_key: str, event_type: str, now_ms: int, **extra: Any
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": uuid.uuid4().hex,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
        "messageDirection": "IN",
        "stage": info.stage,
        "connectedAt": info.connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
        "requestId": uuid.uuid4().hex,
        "domainName": info.domain_name,
        "connectionId": info.connection_id,
        "apiId": info.api_id,
    }
    if info.authorizer:
        context["authorizer"] = dict(info.authorizer)
    context.update(extra)
    return context


def _multi(pairs: Pairs) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway keeps the last value of a repeated parameter
        multi.setdefault(key, []).append(value)
    return single, multi


def connect_event(
    info: ConnectionInfo, headers: Pairs, query: Pairs, now_ms: int
) -> dict[str, Any]:
    """The ``$connect`` event: the handshake's headers and query string."""
    single_h, multi_h = _multi(headers)
    single_q, multi_q = _multi(query)
    event: dict[str, Any] = {
        "headers": single_h,
        "multiValueHeaders": multi_h,
        "requestContext": _context(info, "$connect", "CONNECT", now_ms),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = single_q
        event["multiValueQueryStringParameters"] = multi_q
    return event


def authorizer_event(
    info: ConnectionInfo, headers: Pairs, query: Pairs, now_ms: int, method_arn: str
) -> dict[str, Any]:
    """A REQUEST authorizer's event: the ``$connect`` event plus ``methodArn``."""
    event = connect_event(info, headers, query, now_ms)
    event["requestContext"].pop("authorizer", None)
    event.update(type="REQUEST", methodArn=method_arn, stageVariables={})
    event.setdefault("queryStringParameters", {})
    return event


def message_event(
    info: ConnectionInfo, route_key: str, body: str | bytes, now_ms: int
) -> dict[str, Any]:
    """A message's event; binary frames arrive base64-encoded."""
    return {
        "requestContext": _context(
            info, route_key, "MESSAGE", now_ms, messageId=new_connection_id()
        ),
        "body": base64.b64encode(body).decode() if isinstance(body, bytes) else body,
        "isBase64Encoded": isinstance(body, bytes),
    }


def disconnect_event(
    info: ConnectionInfo, status_code: int, reason: str, now_ms: int
) -> dict[str, Any]:
    """The ``$disconnect`` event, with the close code and reason."""
    return {
        "headers": {},
        "multiValueHeaders": {},
        "requestContext": _context(
            info,
            "$disconnect",
            "DISCONNECT",
            now_ms,
            disconnectStatusCode=status_code,
            disconnectReason=reason,
        ),
        "isBase64Encoded": False,
    }
