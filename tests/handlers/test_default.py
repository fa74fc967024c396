"""$default answers an error frame naming the supported actions."""

from __future__ import annotations

import json

import pytest

from realtime_socket.handlers import default
from tests.support.helpers import FakeContext, load_event


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "invalid_frame"),
        ("[1,2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ("", "invalid_frame"),
        (None, "invalid_frame"),
        ('{"data": 1}', "missing_action"),
        ('{"action": "launch"}', "unknown_action"),
    ],
)
def test_default_error_frames(body, code):
    event = load_event("sendmessage", routeKey="$default")
    event["body"] = body
    answer = default.handler(event, FakeContext())
    frame = json.loads(answer["body"])
    assert frame["type"] == "error"
    assert frame["code"] == code
    assert "sendmessage" in frame["message"]
    assert "ping" in frame["message"]


def test_default_handles_base64_binary_frames():
    event = load_event("sendmessage", routeKey="$default")
    event["body"] = "//79"  # base64 of invalid UTF-8 bytes
    event["isBase64Encoded"] = True
    frame = json.loads(default.handler(event, FakeContext())["body"])
    assert frame["code"] == "invalid_frame"
