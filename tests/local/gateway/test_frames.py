"""The frames API Gateway itself sends."""

from __future__ import annotations

import json

from realtime_socket.local.gateway import frames
from tests.local.gateway.factories import connection


def test_internal_error_frame():
    """AWS's shape: the message, the connection id and a request id."""
    frame = json.loads(frames.internal_error_frame(connection().info))
    assert frame["message"] == "Internal server error"
    assert frame["connectionId"] == "abcdefghijk="
    assert frame["requestId"].endswith("=")


def test_throttled_frame():
    """A throttled message gets Too Many Requests with the connection id."""
    frame = json.loads(frames.throttled_frame(connection().info))
    assert (frame["message"], frame["connectionId"]) == ("Too Many Requests", "abcdefghijk=")
    assert frame["requestId"].endswith("=")


def test_forbidden_frame():
    """A message no route takes gets Forbidden."""
    frame = json.loads(frames.forbidden_frame(connection().info))
    assert frame == {"message": "Forbidden", "connectionId": "abcdefghijk="}
