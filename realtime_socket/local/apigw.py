"""API Gateway WebSocket semantics, sans-I/O: route selection, event shapes, answers.

Each function takes data and returns data; ``server.py`` feeds it bytes and sockets.
Sources: https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html
and the limits in ../shared/reference/AWS_FACTS.md.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CLIENT_BUFFER_BYTES",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "AuthorizerDecision",
    "ConnectionInfo",
    "authorizer_decision",
    "authorizer_event",
    "connect_event",
    "disconnect_event",
    "internal_error_frame",
    "message_event",
    "missing_identity_source",
    "new_connection_id",
    "select_route",
    "throttled_frame",
]

MAX_FRAME_BYTES = 32 * 1024
MAX_MESSAGE_BYTES = 128 * 1024
#: Data queued for a client that is not reading; past it, posts answer 429 (LimitExceeded).
CLIENT_BUFFER_BYTES = 1024 * 1024


def new_connection_id() -> str:
    """An id shaped like API Gateway's (12 base64 characters ending in ``=``)."""
    return base64.b64encode(secrets.token_bytes(9)).decode()[:11] + "="


@dataclass
class ConnectionInfo:
    """What API Gateway knows about one connection."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
    source_ip: str
    user_agent: str
    connected_at_ms: int
    last_active_ms: int
    authorizer: dict[str, Any] = field(default_factory=dict)


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


def _multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway keeps the last value of a repeated parameter
        multi.setdefault(key, []).append(value)
    return single, multi


def connect_event(
    info: ConnectionInfo,
    headers: Sequence[tuple[str, str]],
    query: Sequence[tuple[str, str]],
    now_ms: int,
) -> dict[str, Any]:
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
    info: ConnectionInfo,
    headers: Sequence[tuple[str, str]],
    query: Sequence[tuple[str, str]],
    now_ms: int,
    method_arn: str,
) -> dict[str, Any]:
    event = connect_event(info, headers, query, now_ms)
    event["requestContext"].pop("authorizer", None)
    event.update(type="REQUEST", methodArn=method_arn, stageVariables={})
    event.setdefault("queryStringParameters", {})
    return event


def message_event(
    info: ConnectionInfo, route_key: str, body: str | bytes, now_ms: int
) -> dict[str, Any]:
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


def missing_identity_source(
    sources: Sequence[str], headers: Sequence[tuple[str, str]], query: Sequence[tuple[str, str]]
) -> str | None:
    """The first identity source absent or empty in the request: API Gateway then answers
    401 without invoking the authorizer."""
    header_values = {k.lower(): v for k, v in headers}
    query_values = dict(query)
    for source in sources:
        if source.startswith("route.request.header."):
            value = header_values.get(source.removeprefix("route.request.header.").lower())
        elif source.startswith("route.request.querystring."):
            value = query_values.get(source.removeprefix("route.request.querystring."))
        else:
            continue  # context and stage variables are always present
        if not value:
            return source
    return None


@dataclass(frozen=True)
class AuthorizerDecision:
    status: int  # 200 to continue, else the handshake's HTTP status
    principal_id: str | None = None
    context: Mapping[str, Any] | None = None


def authorizer_decision(
    result: Any, error: Mapping[str, Any] | None, method_arn: str
) -> AuthorizerDecision:
    """Interpret an authorizer invocation as API Gateway does: ``Unauthorized`` -> 401,
    a Deny (or a policy not covering the method) -> 403, any other failure -> 500."""
    if error is not None:
        return AuthorizerDecision(401 if error.get("errorMessage") == "Unauthorized" else 500)
    if not isinstance(result, Mapping) or "policyDocument" not in result:
        return AuthorizerDecision(500)
    statements = result["policyDocument"].get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        covers = any(_arn_matches(str(r), method_arn) for r in resources)
        if covers and statement.get("Effect") == "Deny":
            return AuthorizerDecision(403)
        if covers and statement.get("Effect") == "Allow":
            allowed = True
    if not allowed:
        return AuthorizerDecision(403)
    context = dict(result.get("context") or {})
    return AuthorizerDecision(200, str(result.get("principalId", "")), context)


def _arn_matches(pattern: str, arn: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(arn, pattern)


def internal_error_frame(info: ConnectionInfo) -> str:
    """What API Gateway sends when the integration fails or times out."""
    return json.dumps(
        {
            "message": "Internal server error",
            "connectionId": info.connection_id,
            "requestId": uuid.uuid4().hex[:16] + "=",
        }
    )


def throttled_frame(info: ConnectionInfo) -> str:
    return json.dumps(
        {
            "message": "Too Many Requests",
            "connectionId": info.connection_id,
            "requestId": uuid.uuid4().hex[:16] + "=",
        }
    )
