"""The @connections POST, GET and DELETE answers."""

from __future__ import annotations

import pytest

from realtime_socket.contract import MAX_MESSAGE_BYTES
from realtime_socket.local.gateway import connections_api as api_
from realtime_socket.local.gateway.actions import Close
from tests.local.gateway.factories import api, connection

MiB = 1024 * 1024


def _post(conn, body=b'{"n":1}', namespace="chat", stage="live", **kwargs):
    return api_.post(conn, namespace, stage, body, **kwargs)


def test_post_delivers_utf8_as_text_and_anything_else_as_binary():
    """A UTF-8 body becomes a text frame; other bytes a binary frame; both answer 200."""
    conn = connection()
    assert _post(conn) == api_.Deliver('{"n":1}')
    assert _post(conn, b"\xff\x00") == api_.Deliver(b"\xff\x00")
    assert api_.Deliver("x").status == 200


@pytest.mark.parametrize(
    ("conn", "namespace", "stage"),
    [
        (None, "chat", "live"),
        (connection(open=False), "chat", "live"),
        (connection(), "telemetry", "live"),
        (connection(), "chat", "other"),
        (connection(api(namespace="telemetry")), "chat", "live"),
    ],
    ids=["unknown", "closed", "other-namespace", "other-stage", "other-api"],
)
def test_unknown_closed_or_other_apis_connections_are_gone(conn, namespace, stage):
    """410 for POST, GET and DELETE alike."""
    assert _post(conn, namespace=namespace, stage=stage) == api_.Gone()
    assert api_.get(conn, namespace, stage) == api_.Gone()
    assert api_.delete(conn, namespace, stage) == api_.Gone()
    assert api_.Gone().status == 410


def test_post_over_128_kb_is_413_before_anything_else():
    """The size check comes first: even an unknown id gets 413; exactly 128 KB is fine."""
    assert _post(None, b"x" * (MAX_MESSAGE_BYTES + 1)) == api_.TooLarge()
    assert api_.TooLarge().status == 413
    assert isinstance(_post(connection(), b"x" * MAX_MESSAGE_BYTES), api_.Deliver)


def test_post_to_a_client_not_reading_is_429():
    """Over 1 MB unread: LimitExceeded; at 1 MB the post is still delivered."""
    conn = connection()
    assert _post(conn, buffered_bytes=MiB + 1) == api_.Throttled()
    assert isinstance(_post(conn, buffered_bytes=MiB), api_.Deliver)
    assert api_.Throttled().status == 429


def test_an_injected_throttle_wins_over_every_other_answer():
    """The chaos 429 is decided before the size and existence checks."""
    assert _post(None, b"x" * (MAX_MESSAGE_BYTES + 1), injected_throttle=True) == api_.Throttled()


def test_get_describes_the_connection():
    """ISO times for connectedAt and lastActiveAt, and the client's identity."""
    conn = connection(now_ms=1_700_000_000_000)
    conn.info.last_active_ms = 1_700_000_060_500
    answer = api_.get(conn, "chat", "live")
    assert isinstance(answer, api_.Details)
    assert answer.body == {
        "connectedAt": "2023-11-14T22:13:20Z",
        "lastActiveAt": "2023-11-14T22:14:20.500000Z",
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "ua/1"},
    }


def test_delete_closes_with_1000_and_answers_204():
    """DELETE ends the connection normally."""
    answer = api_.delete(connection(), "chat", "live")
    assert answer == api_.Deleted(Close(1000, "Connection deleted"))
    assert answer.status == 204
