"""The Lambda events API Gateway builds."""

from __future__ import annotations

from realtime_socket.local.gateway import events
from tests.local.gateway.factories import connection

HEADERS = [("Host", "h"), ("X-A", "1"), ("X-A", "2")]
QUERY = [("room_id", "a"), ("room_id", "b")]


def _info():
    return connection(now_ms=1000).info


def test_connect_event_keeps_headers_and_repeated_query_parameters():
    """The last value wins in the single maps; every value is kept in the multi maps."""
    event = events.connect_event(_info(), HEADERS, QUERY, 2000)
    assert event["headers"] == {"Host": "h", "X-A": "2"}
    assert event["multiValueHeaders"] == {"Host": ["h"], "X-A": ["1", "2"]}
    assert event["queryStringParameters"] == {"room_id": "b"}
    assert event["multiValueQueryStringParameters"] == {"room_id": ["a", "b"]}
    ctx = event["requestContext"]
    assert (ctx["routeKey"], ctx["eventType"], ctx["connectedAt"], ctx["requestTimeEpoch"]) == (
        "$connect",
        "CONNECT",
        1000,
        2000,
    )


def test_connect_event_without_a_query_has_no_query_fields():
    """Like AWS, no query string means no queryStringParameters at all."""
    event = events.connect_event(_info(), HEADERS, [], 2000)
    assert "queryStringParameters" not in event
    assert "multiValueQueryStringParameters" not in event


def test_request_context_describes_the_connection():
    """Every event names the connection, API, stage, domain and client identity."""
    ctx = events.connect_event(_info(), [], [], 1_700_000_000_000)["requestContext"]
    assert ctx["connectionId"] == "abcdefghijk="
    assert (ctx["apiId"], ctx["stage"], ctx["domainName"]) == ("chat-id", "live", "127.0.0.1:1")
    assert ctx["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "ua/1"}
    assert ctx["requestTime"] == "14/Nov/2023:22:13:20 +0000"
    assert ctx["requestId"] != ctx["extendedRequestId"]


def test_authorizer_event_is_a_request_authorizer_event():
    """type REQUEST, the method ARN, an empty query map when there is none, no authorizer."""
    info = _info()
    info.authorizer = {"principalId": "u"}
    event = events.authorizer_event(info, HEADERS, [], 2000, "arn:x/live/$connect")
    assert (event["type"], event["methodArn"]) == ("REQUEST", "arn:x/live/$connect")
    assert event["queryStringParameters"] == {}
    assert event["stageVariables"] == {}
    assert "authorizer" not in event["requestContext"]


def test_message_event_carries_the_body_and_the_authorizer_context():
    """A text body as is, a fresh messageId, and the authorizer's context from $connect."""
    info = _info()
    info.authorizer = {"principalId": "zoe", "name": "Zoe"}
    event = events.message_event(info, "ping", '{"action":"ping"}', 3000)
    ctx = event["requestContext"]
    assert (ctx["routeKey"], ctx["eventType"]) == ("ping", "MESSAGE")
    assert ctx["authorizer"] == {"principalId": "zoe", "name": "Zoe"}
    assert ctx["messageId"].endswith("=")
    assert (event["body"], event["isBase64Encoded"]) == ('{"action":"ping"}', False)


def test_binary_messages_are_base64():
    """A binary frame reaches the handler base64-encoded and flagged so."""
    event = events.message_event(_info(), "$default", b"\xff", 1)
    assert (event["body"], event["isBase64Encoded"]) == ("/w==", True)


def test_disconnect_event_fields():
    """$disconnect carries the close code and reason."""
    ctx = events.disconnect_event(_info(), 4001, "bye", 3000)["requestContext"]
    assert (ctx["disconnectStatusCode"], ctx["disconnectReason"], ctx["eventType"]) == (
        4001,
        "bye",
        "DISCONNECT",
    )
    assert ctx["routeKey"] == "$disconnect"
