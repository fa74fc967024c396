"""Small models for the gateway core's tests: an API with routes, a connection, outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from realtime_socket.local.clock import ManualClock
from realtime_socket.local.gateway.connection import Connection, ConnectionInfo
from realtime_socket.local.gateway.throttling import TokenBucket
from realtime_socket.local.model import LocalApi, LocalAuthorizer, LocalFunction, LocalRoute

EXECUTION_ARN = "arn:aws:execute-api:us-east-1:123456789012:api1"


def function(name: str) -> LocalFunction:
    return LocalFunction(name, name, "h.handler", {}, {}, 3.0, 128)


def api(
    routes: tuple[str, ...] = ("$connect", "$disconnect", "$default", "ping"),
    *,
    namespace: str = "chat",
    reply: tuple[str, ...] = ("ping",),
    identity_sources: list[str] | None = None,
) -> LocalApi:
    """An API whose route ``k`` invokes function ``k-fn``; ``identity_sources`` adds an
    authorizer (function ``auth-fn``) to ``$connect``."""
    local = LocalApi(
        namespace=namespace,
        api_id=f"{namespace}-id",
        execution_arn=EXECUTION_ARN,
        route_selection_expression="$request.body.action",
        stage="live",
        burst_limit=5000,
        rate_limit=10000,
    )
    for key in routes:
        local.routes[key] = LocalRoute(key, f"{key}-route", function(f"{key}-fn"), key in reply)
    if identity_sources is not None:
        local.routes["$connect"].authorizer = LocalAuthorizer(
            "auth", function("auth-fn"), identity_sources
        )
    return local


def connection(
    local: LocalApi | None = None, *, now_ms: int = 1_000, open: bool = True
) -> Connection:
    local = local or api()
    info = ConnectionInfo(
        "abcdefghijk=",
        local.api_id,
        local.stage,
        "127.0.0.1:1",
        "127.0.0.1",
        "ua/1",
        now_ms,
        now_ms,
    )
    return Connection(info, local, open=open)


def bucket(burst: float = 100, rate: float = 0) -> TokenBucket:
    return TokenBucket(rate=rate, burst=burst, clock=ManualClock(0))


@dataclass
class Outcome:
    """An invocation's outcome, as the pools return it."""

    result: Any = None
    error: dict[str, Any] | None = None


def ok(**result: Any) -> Outcome:
    return Outcome(result=result)


def failed(message: str = "boom") -> Outcome:
    return Outcome(error={"errorType": "Exception", "errorMessage": message})
