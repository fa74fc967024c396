"""The fan-out engine: SigV4 by botocore, bounded concurrency, keep-alive, retries."""

from __future__ import annotations

import asyncio
import datetime
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


class RawEndpoint:
    """A loopback HTTP/1.1 server answering each request with the next scripted raw bytes
    (``None``: never answer), recording each request's head: the wire, not a parser's view."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.heads: list[str] = []
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(5)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/live"

    async def _serve(self, reader, writer):
        self.connections += 1
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            self.heads.append(head.decode())
            answer = self.answers.pop(0) if self.answers else OK_RESPONSE
            if answer is None:
                continue
            writer.write(answer)
            await writer.drain()
            if b"Connection: close" in answer:
                writer.close()
                return

    def api(self, **kwargs):
        return ConnectionsApi(self.url, "us-east-1", lambda: CREDS, **kwargs)

    def close(self):
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


CREDS = Credentials("AKIDTEST", "secret", "session-token")
OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture
def raw():
    servers = []

    def start(*answers):
        servers.append(RawEndpoint(answers))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_requests_carry_botocores_sigv4_signature(raw, monkeypatch):
    """What goes on the wire is signed exactly as botocore signs the same request."""
    server = raw()
    assert server.api().post("a/b=", b"payload") == "ok"
    lines = server.heads[0].split("\r\n")
    assert lines[0] == f"POST /live/@connections/{quote('a/b=', safe='')} HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    sent_at = datetime.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: sent_at)
    expected = AWSRequest("POST", f"{server.url}/@connections/a%2Fb%3D", data=b"payload")
    SigV4Auth(CREDS, "execute-api", "us-east-1").add_auth(expected)
    assert headers["Authorization"] == expected.headers["Authorization"]
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert headers["Host"] == server.url.split("/")[2]
    assert headers["Content-Length"] == "7"


def test_chunked_and_closing_answers_are_read_whole(raw):
    """Each response is consumed exactly, so the next one on the link is read right."""
    chunked = (
        b"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'1b\r\n{"message":"GoneException"}\r\n0\r\n\r\n'
    )
    with_body = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    closing = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    server = raw(with_body, chunked, closing, OK_RESPONSE)
    result = server.api(concurrency=1).broadcast(["a", "b", "c", "d"], b"x")
    assert result.delivered == 3 and result.gone == ["b"] and not result.failed
    assert result.retries == 0
    assert server.connections == 2  # "Connection: close" after c: d goes on a new one


def test_an_unanswered_post_times_out_and_is_retried(raw):
    server = raw(None)
    result = server.api(concurrency=1, timeout=0.3).broadcast(["slow"], b"x")
    assert result.delivered == 1 and result.retries == 1
    assert [h.split(" ")[1] for h in server.heads] == ["/live/@connections/slow"] * 2


def test_garbage_from_the_endpoint_is_a_connection_error(raw):
    server = raw(b"SSH-2.0-OpenSSH\r\n\r\n", b"SSH-2.0\r\n\r\n", b"nope\r\n\r\n")
    result = server.api(concurrency=1).broadcast(["a"], b"x")
    assert result.failed == {"a": "ConnectionError"} and result.retries == 2


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
    for link in api._idle:
        link.transport.abort()  # the socket died while the container was frozen
    result = api.broadcast(["b"], b"x")
    assert result.delivered == 1
    assert result.retries == 0  # seen dead before use: replaced, not a failed attempt


def test_an_error_of_ours_fails_its_target_and_never_hangs_the_broadcast(endpoint, monkeypatch):
    api = endpoint.api(concurrency=2)
    real = api._signer.sign_post

    def sign_post(credentials, connection_id, body_hash, now=None):
        if connection_id.startswith("bad"):
            raise UnicodeError("a bug of ours")
        return real(credentials, connection_id, body_hash, now)

    monkeypatch.setattr(api._signer, "sign_post", sign_post)
    result = api.broadcast(["a", "bad1", "b", "bad2", "c"], b"x")
    assert result.delivered == 3
    assert result.failed == {"bad1": "InternalError", "bad2": "InternalError"}
    assert sorted(endpoint.posts) == ["a", "b", "c"]


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
