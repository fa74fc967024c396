"""A WebSocket handshake, from the upgrade request to ``101`` or an HTTP refusal.

API Gateway serves an API at its stage's path; it throttles connects with the stage's
bucket (429), runs the ``$connect`` authorizer (see ``authorization``) and then the
``$connect`` route, and completes the handshake only when that route answers 2xx. Any other
status reaches the client as the handshake's status; an error or a malformed answer is 500.
A ``Sec-WebSocket-Protocol`` goes back only when ``$connect`` sets one.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html

Use: ``admit(request, ...)`` gives a :class:`Reject` or a :class:`Handshake`; drive that
with ``start()`` and ``receive(outcome)`` until it answers :class:`Accept` or
:class:`Reject`, performing each :class:`Invoke` in between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from realtime_socket.local.gateway import events
from realtime_socket.local.gateway.actions import Accept, Invoke, Outcome, Reject
from realtime_socket.local.gateway.authorization import (
    authorizer_decision,
    missing_identity_source,
)
from realtime_socket.local.gateway.connection import Connection, ConnectionInfo, new_connection_id
from realtime_socket.local.gateway.throttling import TokenBucket
from realtime_socket.local.model import LocalApi

__all__ = ["Handshake", "HandshakeRequest", "admit", "connect_outcome"]

NOT_FOUND = Reject(404, "no WebSocket API at this path")
TOO_MANY_REQUESTS = Reject(429, "Too Many Requests")
CONNECT_FAILED = Reject(500, "Internal server error")


@dataclass(frozen=True)
class HandshakeRequest:
    """The parts of an upgrade request the gateway reads."""

    path: str  # with the query string
    headers: Sequence[tuple[str, str]]
    source_ip: str

    def header(self, name: str) -> str:
        """The first value of header ``name`` (any case), or ``""``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), "")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _api_at(path: str, apis: Mapping[str, LocalApi]) -> LocalApi | None:
    """The API served at ``/<namespace>`` or ``/<namespace>/<stage>``."""
    segments = [s for s in path.split("/") if s]
    api = apis.get(segments[0]) if segments else None
    if api is None or len(segments) > 2 or (len(segments) == 2 and segments[1] != api.stage):
        return None
    return api


def admit(
    request: HandshakeRequest,
    apis: Mapping[str, LocalApi],
    buckets: Mapping[str, TokenBucket],
    *,
    domain_name: str,
    now_ms: int,
) -> Handshake | Reject:
    """The handshake for ``request``, or its refusal: 404 off any API, 429 when throttled."""
    parts = urlsplit(request.path)
    api = _api_at(parts.path, apis)
    if api is None:
        return NOT_FOUND
    if not buckets[api.namespace].take():
        return TOO_MANY_REQUESTS
    info = ConnectionInfo(
        connection_id=new_connection_id(),
        api_id=api.api_id,
        stage=api.stage,
        domain_name=domain_name,
        source_ip=request.source_ip,
        user_agent=request.header("User-Agent"),
        connected_at_ms=now_ms,
        last_active_ms=now_ms,
    )
    query = parse_qsl(parts.query, keep_blank_values=True)
    return Handshake(Connection(info, api), list(request.headers), query, now_ms)


def connect_outcome(outcome: Outcome) -> Accept | Reject:
    """The handshake's answer from the ``$connect`` route's outcome."""
    result = outcome.result
    if outcome.error is not None or not isinstance(result, dict):
        return CONNECT_FAILED
    status = int(result.get("statusCode", 200))
    if not 200 <= status < 300:
        return Reject(status, str(result.get("body") or _phrase(status)))
    subprotocol = None
    for key, value in (result.get("headers") or {}).items():
        if key.lower() == "sec-websocket-protocol":
            subprotocol = str(value)
    return Accept(subprotocol)


class Handshake:
    """One admitted handshake: the authorizer, then ``$connect``, then the answer."""

    def __init__(
        self,
        connection: Connection,
        headers: Sequence[tuple[str, str]],
        query: Sequence[tuple[str, str]],
        now_ms: int,
    ) -> None:
        self.connection = connection
        self.headers = headers
        self.query = query
        self.now_ms = now_ms
        self._waiting_for: str | None = None  # "authorizer" or "$connect"

    @property
    def _method_arn(self) -> str:
        api = self.connection.api
        return f"{api.execution_arn}/{api.stage}/$connect"

    def start(self) -> Invoke | Accept | Reject:
        """The first action: authorize when ``$connect`` has an authorizer, else connect."""
        authorizer = self.connection.api.connect_authorizer
        if authorizer is None:
            return self._connect()
        missing = missing_identity_source(authorizer.identity_sources, self.headers, self.query)
        if missing:  # refused without invoking the authorizer
            return Reject(401, "Unauthorized", reason=f"identity source {missing} missing")
        info = self.connection.info
        event = events.authorizer_event(
            info, self.headers, self.query, self.now_ms, self._method_arn
        )
        self._waiting_for = "authorizer"
        return Invoke(authorizer.function.name, "$connect(authorizer)", event)

    def receive(self, outcome: Outcome) -> Invoke | Accept | Reject:
        """The next action, given the outcome of the last :class:`Invoke`."""
        waiting, self._waiting_for = self._waiting_for, None
        if waiting == "authorizer":
            decision = authorizer_decision(outcome.result, outcome.error, self._method_arn)
            if decision.status != 200:
                return Reject(decision.status, _phrase(decision.status))
            self.connection.info.authorizer = {
                **(decision.context or {}),
                "principalId": decision.principal_id,
            }
            return self._connect()
        if waiting == "$connect":
            answer = connect_outcome(outcome)
            if isinstance(answer, Accept):
                self.connection.subprotocol = answer.subprotocol
            return answer
        raise RuntimeError("the handshake is not waiting for an invocation")

    def _connect(self) -> Invoke | Accept:
        route = self.connection.api.routes.get("$connect")
        if route is None:
            return Accept()
        event = events.connect_event(self.connection.info, self.headers, self.query, self.now_ms)
        self._waiting_for = "$connect"
        return Invoke(route.function.name, "$connect", event)
