"""The fan-out engine: SigV4 by botocore, bounded concurrency, keep-alive, retries."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from realtime_socket.handlers.fanout import ConnectionsApi


@pytest.fixture(autouse=True)
def _instant_backoff(monkeypatch):
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )


def test_requests_carry_botocores_sigv4_signature(monkeypatch):
    """The Authorization header is exactly what botocore computes for the same request."""
    fixed = __import__("datetime").datetime(2026, 11, 29, 6, 0, 0)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: fixed)
    creds = Credentials("AKIDTEST", "secret", "session-token")
    api = ConnectionsApi("https://abc.execute-api.eu-west-1.amazonaws.com/live", "eu-west-1",
                         lambda: creds)  # fmt: skip
    signer = SigV4Auth(creds, "execute-api", "eu-west-1")
    head = api._request("a/b=", b"payload", signer).decode()
    lines = head.split("\r\n")
    assert lines[0] == f"POST /live/@connections/{quote('a/b=', safe='')} HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    expected = AWSRequest(
        "POST", "https://abc.execute-api.eu-west-1.amazonaws.com/live/@connections/a%2Fb%3D",
        data=b"payload",
    )  # fmt: skip
    SigV4Auth(creds, "execute-api", "eu-west-1").add_auth(expected)
    assert headers["Authorization"] == expected.headers["Authorization"]
    assert headers["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDTEST/20261129/eu-west-1/execute-api/aws4_request"
    )
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert headers["Host"] == "abc.execute-api.eu-west-1.amazonaws.com"
    assert headers["Content-Length"] == "7"


def test_every_target_gets_exactly_one_copy(endpoint):
    ids = [f"c{i}" for i in range(500)]
    result = endpoint.api(concurrency=16).broadcast(ids, b'{"n":1}')
    assert result.delivered == 500 and not result.failed and not result.gone
    assert sorted(endpoint.posts) == sorted(ids)
    assert all(v == [b'{"n":1}'] for v in endpoint.posts.values())


def test_concurrency_is_bounded(endpoint):
    in_flight, peak, lock = [0], [0], threading.Lock()
    original = endpoint.post_to_connection

    async def slow(*args):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.01)
        with lock:
            in_flight[0] -= 1
        return original(*args)

    endpoint.post_to_connection = slow
    endpoint.api(concurrency=5).broadcast([f"c{i}" for i in range(60)], b"x")
    assert 2 <= peak[0] <= 5


def test_gone_ids_are_handed_over_once(endpoint):
    endpoint.script.update({"b": [410], "d": [410]})
    seen = []
    result = endpoint.api().broadcast(["a", "b", "c", "d"], b"x", on_gone=seen.append)
    assert sorted(result.gone) == ["b", "d"]
    assert [sorted(batch) for batch in seen] == [["b", "d"]]


def test_connections_are_reused_across_broadcasts(endpoint):
    api = endpoint.api(concurrency=4)
    api.broadcast([f"a{i}" for i in range(40)], b"x")
    idle = list(api._idle)
    assert 1 <= len(idle) <= 4
    api.broadcast([f"b{i}" for i in range(40)], b"x")
    assert {id(c) for c in api._idle} == {id(c) for c in idle}


def test_a_dead_keepalive_connection_is_replaced(endpoint):
    api = endpoint.api(concurrency=1)
    api.broadcast(["a"], b"x")
    for connection in api._idle:
        connection.writer.transport.abort()  # the server side vanished while frozen
    result = api.broadcast(["b"], b"x")
    assert result.delivered == 1


def test_unreachable_endpoint_fails_every_target_without_raising():
    api = ConnectionsApi("http://127.0.0.1:9/live", "us-east-1",
                         lambda: Credentials("a", "b"), timeout=0.5)  # fmt: skip
    result = api.broadcast(["a", "b"], b"x")
    assert result.failed == {"a": "ConnectionError", "b": "ConnectionError"}
    assert api.post("a", b"x") == "ConnectionError"


def test_post_reports_each_outcome(endpoint):
    endpoint.script.update({"g": [410], "f": [413]})
    api = endpoint.api()
    assert api.post("ok", b"x") == "ok"
    assert api.post("g", b"x") == "gone"
    assert api.post("f", b"x") == "PayloadTooLargeException"
