"""The WebSocket endpoint performing the gateway core's actions, with fakes for sockets and the
invoker: the handshake glue, messages and timeouts."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Request

from realtime_socket.local.clock import ManualClock
from realtime_socket.local.gateway.actions import Close, Invoke
from realtime_socket.local.gateway.timeouts import Timeouts
from realtime_socket.local.lambdas import Invocation
from realtime_socket.local.model import LocalModel
from realtime_socket.local.websocket_endpoint import WebSocketEndpoint
from tests.local.gateway.factories import EXECUTION_ARN, api, connection
from tests.support.fakes import FakePeer


class FakeInvoker:
    """Answers each function by name from ``answers`` and records what was invoked."""

    def __init__(self, answers: dict[str, Invocation]) -> None:
        self.answers = answers
        self.invoked: list[Invoke] = []
        self.notes: list[dict[str, Any]] = []

    def note(self, **fields: Any) -> None:
        self.notes.append(fields)

    async def __call__(self, namespace: str, invoke: Invoke, cid: str) -> Invocation:
        self.invoked.append(invoke)
        return self.answers.get(invoke.function, Invocation(result={"statusCode": 200}))


class FakeSocket:
    remote_address = ("10.1.2.3", 5555)


def _model(**kwargs: Any) -> LocalModel:
    return LocalModel(apis={"chat": api(**kwargs)}, functions={}, tables=[], parameters=[])


def _endpoint(invoker: FakeInvoker, clock: ManualClock | None = None, **kwargs: Any):
    endpoint = WebSocketEndpoint(
        _model(**kwargs), invoker, clock=clock or ManualClock(1000), timeouts=Timeouts()
    )
    endpoint.host, endpoint.port = "127.0.0.1", 8080
    return endpoint


def _request(path: str) -> Request:
    return Request(path, Headers([("Host", "127.0.0.1"), ("User-Agent", "t/1")]))


def test_refused_handshakes_become_http_responses():
    """404 off any API; the body is the core's plain-text answer."""
    endpoint = _endpoint(FakeInvoker({}))
    response = asyncio.run(endpoint._process_request(FakeSocket(), _request("/nope")))
    assert (response.status_code, response.body) == (404, b"no WebSocket API at this path")
    assert response.headers["Content-Length"] == str(len(response.body))


def test_a_handshake_runs_the_authorizer_then_connect_and_keeps_the_session():
    """Both invocations happen in order and the accepted session carries the subprotocol."""
    policy = {
        "principalId": "zoe",
        "policyDocument": {"Statement": [{"Effect": "Allow", "Resource": f"{EXECUTION_ARN}/*"}]},
    }
    connect = {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "realtime-socket"}}
    invoker = FakeInvoker(
        {"auth-fn": Invocation(result=policy), "$connect-fn": Invocation(result=connect)}
    )
    endpoint = _endpoint(invoker, identity_sources=["route.request.querystring.token"])
    socket = FakeSocket()
    assert asyncio.run(endpoint._process_request(socket, _request("/chat?token=t"))) is None
    assert [i.route for i in invoker.invoked] == ["$connect(authorizer)", "$connect"]
    session = socket.rs_session  # type: ignore[attr-defined]
    assert session.connection.info.source_ip == "10.1.2.3"
    assert endpoint._select_subprotocol(socket, ["realtime-socket", "t"]) == "realtime-socket"
    assert endpoint._select_subprotocol(socket, ["other"]) is None


def test_a_401_for_a_missing_identity_source_is_logged_with_its_reason():
    """The reason goes to the runtime's log, not to the client; nothing is invoked."""
    invoker = FakeInvoker({})
    endpoint = _endpoint(invoker, identity_sources=["route.request.querystring.token"])
    response = asyncio.run(endpoint._process_request(FakeSocket(), _request("/chat")))
    assert (response.status_code, response.body) == (401, b"Unauthorized")
    assert invoker.invoked == []
    assert invoker.notes == [
        {
            "namespace": "chat",
            "route": "$connect",
            "status": 401,
            "reason": "identity source route.request.querystring.token missing",
        }
    ]


def test_a_message_is_invoked_and_the_route_response_sent_back():
    """ping's body reaches the client; a failing route gets Internal server error."""
    invoker = FakeInvoker(
        {
            "ping-fn": Invocation(result={"statusCode": 200, "body": '{"type":"pong"}'}),
            "$default-fn": Invocation(error={"errorType": "Exception", "errorMessage": "x"}),
        }
    )
    endpoint = _endpoint(invoker)
    peer = FakePeer(connection(endpoint.model.apis["chat"]))
    asyncio.run(endpoint._on_message(peer, '{"action":"ping"}'))
    asyncio.run(endpoint._on_message(peer, "not json"))
    assert peer.sent[0] == '{"type":"pong"}'
    assert json.loads(peer.sent[1])["message"] == "Internal server error"


def test_reap_closes_only_expired_connections_as_the_gateway():
    """The idle one is closed with 1001 and marked so $disconnect reports 1001."""
    clock = ManualClock(0)
    endpoint = _endpoint(FakeInvoker({}), clock)
    chat = endpoint.model.apis["chat"]
    idle, active = FakePeer(connection(chat, now_ms=0)), FakePeer(connection(chat, now_ms=0))
    active.connection.info.last_active_ms = 500_000
    endpoint.sessions.update(idle=idle, active=active)  # type: ignore[arg-type]
    clock.advance(700)

    async def reap() -> int:
        closed = endpoint.reap()
        await asyncio.wait(endpoint._tasks)
        return closed

    assert asyncio.run(reap()) == 1
    assert idle.closed == Close(1001, "Going away") == idle.connection.closed_by_gateway
    assert active.closed is None
