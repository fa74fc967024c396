"""End to end through the local runtime with real WebSocket clients (the websockets library).

Each test names the API Gateway behaviour it proves, as the README's local-runtime table lists
them; the rules themselves are unit-tested without sockets in ``tests/local/gateway/``. AWS
states the limits at
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
and the WebSocket behaviour at
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api.html
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from realtime_socket.contract import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, Table
from tests.support.helpers import age_connections, mint
from tests.support.ws_client import assert_silent, handshake_status, recv_json, send

# -- rooms and namespaces -------------------------------------------------------------------


def test_message_reaches_exactly_the_senders_room_in_its_namespace(rt):
    with (
        connect(rt.url("chat", "lobby", mint(sub="ann"))) as a,
        connect(rt.url("chat", "lobby", mint(sub="ben"))) as b,
        connect(rt.url("chat", "other", mint(sub="cat"))) as c,
        connect(rt.url("telemetry", "lobby", mint(sub="dan"))) as d,
    ):
        send(a, {"action": "sendmessage", "data": {"n": 1}})
        for ws in (a, b):
            frame = recv_json(ws)
            assert (frame["type"], frame["room"], frame["from"], frame["data"]) == (
                "message",
                "lobby",
                "ann",
                {"n": 1},
            )
        assert_silent(c)
        assert_silent(d)
        send(d, {"action": "sendmessage", "data": "telemetry only"})
        assert recv_json(d)["data"] == "telemetry only"
        assert_silent(a, 0.3)


def test_a_client_cannot_pick_another_room_by_message(rt):
    """Naming a room it is not in is not_subscribed; ``from`` is always the verified sub."""
    with (
        connect(rt.url("chat", "lobby", mint(sub="eve"))) as eve,
        connect(rt.url("chat", "vault", mint(sub="vic"))) as vic,
    ):
        send(eve, {"action": "sendmessage", "room": "vault", "from": "vic", "data": "x"})
        assert recv_json(eve)["code"] == "not_subscribed"
        send(eve, {"action": "sendmessage", "from": "vic", "data": "x"})
        frame = recv_json(eve)
        assert (frame["room"], frame["from"]) == ("lobby", "eve")
        assert_silent(vic)


# -- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "invalid_frame"),
        ("[1]", "invalid_frame"),
        ({"action": "nope"}, "unknown_action"),
    ],
)
def test_default_route_receives_what_no_route_matches(rt, frame, code):
    with connect(rt.url()) as ws:
        send(ws, frame)
        answer = recv_json(ws)
        assert (answer["type"], answer["code"]) == ("error", code)
    assert rt.routes_logged("$default")


def test_ping_answers_pong_through_the_route_response(rt):
    with connect(rt.url()) as ws:
        send(ws, {"action": "ping"})
        assert recv_json(ws) == {"type": "pong"}


def test_binary_frames_reach_default_base64_encoded(rt):
    with connect(rt.url()) as ws:
        ws.send(b"\xff\xfe\x00binary")
        assert recv_json(ws)["code"] == "invalid_frame"


# -- handshake and authorizer --------------------------------------------------------------


def test_connect_non_2xx_status_reaches_the_client(rt):
    """$connect's 400 for a bad room id is the client's handshake status (no room_id is fine)."""
    assert handshake_status(rt.url(room="bad/room")) == 400
    assert handshake_status(rt.url(room="")) == 400


def test_missing_identity_source_is_401_without_invoking_the_authorizer(rt):
    before = len(rt.routes_logged("$connect(authorizer)"))
    assert handshake_status(rt.url(token=None)) == 401
    assert handshake_status(f"{rt.runtime.ws_url('chat')}?room_id=lobby&token=") == 401
    assert len(rt.routes_logged("$connect(authorizer)")) == before


@pytest.mark.parametrize(
    "claims",
    [{"exp": int(time.time()) - 60}, {"aud": "someone-else"}, {"iss": "https://evil/"}],
    ids=["expired", "wrong-audience", "wrong-issuer"],
)
def test_bad_tokens_are_refused_at_the_handshake_with_401(rt, claims):
    assert handshake_status(rt.url(token=mint(**claims))) == 401


def test_deny_policy_is_403(rt):
    assert handshake_status(rt.url(token=mint(sub="u" * 300))) == 403


def test_token_from_another_namespace_secret_is_refused(rt):
    assert handshake_status(rt.url(token=mint(key="x" * 48))) == 401


def test_authorizer_context_reaches_every_later_event(rt):
    with connect(rt.url(token=mint(sub="zoe", name="Zoe"))) as ws:
        send(ws, {"action": "echo"})
        event = recv_json(ws)["event"]
        assert event["requestContext"]["authorizer"]["principalId"] == "zoe"
        assert event["requestContext"]["authorizer"]["sub"] == "zoe"
        assert event["requestContext"]["authorizer"]["name"] == "Zoe"


def test_message_events_are_shaped_like_aws(rt):
    with connect(rt.url(), user_agent_header="probe/1.0") as ws:
        send(ws, {"action": "echo", "x": 1})
        event = recv_json(ws)["event"]
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "echo"
    assert ctx["eventType"] == "MESSAGE"
    assert ctx["stage"] == "live"
    assert ctx["apiId"] == rt.runtime.model.apis["chat"].api_id
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "probe/1.0"
    assert ctx["messageId"] and ctx["connectionId"].endswith("=")
    assert ctx["connectedAt"] <= ctx["requestTimeEpoch"]
    assert ctx["domainName"]
    assert json.loads(event["body"]) == {"action": "echo", "x": 1}
    assert event["isBase64Encoded"] is False


def test_disconnect_event_carries_status_and_reason(rt):
    with connect(rt.url(token=mint(sub="dee"))) as ws:
        send(ws, {"action": "ping"})
        recv_json(ws)
        ws.close(4001, "bye now")
    deadline = time.time() + 10
    while time.time() < deadline:
        lines = [
            json.loads(x)
            for x in Path(rt.handler_log).read_text().splitlines()
            if x.startswith("{")
        ]
        found = [
            x
            for x in lines
            if x.get("route") == "$disconnect" and x.get("disconnectStatusCode") == 4001
        ]
        if found:
            assert found[-1]["disconnectReason"] == "bye now"
            return
        time.sleep(0.1)
    pytest.fail("no $disconnect with the client's close code")


def test_subprotocol_is_returned_only_when_connect_sets_it(rt):
    token = mint()
    with connect(rt.url("proto", token=None), subprotocols=["realtime-socket", token]) as ws:
        assert ws.subprotocol == "realtime-socket"
    with connect(rt.url("chat"), subprotocols=["something-else"]) as ws:
        assert ws.subprotocol is None


# -- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["boom", "slow"])
def test_handler_error_or_timeout_sends_internal_server_error_and_keeps_the_connection(rt, action):
    with connect(rt.url()) as ws:
        send(ws, {"action": action})
        frame = recv_json(ws, timeout=15)
        assert frame["message"] == "Internal server error"
        assert frame["connectionId"].endswith("=")
        send(ws, {"action": "ping"})
        assert recv_json(ws) == {"type": "pong"}


# -- @connections -------------------------------------------------------------------------


def _connection_id(rt, ws) -> str:
    send(ws, {"action": "echo"})
    return recv_json(ws)["event"]["requestContext"]["connectionId"]


def test_management_api_post_get_delete(rt):
    client = rt.management("chat")
    with connect(rt.url()) as ws:
        cid = _connection_id(rt, ws)
        client.post_to_connection(ConnectionId=cid, Data=b'{"from":"backend"}')
        assert recv_json(ws) == {"from": "backend"}
        info = client.get_connection(ConnectionId=cid)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert info["ConnectedAt"] <= info["LastActiveAt"]
        client.delete_connection(ConnectionId=cid)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"x")


def test_management_api_410_for_unknown_and_other_namespaces(rt):
    chat, telemetry = rt.management("chat"), rt.management("telemetry")
    with pytest.raises(chat.exceptions.GoneException):
        chat.post_to_connection(ConnectionId="AAAAAAAAAAA=", Data=b"x")
    with pytest.raises(chat.exceptions.GoneException):
        chat.get_connection(ConnectionId="AAAAAAAAAAA=")
    with connect(rt.url("chat")) as ws:
        cid = _connection_id(rt, ws)
        with pytest.raises(telemetry.exceptions.GoneException):
            telemetry.post_to_connection(ConnectionId=cid, Data=b"x")
        assert_silent(ws, 0.3)


def test_management_api_413_over_128_kb(rt):
    client = rt.management("chat")
    with connect(rt.url()) as ws:
        cid = _connection_id(rt, ws)
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=cid, Data=b"x" * (MAX_MESSAGE_BYTES + 1))
        client.post_to_connection(ConnectionId=cid, Data=b"y" * (MAX_MESSAGE_BYTES))
        assert len(ws.recv(timeout=5)) == MAX_MESSAGE_BYTES


# -- limits -------------------------------------------------------------------------------


def test_frame_over_32_kb_closes_with_1009(rt):
    # the send itself may already see the close
    with connect(rt.url(), max_size=None) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.send("x" * (MAX_FRAME_BYTES + 1))
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1009


def test_message_over_128_kb_in_small_frames_closes_with_1009(rt):
    # the send itself may already see the close
    with connect(rt.url(), max_size=None) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.send(["x" * 30_000 for _ in range(5)])  # 150,000 bytes in 30 KB fragments
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1009


def test_fragmented_message_under_128_kb_is_delivered(rt):
    with connect(rt.url()) as ws:
        body = json.dumps({"action": "sendmessage", "data": "z" * 90_000})
        ws.send([body[i : i + 30_000] for i in range(0, len(body), 30_000)])
        assert recv_json(ws)["data"] == "z" * 90_000


def test_idle_timeout_closes_with_1001_and_messages_reset_it(rt):
    with connect(rt.url()) as idle, connect(rt.url()) as active:
        rt.clock.advance(500)
        send(active, {"action": "ping"})
        recv_json(active)
        rt.clock.advance(200)  # idle: 700 s without a message; active: 200 s
        assert rt.call(rt.runtime.reap()) == 1
        with pytest.raises(ConnectionClosed) as closed:
            idle.recv(timeout=5)
        assert closed.value.rcvd.code == 1001
        send(active, {"action": "ping"})
        assert recv_json(active) == {"type": "pong"}


def test_two_hour_cap_closes_even_active_connections(rt):
    with connect(rt.url()) as ws:
        for _ in range(13):  # 13 x 9.5 min: never idle, but past 2 hours in total
            rt.clock.advance(570)
            send(ws, {"action": "ping"})
            recv_json(ws)
            rt.call(rt.runtime.reap())
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1001


# -- table hygiene ------------------------------------------------------------------------


def test_vanished_client_is_removed_by_the_next_broadcast(standard_model, tmp_path):
    from tests.support.runtime_harness import RunningRuntime

    lost = RunningRuntime(standard_model, deliver_disconnect=False)  # $disconnect is best effort
    try:
        db, table = lost.dynamodb(), lost.table_name("chat")
        with connect(lost.url(token=mint(sub="stay"))) as stay:
            ghost = connect(lost.url(token=mint(sub="ghost")), legacy=True)
            ghost_id = _connection_id(lost, ghost)
            ghost.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the client just vanishes
            ghost.socket.close()
            deadline = time.time() + 5
            while ghost_id in lost.runtime.connections and time.time() < deadline:
                time.sleep(0.05)
            assert db.get_item(TableName=table, Key={Table.CONNECTION_ID: {"S": ghost_id}}).get(
                "Item"
            )
            age_connections(db, table, [ghost_id])  # past the grace for a 410 in $connect
            send(stay, {"action": "sendmessage", "data": "anyone?"})
            assert recv_json(stay)["data"] == "anyone?"
            deadline = time.time() + 5
            while time.time() < deadline:
                item = db.get_item(TableName=table, Key={Table.CONNECTION_ID: {"S": ghost_id}})
                if "Item" not in item:
                    break
                time.sleep(0.05)
            assert "Item" not in item
    finally:
        lost.close()


def test_disconnect_removes_the_row(rt):
    db, table = rt.dynamodb(), rt.table_name("chat")
    with connect(rt.url()) as ws:
        cid = _connection_id(rt, ws)
        assert db.get_item(TableName=table, Key={Table.CONNECTION_ID: {"S": cid}}).get("Item")
    deadline = time.time() + 10
    while time.time() < deadline:
        if "Item" not in db.get_item(TableName=table, Key={Table.CONNECTION_ID: {"S": cid}}):
            return
        time.sleep(0.05)
    pytest.fail("row still present after $disconnect")


def test_unknown_path_is_404(rt):
    assert handshake_status(rt.runtime.ws_url("nope") + "?room_id=a") == 404


def test_management_errors_are_modeled_for_botocore(rt):
    client = rt.management("chat")
    with pytest.raises(ClientError) as caught:
        client.delete_connection(ConnectionId="AAAAAAAAAAA=")
    assert caught.value.response["Error"]["Code"] == "GoneException"
