"""A handshake: admission, the authorizer, $connect and the answer."""

from __future__ import annotations

import pytest

from realtime_socket.local.gateway.actions import Accept, Invoke, Reject
from realtime_socket.local.gateway.handshake import (
    Handshake,
    HandshakeRequest,
    admit,
    connect_outcome,
)
from tests.local.gateway.factories import EXECUTION_ARN, Outcome, api, bucket, failed, ok

HEADERS = [("Host", "127.0.0.1"), ("User-Agent", "probe/1.0")]


def _admit(path="/chat?room_id=lobby&token=t", apis=None, buckets=None, headers=HEADERS):
    apis = apis or {"chat": api()}
    buckets = buckets or {ns: bucket() for ns in apis}
    request = HandshakeRequest(path, headers, "10.0.0.7")
    return admit(request, apis, buckets, domain_name="127.0.0.1:8080", now_ms=4000)


def _handshake(**kwargs) -> Handshake:
    admitted = _admit(**kwargs)
    assert isinstance(admitted, Handshake)
    return admitted


def _policy(effect: str) -> dict:
    return {
        "principalId": "zoe",
        "policyDocument": {"Statement": [{"Effect": effect, "Resource": f"{EXECUTION_ARN}/*"}]},
        "context": {"name": "Zoe"},
    }


@pytest.mark.parametrize("path", ["/", "/nope", "/chat/other-stage", "/chat/live/extra"])
def test_paths_off_any_api_are_404(path):
    """Only /<namespace> and /<namespace>/<stage> are served."""
    assert _admit(path) == Reject(404, "no WebSocket API at this path")


@pytest.mark.parametrize("path", ["/chat", "/chat/live", "/chat/?x=1", "/chat/live?x=1"])
def test_the_api_is_served_with_or_without_its_stage(path):
    """Both forms reach the API."""
    assert isinstance(_admit(path), Handshake)


def test_a_throttled_connect_is_429_and_a_404_spends_no_token():
    """The stage's bucket covers handshakes; unknown paths do not consume it."""
    buckets = {"chat": bucket(burst=1)}
    assert _admit("/nope", buckets=buckets).status == 404  # type: ignore[union-attr]
    assert isinstance(_admit(buckets=buckets), Handshake)
    assert _admit(buckets=buckets) == Reject(429, "Too Many Requests")


def test_admission_describes_the_connection():
    """Id, API, stage, domain, client address and user agent, connected now."""
    info = _handshake().connection.info
    assert info.connection_id.endswith("=") and len(info.connection_id) == 12
    assert (info.api_id, info.stage, info.domain_name) == ("chat-id", "live", "127.0.0.1:8080")
    assert (info.source_ip, info.user_agent) == ("10.0.0.7", "probe/1.0")
    assert (info.connected_at_ms, info.last_active_ms) == (4000, 4000)


def test_without_connect_route_the_handshake_completes_at_once():
    """No $connect route: nothing to invoke, the handshake is accepted."""
    hs = _handshake(apis={"chat": api(("$default",))})
    assert hs.start() == Accept()


def test_connect_is_invoked_with_headers_and_query():
    """$connect's event carries the handshake's headers and query string."""
    action = _handshake().start()
    assert isinstance(action, Invoke)
    assert (action.function, action.route) == ("$connect-fn", "$connect")
    assert action.event["queryStringParameters"] == {"room_id": "lobby", "token": "t"}
    assert action.event["headers"]["User-Agent"] == "probe/1.0"


@pytest.mark.parametrize(
    ("outcome", "answer"),
    [
        (ok(statusCode=200), Accept()),
        (ok(statusCode=204), Accept()),
        (ok(), Accept()),
        (ok(statusCode=400, body="room_id is required"), Reject(400, "room_id is required")),
        (ok(statusCode=403), Reject(403, "Forbidden")),
        (ok(statusCode=599), Reject(599, "")),
        (failed(), Reject(500, "Internal server error")),
    ],
)
def test_connect_outcome_maps_to_the_handshake_status(outcome, answer):
    """2xx completes the handshake; any other status reaches the client; errors are 500."""
    assert connect_outcome(outcome) == answer


def test_a_non_dict_connect_result_is_500():
    """A handler returning something other than a response object fails the handshake."""
    assert connect_outcome(Outcome(result="OK")) == Reject(500, "Internal server error")


def test_subprotocol_only_when_connect_sets_it():
    """Sec-WebSocket-Protocol (any case) in $connect's headers is the answer's subprotocol."""
    hs = _handshake()
    hs.start()
    answer = hs.receive(ok(statusCode=200, headers={"sec-websocket-protocol": "realtime-socket"}))
    assert answer == Accept("realtime-socket")
    assert hs.connection.subprotocol == "realtime-socket"
    plain = _handshake()
    plain.start()
    assert plain.receive(ok(statusCode=200, headers={"X-Other": "1"})) == Accept(None)


def _authorized_api():
    return {"chat": api(identity_sources=["route.request.querystring.token"])}


def test_missing_identity_source_is_401_without_invoking_the_authorizer():
    """An empty token: 401 at once, with the reason kept for the log only."""
    hs = _handshake(path="/chat?room_id=lobby&token=", apis=_authorized_api())
    answer = hs.start()
    assert isinstance(answer, Reject)
    assert (answer.status, answer.body) == (401, "Unauthorized")
    assert answer.reason == "identity source route.request.querystring.token missing"


def test_the_authorizer_runs_first_with_the_method_arn():
    """The authorizer gets a REQUEST event for this stage's $connect."""
    action = _handshake(apis=_authorized_api()).start()
    assert isinstance(action, Invoke)
    assert (action.function, action.route) == ("auth-fn", "$connect(authorizer)")
    assert action.event["methodArn"] == f"{EXECUTION_ARN}/live/$connect"


@pytest.mark.parametrize(
    ("outcome", "answer"),
    [
        (failed("Unauthorized"), Reject(401, "Unauthorized")),
        (ok(**_policy("Deny")), Reject(403, "Forbidden")),
        (failed("boom"), Reject(500, "Internal Server Error")),
    ],
)
def test_authorizer_refusals_end_the_handshake(outcome, answer):
    """Unauthorized 401, Deny 403, a broken authorizer 500; $connect is never invoked."""
    hs = _handshake(apis=_authorized_api())
    hs.start()
    assert hs.receive(outcome) == answer


def test_an_allowed_identity_reaches_connect_and_later_events():
    """principalId and the context become requestContext.authorizer from $connect on."""
    hs = _handshake(apis=_authorized_api())
    hs.start()
    action = hs.receive(ok(**_policy("Allow")))
    assert isinstance(action, Invoke) and action.route == "$connect"
    expected = {"name": "Zoe", "principalId": "zoe"}
    assert action.event["requestContext"]["authorizer"] == expected
    assert hs.connection.info.authorizer == expected
    assert hs.receive(ok(statusCode=200)) == Accept()


def test_receive_without_a_pending_invocation_is_an_error():
    """The I/O layer must not feed outcomes the handshake did not ask for."""
    hs = _handshake(apis={"chat": api(("$default",))})
    hs.start()
    with pytest.raises(RuntimeError):
        hs.receive(ok())
