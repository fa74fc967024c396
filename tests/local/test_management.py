"""The @connections HTTP answers and the runtime's backend, with fake peers (no sockets)."""

from __future__ import annotations

import asyncio
import json

from realtime_socket.contract import CONNECTIONS_API_ERRORS
from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.gateway.chaos import PostChaos
from realtime_socket.local.management import RuntimeConnections, _reply
from tests.local.gateway.factories import connection
from tests.support.fakes import FakePeer

CID = "abcdefghijk="


def _run(coroutine):
    return asyncio.run(coroutine)


def test_post_is_delivered_to_the_peer():
    """200, and the body reaches the client as a text frame."""
    peer = FakePeer(connection())
    backend = RuntimeConnections({CID: peer})
    assert _run(backend.post_to_connection("chat", "live", CID, b'{"a":1}')) == 200
    assert peer.sent == ['{"a":1}']


def test_a_full_client_buffer_is_429_and_counted():
    """A client that does not read gets nothing more; the runtime counts the 429."""
    peer = FakePeer(connection(), buffered=2 * 1024 * 1024)
    backend = RuntimeConnections({CID: peer})
    assert _run(backend.post_to_connection("chat", "live", CID, b"x")) == 429
    assert (peer.sent, backend.posts_throttled) == ([], 1)


def test_injected_429s_are_counted_and_the_retry_goes_through():
    """--chaos-post-429-every 1: the first attempt is refused, its retry delivered."""
    peer = FakePeer(connection())
    backend = RuntimeConnections({CID: peer}, PostChaos(1))
    assert _run(backend.post_to_connection("chat", "live", CID, b"x")) == 429
    assert _run(backend.post_to_connection("chat", "live", CID, b"x")) == 200
    assert (peer.sent, backend.posts_throttled, backend.chaos.attempted) == (["x"], 1, 2)


def test_closed_and_unknown_connections_are_gone():
    """410 for a peer that has closed and for an id nobody holds; nothing is sent."""
    peer = FakePeer(connection(open=False))
    backend = RuntimeConnections({CID: peer})
    assert _run(backend.post_to_connection("chat", "live", CID, b"x")) == 410
    assert _run(backend.post_to_connection("chat", "live", "other", b"x")) == 410
    assert _run(backend.get_connection("chat", "live", CID)) is None
    assert _run(backend.delete_connection("chat", "live", CID)) == 410
    assert (peer.sent, peer.closed) == ([], None)


def test_get_returns_the_description():
    """GET's body is the gateway's description of the connection."""
    backend = RuntimeConnections({CID: FakePeer(connection())})
    body = _run(backend.get_connection("chat", "live", CID))
    assert body["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "ua/1"}


def test_delete_closes_the_peer_and_marks_the_close_as_the_gateways():
    """204; the peer is closed with 1000 and $disconnect will report that close."""
    peer = FakePeer(connection())
    backend = RuntimeConnections({CID: peer})
    assert _run(backend.delete_connection("chat", "live", CID)) == 204
    assert peer.closed == Close(1000, "Connection deleted")
    assert peer.connection.closed_by_gateway == peer.closed


def test_error_answers_carry_botocores_error_type():
    """Each error status has its x-amzn-ErrorType header and a message body."""
    for status, error in CONNECTIONS_API_ERRORS.items():
        response = _reply(status)
        assert response.status == status
        assert response.headers["x-amzn-ErrorType"] == error
        assert json.loads(response.text or "") == {"message": error}


def test_success_answers_have_no_error_type():
    """200 with a body, 204 without."""
    ok = _reply(200, {"connectedAt": "x"})
    assert "x-amzn-ErrorType" not in ok.headers
    assert json.loads(ok.text or "") == {"connectedAt": "x"}
    assert (_reply(204).status, _reply(204).text) == (204, "")
