"""API Gateway rules as plain functions (sans-I/O)."""

from __future__ import annotations

import pytest

from realtime_socket.local import apigw
from realtime_socket.local.clock import ManualClock
from realtime_socket.local.throttle import TokenBucket

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
        (b"\x00binary", "$default"),
    ],
)
def test_route_selection(body, route):
    assert apigw.select_route("$request.body.action", body, ROUTES) == route


def test_nested_selection_expression():
    assert apigw.select_route("$request.body.m.kind", '{"m":{"kind":"ping"}}', ROUTES) == "ping"


def _info() -> apigw.ConnectionInfo:
    return apigw.ConnectionInfo(
        "abc=", "api1", "live", "localhost:1", "127.0.0.1", "ua", 1000, 1000
    )


def test_connect_event_keeps_headers_and_repeated_query_parameters():
    event = apigw.connect_event(
        _info(), [("Host", "h"), ("X-A", "1")], [("room_id", "a"), ("room_id", "b")], 2000
    )
    assert event["headers"] == {"Host": "h", "X-A": "1"}
    assert event["queryStringParameters"] == {"room_id": "b"}
    assert event["multiValueQueryStringParameters"] == {"room_id": ["a", "b"]}
    ctx = event["requestContext"]
    assert (ctx["routeKey"], ctx["eventType"], ctx["connectedAt"], ctx["requestTimeEpoch"]) == (
        "$connect",
        "CONNECT",
        1000,
        2000,
    )


def test_disconnect_event_fields():
    ctx = apigw.disconnect_event(_info(), 1006, "", 3000)["requestContext"]
    assert (ctx["disconnectStatusCode"], ctx["disconnectReason"], ctx["eventType"]) == (
        1006,
        "",
        "DISCONNECT",
    )


def test_binary_messages_are_base64():
    event = apigw.message_event(_info(), "$default", b"\xff", 1)
    assert (event["body"], event["isBase64Encoded"]) == ("/w==", True)


@pytest.mark.parametrize(
    ("sources", "headers", "query", "missing"),
    [
        (
            ["route.request.querystring.token"],
            [],
            [("token", "")],
            "route.request.querystring.token",
        ),
        (["route.request.querystring.token"], [], [("token", "t")], None),
        (["route.request.header.Authorization"], [("authorization", "x")], [], None),
        (["route.request.header.Authorization"], [], [], "route.request.header.Authorization"),
        (["route.request.header.Host", "context.routeKey"], [("Host", "h")], [], None),
    ],
)
def test_identity_sources(sources, headers, query, missing):
    assert apigw.missing_identity_source(sources, headers, query) == missing


ARN = "arn:aws:execute-api:us-east-1:1:api/live/$connect"


def _policy(effect, resource=ARN):
    return {
        "principalId": "u",
        "policyDocument": {"Statement": [{"Effect": effect, "Resource": resource}]},
        "context": {"sub": "u"},
    }


@pytest.mark.parametrize(
    ("result", "error", "status"),
    [
        (_policy("Allow"), None, 200),
        (_policy("Allow", "arn:aws:execute-api:us-east-1:1:api/*"), None, 200),
        (_policy("Deny"), None, 403),
        (_policy("Allow", "arn:aws:execute-api:us-east-1:1:other/*"), None, 403),
        (None, {"errorMessage": "Unauthorized"}, 401),
        (None, {"errorMessage": "boom"}, 500),
        ({"no": "policy"}, None, 500),
    ],
)
def test_authorizer_decisions(result, error, status):
    assert apigw.authorizer_decision(result, error, ARN).status == status


def test_token_bucket_burst_and_refill():
    clock = ManualClock(0)
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(0.5)
    assert bucket.take() and not bucket.take()
    clock.advance(100)
    assert sum(bucket.take() for _ in range(10)) == 3  # never more than the burst


def test_connection_ids_look_like_aws():
    ids = {apigw.new_connection_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 12 and i.endswith("=") for i in ids)
