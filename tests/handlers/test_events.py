"""events.py: typed accessors that tolerate what API Gateway may leave out."""

from __future__ import annotations

import base64

import pytest

from realtime_socket.handlers import events
from tests.support.helpers import load_event

HELLO_B64 = base64.b64encode("h\u00e9llo".encode()).decode()


def test_accessors_read_the_request_context():
    """Connection id, route key and the authorizer's subject come from ``requestContext``."""
    event = load_event("sendmessage", routeKey="sendmessage")
    assert events.connection_id(event) == "conn-A="
    assert events.route_key(event) == "sendmessage"
    assert events.sender_sub(event) == "alice"


@pytest.mark.parametrize("context", [None, "not-a-mapping", {"authorizer": "x"}])
def test_a_missing_or_malformed_request_context_reads_as_empty(context):
    """No context (or the wrong type) gives empty values, never an exception."""
    event = {} if context is None else {"requestContext": context}
    assert events.connection_id(event) == ""
    assert events.route_key(event) == ""
    assert events.authorizer_context(event) == {}
    assert events.sender_sub(event) is None


@pytest.mark.parametrize(
    ("authorizer", "sub"),
    [
        ({"sub": "alice", "principalId": "p"}, "alice"),
        ({"principalId": "p"}, "p"),
        ({"sub": ""}, None),
        ({}, None),
    ],
)
def test_sender_sub_prefers_sub_then_the_principal(authorizer, sub):
    """The subject is the context's ``sub``, else the principal id, else None."""
    assert events.sender_sub({"requestContext": {"authorizer": authorizer}}) == sub


def test_header_lookup_is_case_insensitive():
    """Header names match whatever case the client sent."""
    event = {"headers": {"Sec-WebSocket-Protocol": "realtime-socket"}}
    assert events.header(event, "sec-websocket-protocol") == "realtime-socket"
    assert events.header(event, "SEC-WEBSOCKET-PROTOCOL") == "realtime-socket"
    assert events.header(event, "Origin") is None
    assert events.header({"headers": None}, "Origin") is None


def test_query_parameters_are_strings_or_none():
    """A parameter is read as text; absent parameters (or none at all) are None."""
    assert events.query_param({"queryStringParameters": {"n": 5}}, "n") == "5"
    assert events.query_param({"queryStringParameters": {"n": 5}}, "m") is None
    assert events.query_param({"queryStringParameters": None}, "n") is None
    assert events.query_param({}, "n") is None


@pytest.mark.parametrize(
    ("event", "text"),
    [
        ({"body": "plain"}, "plain"),
        ({}, None),
        ({"body": HELLO_B64, "isBase64Encoded": True}, "h\u00e9llo"),
        ({"body": "//79", "isBase64Encoded": True}, None),  # not UTF-8
        ({"body": "abc", "isBase64Encoded": True}, None),  # not base64
    ],
)
def test_body_decodes_base64_and_refuses_what_is_not_utf8_text(event, text):
    """A base64 body is decoded to text; bytes that are not UTF-8 text read as no body."""
    assert events.body(event) == text


def test_response_holds_only_the_parts_given():
    """A proxy response has a status, and a body and headers only when there are some."""
    assert events.response(200) == {"statusCode": 200}
    assert events.response(400, "bad", {"X-A": "1"}) == {
        "statusCode": 400,
        "body": "bad",
        "headers": {"X-A": "1"},
    }
