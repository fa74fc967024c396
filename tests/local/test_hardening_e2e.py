"""Hostile input through the local runtime: every class refused cleanly, state consistent,
other clients untouched. SECURITY.md lists each class with its answer and this file."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.sync.client import connect

from bench.scenarios.attacks import attack_tokens
from tests.support.helpers import mint, table_items
from tests.support.ws_client import assert_silent, recv_json, send


@pytest.fixture(scope="module")
def elsewhere():
    """A loopback URL that counts fetches: jku/x5u targets must never be fetched."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"keys": []}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/keys.json", hits
    server.shutdown()


def refused(url: str, **kwargs) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as caught:
        connect(url, **kwargs)
    return caught.value.response.status_code, caught.value.response.body


ATTACKS = sorted(attack_tokens("http://127.0.0.1:1/unused"))


@pytest.mark.parametrize("name", ATTACKS)
def test_jwt_attack_is_refused_at_the_handshake_with_a_generic_reason(rt, elsewhere, name):
    url, hits = elsewhere
    token = attack_tokens(url)[name]
    status, body = refused(f"{rt.runtime.ws_url('chat')}?room_id=lobby&token={quote(token)}")
    if name == "over-8-kb":
        # The HTTP layer's request-line limit (8 KB) answers before the authorizer could;
        # the authorizer's own 8 KB cap is proven in tests/handlers/test_tokens.py.
        assert status == 414
    else:
        assert (status, body) == (401, b"Unauthorized")
    assert hits == []  # never follows jku or x5u


def test_refusals_log_the_reason_but_never_the_token(rt, elsewhere):
    url, _ = elsewhere
    tokens = attack_tokens(url)
    for token in tokens.values():
        refused(f"{rt.runtime.ws_url('chat')}?room_id=lobby&token={quote(token)}")
    log = Path(rt.handler_log).read_text()
    reasons = [
        json.loads(line)["reason"]
        for line in log.splitlines()
        if line.startswith("{") and '"unauthorized"' in line
    ]
    assert any("ExpiredSignatureError" in r for r in reasons)
    assert any("'jku' is not accepted" in r for r in reasons)
    for token in tokens.values():
        if len(token) > 20:
            assert token not in log
            # A short last segment ("e30") can occur by chance in a uuid; a signature cannot.
            signature = token.split(".")[-1]
            assert len(signature) < 16 or signature not in log


def test_the_authorizer_survives_the_attacks(rt, elsewhere):
    url, _ = elsewhere
    for token in attack_tokens(url).values():
        refused(f"{rt.runtime.ws_url('chat')}?room_id=lobby&token={quote(token)}")
    errors = [e for e in rt.events if e.get("route") == "$connect(authorizer)" and
              e.get("error") not in (None, "Exception")]  # fmt: skip
    assert errors == []  # refusals only: no crash, no timeout
    with connect(rt.url()) as ws:
        send(ws, {"action": "ping"})
        assert recv_json(ws) == {"type": "pong"}


def test_token_in_a_carrier_that_is_not_configured(rt):
    status, _ = refused(
        f"{rt.runtime.ws_url('chat')}?room_id=lobby",
        additional_headers={"Authorization": f"Bearer {mint()}"},
    )
    assert status == 401


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "room",
    ["", "x" * 129, "a/b", "..%2F..", "tab%09here", "nul%00", "ctl%01", "sp%20ace", "%E2%82%AC"],
)
def test_bad_room_ids_are_400_and_leave_no_row(rt, room):
    """400 naming room_id, and no item written (an earlier test's late $disconnect may still
    remove one meanwhile: only new keys count)."""
    before = set(table_items(rt.dynamodb(), rt.table_name("chat")))
    status, body = refused(f"{rt.runtime.ws_url('chat')}?room_id={room}&token={mint()}")
    assert status == 400
    assert b"room_id" in body
    assert set(table_items(rt.dynamodb(), rt.table_name("chat"))) <= before


def test_repeated_query_parameters_take_the_last_value(rt):
    with connect(f"{rt.runtime.ws_url('chat')}?room_id=first&room_id=second&token={mint()}") as ws:
        send(ws, {"action": "sendmessage", "data": 1})
        assert recv_json(ws)["room"] == "second"


def test_oversized_headers_are_refused(rt):
    with pytest.raises((InvalidStatus, InvalidMessage, OSError)):
        connect(rt.url(), additional_headers={"X-Big": "y" * 70_000})
    with connect(rt.url()) as ws:  # and the runtime still serves
        send(ws, {"action": "ping"})
        assert recv_json(ws) == {"type": "pong"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_frame"),
        ("[]", "invalid_frame"),
        ("42", "invalid_frame"),
        ('{"data": 1}', "missing_action"),
        ('{"action": "shutdown"}', "unknown_action"),
        ('{"action": "sendmessage"}', "missing_data"),
        # just under 128 KB inbound, so the outbound frame (with its envelope) is over the limit
        (json.dumps({"action": "sendmessage", "data": "z" * (131_072 - 38)}), "message_too_large"),
    ],
)
def test_bad_frames_get_error_frames_and_others_see_nothing(rt, frame, code):
    with (
        connect(rt.url(room="bad-input"), max_size=None) as sender,
        connect(rt.url(room="bad-input")) as bystander,
    ):
        if len(frame) > 32_000:
            sender.send([frame[i : i + 30_000] for i in range(0, len(frame), 30_000)])
        else:
            sender.send(frame)
        answer = recv_json(sender)
        assert (answer["type"], answer["code"]) == ("error", code)
        assert_silent(bystander)
        send(sender, {"action": "ping"})  # the connection is kept
        assert recv_json(sender) == {"type": "pong"}


def test_invalid_utf8_text_frame_closes_with_1007(rt):
    with connect(rt.url()) as ws:
        raw = Frame(Opcode.TEXT, b"\xff\xfe\xfd").serialize(
            mask=True, extensions=[]
        )  # websockets itself refuses to send this
        ws.socket.sendall(raw)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1007


def test_a_flood_of_connects_is_throttled_not_crashed(rt):
    """The stage's burst applies to handshakes; the runtime keeps serving afterwards."""
    sockets = []
    for _ in range(20):
        sockets.append(socket.create_connection(("127.0.0.1", rt.runtime.port)))
    for s in sockets:
        s.close()
    time.sleep(0.2)
    with connect(rt.url()) as ws:
        send(ws, {"action": "ping"})
        assert recv_json(ws) == {"type": "pong"}
