"""Route selection, the action for a frame, the integration's answer and $disconnect."""

from __future__ import annotations

import json

import pytest

from realtime_socket.contract import MAX_MESSAGE_BYTES
from realtime_socket.local.gateway import routing
from realtime_socket.local.gateway.actions import Close, Invoke, Reply
from realtime_socket.local.gateway.timeouts import GOING_AWAY
from tests.local.gateway.factories import api, bucket, connection, failed, ok

ROUTES = ["$connect", "$disconnect", "$default", "sendmessage", "ping"]


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action":"sendmessage"}', "sendmessage"),
        ('{"action":"ping","data":1}', "ping"),
        ('{"action":"nope"}', "$default"),
        ('{"action":"$connect"}', "$default"),
        ('{"action":5}', "$default"),
        ('{"data":1}', "$default"),
        ("[]", "$default"),
        ("not json", "$default"),
        ("", "$default"),
        (b'{"action":"ping"}', "$default"),
    ],
)
def test_route_selection(body, route):
    """The expression's value picks a route; non-JSON, binary and unknown go to $default."""
    assert routing.select_route("$request.body.action", body, ROUTES) == route


def test_nested_selection_expression():
    """A dotted expression reads nested fields."""
    assert routing.select_route("$request.body.m.kind", '{"m":{"kind":"ping"}}', ROUTES) == "ping"
    assert routing.select_route("$request.body.m.kind", '{"m":"ping"}', ROUTES) == "$default"


def test_a_matching_frame_invokes_its_route_with_a_message_event():
    """The route's function gets the message event; a route response is noted."""
    conn = connection()
    action = routing.route(conn, '{"action":"ping"}', 5000, bucket())
    assert isinstance(action, Invoke)
    assert (action.function, action.route, action.reply) == ("ping-fn", "ping", True)
    assert action.event["requestContext"]["routeKey"] == "ping"
    assert action.event["requestContext"]["requestTimeEpoch"] == 5000


@pytest.mark.parametrize("frame", ['{"action":"nope"}', "not json", b"\x00binary"])
def test_unmatched_frames_go_to_default(frame):
    """Unknown actions, non-JSON and binary frames reach $default."""
    action = routing.route(connection(), frame, 5000, bucket())
    assert isinstance(action, Invoke)
    assert (action.function, action.route, action.reply) == ("$default-fn", "$default", False)


def test_without_default_an_unmatched_frame_is_forbidden():
    """No route and no $default: a Forbidden frame, no invocation."""
    conn = connection(api(("$connect", "ping")))
    action = routing.route(conn, '{"action":"nope"}', 5000, bucket())
    assert isinstance(action, Reply)
    assert json.loads(action.frame)["message"] == "Forbidden"


def test_a_throttled_frame_gets_too_many_requests_and_still_counts_as_activity():
    """Over the stage's burst: a Too Many Requests frame; the idle clock is reset anyway."""
    conn = connection(now_ms=1000)
    empty = bucket(burst=0)
    action = routing.route(conn, '{"action":"ping"}', 9000, empty)
    assert isinstance(action, Reply)
    assert json.loads(action.frame)["message"] == "Too Many Requests"
    assert conn.info.last_active_ms == 9000


def test_a_message_resets_the_idle_clock():
    """lastActiveAt moves to the message's time."""
    conn = connection(now_ms=1000)
    routing.route(conn, '{"action":"ping"}', 7000, bucket())
    assert (conn.info.connected_at_ms, conn.info.last_active_ms) == (1000, 7000)


def test_a_message_over_128_kb_closes_with_1009():
    """The 128 KB message limit closes the connection; exactly 128 KB is fine."""
    conn = connection()
    over = routing.route(conn, "x" * (MAX_MESSAGE_BYTES + 1), 5000, bucket())
    assert over == Close(1009, "Message too big")
    assert isinstance(routing.route(conn, "x" * MAX_MESSAGE_BYTES, 5000, bucket()), Invoke)
    multibyte = "\u20ac" * (MAX_MESSAGE_BYTES // 3 + 1)  # counted in UTF-8 bytes
    assert routing.route(conn, multibyte, 5000, bucket()) == routing.MESSAGE_TOO_BIG


def _invoke(reply: bool) -> Invoke:
    return Invoke("ping-fn", "ping", {}, reply=reply)


def test_a_failed_integration_sends_internal_server_error():
    """A handler error or timeout: an Internal server error frame (the connection stays)."""
    reply = routing.integration_response(connection(), _invoke(True), failed())
    assert isinstance(reply, Reply)
    frame = json.loads(reply.frame)
    assert (frame["message"], frame["connectionId"]) == ("Internal server error", "abcdefghijk=")


def test_a_route_response_sends_the_body_back():
    """With a route response, the integration's body is the client's frame."""
    reply = routing.integration_response(connection(), _invoke(True), ok(body='{"type":"pong"}'))
    assert reply == Reply('{"type":"pong"}')


@pytest.mark.parametrize(
    ("reply", "result"), [(False, {"body": "x"}), (True, {"statusCode": 200}), (True, None)]
)
def test_otherwise_nothing_goes_back(reply, result):
    """No route response, or no body: the client gets nothing."""
    outcome = ok(**result) if result else ok()
    assert routing.integration_response(connection(), _invoke(reply), outcome) is None


def test_disconnect_reports_the_clients_close():
    """$disconnect gets the socket's close code and reason."""
    action = routing.disconnect(connection(), 4001, "bye now", 9000)
    assert isinstance(action, Invoke)
    assert (action.function, action.route) == ("$disconnect-fn", "$disconnect")
    ctx = action.event["requestContext"]
    assert (ctx["disconnectStatusCode"], ctx["disconnectReason"]) == (4001, "bye now")


def test_disconnect_reports_the_gateways_own_close():
    """A timeout or DELETE is reported as the gateway's close, not the socket's echo."""
    conn = connection()
    conn.closed_by_gateway = GOING_AWAY
    action = routing.disconnect(conn, 1006, "", 9000)
    assert action is not None
    ctx = action.event["requestContext"]
    assert (ctx["disconnectStatusCode"], ctx["disconnectReason"]) == (1001, "Going away")


def test_no_disconnect_route_means_no_invocation():
    """An API without $disconnect invokes nothing."""
    assert routing.disconnect(connection(api(("$default",))), 1000, "", 9000) is None
