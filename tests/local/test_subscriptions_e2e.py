"""Several rooms per connection end to end: the dev stack (``telemetry`` checks the rooms claim,
``chat`` leaves rooms open) served by the local runtime, real WebSocket clients, the table
read back to prove the row's set of rooms and the membership items agree."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from realtime_socket.contract import DEFAULT_MAX_ROOMS_PER_CONNECTION, Table
from realtime_socket.local.model import build
from tests.support.helpers import (
    age_connections,
    eventually,
    memberships,
    row_rooms,
    table_items,
)
from tests.support.runtime_harness import RunningRuntime
from tests.support.stack_project import run_stack
from tests.support.ws_client import ask, assert_silent, recv_json, send


def _runtime(tmp_path_factory: Any, name: str, **options: Any) -> RunningRuntime:
    output = (tmp_path_factory.mktemp(name) / "handlers.log").open("w")
    running = RunningRuntime(build(run_stack()), handler_output=output, **options)
    running.handler_log = Path(output.name)  # type: ignore[attr-defined]
    running.handler_file = output  # type: ignore[attr-defined]
    return running


@pytest.fixture(scope="module")
def dev_rt(tmp_path_factory) -> Iterator[RunningRuntime]:
    """The repository's own dev stack, as ``make run`` serves it."""
    running = _runtime(tmp_path_factory, "subscriptions")
    yield running
    running.close()
    running.handler_file.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def lossy_rt(tmp_path_factory) -> Iterator[RunningRuntime]:
    """The dev stack with ``$disconnect`` never delivered (``--lossy-disconnect``)."""
    running = _runtime(tmp_path_factory, "lossy", deliver_disconnect=False)
    yield running
    running.close()
    running.handler_file.close()  # type: ignore[attr-defined]


def _sub(ws: ClientConnection, room: str) -> dict[str, Any]:
    return ask(ws, {"action": "subscribe", "room": room})


def _cid(rt: RunningRuntime, namespace: str, user: str) -> str:
    """The connection id of ``user``'s only connection: its row's key."""
    items = table_items(rt.dynamodb(), rt.table_name(namespace))
    [cid] = [k for k, item in items.items() if item.get(Table.USER_ID, {}).get("S") == user]
    return cid


def _vanish(rt: RunningRuntime, ws: ClientConnection) -> None:
    """Drop the TCP connection without a close frame, and wait until the runtime notices."""
    before = len(rt.runtime.connections)
    ws.socket.shutdown(socket.SHUT_RDWR)
    ws.socket.close()
    assert eventually(lambda: len(rt.runtime.connections) < before)


def test_several_rooms_on_one_connection_and_no_message_crosses_rooms(dev_rt):
    """One socket in two rooms hears both; each message reaches only the room it names."""
    with (
        connect(dev_rt.dev_url("chat", sub="multi")) as multi,
        connect(dev_rt.dev_url("chat", "alpha", sub="in-alpha")) as alpha,
        connect(dev_rt.dev_url("chat", "beta", sub="in-beta")) as beta,
    ):
        assert _sub(multi, "alpha") == {"type": "subscribed", "room": "alpha", "seq": 0}
        assert _sub(multi, "beta") == {"type": "subscribed", "room": "beta", "seq": 0}
        send(multi, {"action": "sendmessage", "room": "alpha", "data": "to alpha"})
        for ws in (multi, alpha):
            frame = recv_json(ws)
            assert (frame["type"], frame["room"], frame["from"]) == ("message", "alpha", "multi")
            assert frame["data"] == "to alpha" and len(frame["id"]) == 32
        assert_silent(beta, 0.3)
        send(beta, {"action": "sendmessage", "data": "from beta"})  # one room: room optional
        for ws in (multi, beta):
            assert (recv_json(ws)["room"], "from beta") == ("beta", "from beta")
        assert_silent(alpha, 0.3)


def test_no_message_crosses_namespaces(dev_rt):
    """The same room name in chat and telemetry: a chat message never reaches telemetry."""
    with (
        connect(dev_rt.dev_url("chat", sub="c1")) as chat,
        connect(dev_rt.dev_url("telemetry", sub="t1", rooms=["shared"])) as tele,
    ):
        assert _sub(chat, "shared")["type"] == "subscribed"
        assert _sub(tele, "shared")["type"] == "subscribed"
        send(chat, {"action": "sendmessage", "room": "shared", "data": 1})
        assert recv_json(chat)["room"] == "shared"
        assert_silent(tele, 0.3)


def test_every_frame_and_error_code(dev_rt):
    """Every frame and error code of the protocol, on one connection."""
    with (
        connect(dev_rt.dev_url("chat", sub="proto")) as ws,
        connect(dev_rt.dev_url("chat", "gamma", sub="other")) as other,
    ):
        assert ask(ws, {"action": "sendmessage", "data": 1})["code"] == "missing_room"
        assert _sub(ws, "gamma")["type"] == "subscribed"
        assert _sub(ws, "gamma") == {"type": "subscribed", "room": "gamma", "seq": 0}  # idempotent
        assert _sub(ws, "delta")["type"] == "subscribed"
        assert ask(ws, {"action": "sendmessage", "data": 1})["code"] == "missing_room"
        unsub = ask(ws, {"action": "unsubscribe", "room": "gamma"})
        assert unsub == {"type": "unsubscribed", "room": "gamma"}
        never = ask(ws, {"action": "unsubscribe", "room": "never-joined"})
        assert never == {"type": "unsubscribed", "room": "never-joined"}
        sent = ask(ws, {"action": "sendmessage", "room": "gamma", "data": 1})
        assert sent["code"] == "not_subscribed"
        send(other, {"action": "sendmessage", "data": "after unsubscribe"})
        assert recv_json(other)["data"] == "after unsubscribe"
        assert_silent(ws, 0.3)  # it left gamma
        for bad in ("", "a/b", "a|b", "x" * 129, 7):
            frame = _sub(ws, bad)  # type: ignore[arg-type]
            assert (frame["type"], frame["code"]) == ("error", "invalid_room")
        assert set(ask(ws, {"action": "unsubscribe"})) == {"type", "code", "message"}
        frame = ask(ws, {"action": "sendmessage", "data": 2})  # delta is its only room now
        assert (frame["type"], frame["room"]) == ("message", "delta")


@pytest.mark.parametrize(
    "room", ["tab\there", "nul\u0000x", "bell\u0007", "new\nline", "del\u007f"]
)
def test_a_room_with_control_characters_is_invalid_room_and_writes_nothing(dev_rt, room):
    """Control characters in a subscribe's room: invalid_room; the row's set stays empty."""
    user = f"ctl-{room.encode().hex()}"
    with connect(dev_rt.dev_url("chat", sub=user)) as ws:
        frame = _sub(ws, room)
        assert (frame["type"], frame["code"]) == ("error", "invalid_room")
        cid = _cid(dev_rt, "chat", user)
        db, table = dev_rt.dynamodb(), dev_rt.table_name("chat")
        assert row_rooms(db, table, cid) == set()
        assert not {pair for pair in memberships(db, table) if pair[0] == cid}


def test_forbidden_by_the_rooms_claim_at_subscribe(dev_rt):
    """telemetry: exact and pattern grants subscribe; anything else is forbidden, not joined."""
    url = dev_rt.dev_url("telemetry", sub="ann", rooms=["device-42", "team-7*"])
    with connect(url) as ws:
        assert _sub(ws, "device-42")["type"] == "subscribed"
        assert _sub(ws, "team-7:ops")["type"] == "subscribed"
        for room in ("device-43", "team-8", "device-4"):
            assert _sub(ws, room)["code"] == "forbidden"
        cid = _cid(dev_rt, "telemetry", "ann")
        assert row_rooms(dev_rt.dynamodb(), dev_rt.table_name("telemetry"), cid) == {
            "device-42",
            "team-7:ops",
        }
    with connect(dev_rt.dev_url("telemetry", sub="noclaim", claims={})) as ws:
        assert _sub(ws, "device-42")["code"] == "forbidden"  # no claim while one is required


def test_a_subscribe_storm_past_the_limit_is_too_many_rooms_and_state_stays_consistent(dev_rt):
    """25 subscribes past the default 20: too_many_rooms, and set and memberships agree."""
    with connect(dev_rt.dev_url("chat", "storm-0", sub="stormer")) as ws:
        for i in range(1, 26):
            send(ws, {"action": "subscribe", "room": f"storm-{i}"})
        answers = [recv_json(ws) for _ in range(25)]
        limit = DEFAULT_MAX_ROOMS_PER_CONNECTION
        assert [a.get("code", a["type"]) for a in answers] == ["subscribed"] * (limit - 1) + [
            "too_many_rooms"
        ] * (26 - limit)
        cid = _cid(dev_rt, "chat", "stormer")
        db, table = dev_rt.dynamodb(), dev_rt.table_name("chat")
        rooms = row_rooms(db, table, cid)
        assert rooms == {f"storm-{i}" for i in range(limit)}
        assert {room for c, room in memberships(db, table) if c == cid} == rooms
        assert _sub(ws, "storm-3")["type"] == "subscribed"  # a held room still succeeds
        assert ask(ws, {"action": "unsubscribe", "room": "storm-3"})["type"] == "unsubscribed"
        assert _sub(ws, "storm-99")["type"] == "subscribed"  # a freed slot can be reused


def test_one_room_clients_work_unchanged(dev_rt):
    """``?room_id=`` plus ``sendmessage`` without ``room``: today's clients, today's frames
    (plus ``seq``, an added field old clients ignore)."""
    with (
        connect(dev_rt.dev_url("chat", "classic", sub="old-1")) as one,
        connect(dev_rt.dev_url("chat", "classic", sub="old-2")) as two,
    ):
        send(one, {"action": "sendmessage", "data": {"text": "hi"}})
        for ws in (one, two):
            frame = recv_json(ws)
            assert set(frame) == {"type", "room", "from", "data", "id", "seq", "ts"}
            assert (frame["room"], frame["from"], frame["data"]) == (
                "classic",
                "old-1",
                {"text": "hi"},
            )


def test_disconnect_removes_the_row_and_every_membership(dev_rt):
    """A connection in three rooms closes: its row and its three memberships are deleted."""
    db, table = dev_rt.dynamodb(), dev_rt.table_name("chat")
    with connect(dev_rt.dev_url("chat", "d-1", sub="leaver")) as ws:
        for room in ("d-2", "d-3"):
            assert _sub(ws, room)["type"] == "subscribed"
        cid = _cid(dev_rt, "chat", "leaver")
        assert {room for c, room in memberships(db, table) if c == cid} == {"d-1", "d-2", "d-3"}
    assert eventually(lambda: not any(k.split("|")[0] == cid for k in table_items(db, table)))


def test_a_lost_disconnect_is_cleaned_by_the_next_broadcast(lossy_rt):
    """$disconnect lost: the next broadcast's 410 removes the row and all its memberships."""
    db, table = lossy_rt.dynamodb(), lossy_rt.table_name("chat")
    with connect(lossy_rt.dev_url("chat", "l-1", sub="stayer")) as stay:
        ghost = connect(lossy_rt.dev_url("chat", "l-1", sub="ghost"), legacy=True)
        for room in ("l-2", "l-3"):
            assert _sub(ghost, room)["type"] == "subscribed"
        ghost_id = _cid(lossy_rt, "chat", "ghost")
        _vanish(lossy_rt, ghost)
        assert {room for c, room in memberships(db, table) if c == ghost_id} == {
            "l-1",
            "l-2",
            "l-3",
        }
        age_connections(db, table, [ghost_id])  # past the grace for a 410 in $connect
        send(stay, {"action": "sendmessage", "data": "anyone?"})
        assert recv_json(stay)["data"] == "anyone?"
        assert eventually(
            lambda: not any(k.split("|")[0] == ghost_id for k in table_items(db, table))
        )
        stay_id = _cid(lossy_rt, "chat", "stayer")
        assert row_rooms(db, table, stay_id) == {"l-1"}


def test_an_expired_membership_is_not_posted_to(lossy_rt):
    """TTL covers a lost $disconnect: an expired membership is not even posted to."""
    db, table = lossy_rt.dynamodb(), lossy_rt.table_name("chat")
    with connect(lossy_rt.dev_url("chat", "t-1", sub="live-one")) as live:
        ghost = connect(lossy_rt.dev_url("chat", "t-1", sub="expired-one"), legacy=True)
        ghost_id = _cid(lossy_rt, "chat", "expired-one")
        _vanish(lossy_rt, ghost)
        past = str(int(time.time()) - 1)
        for key in (ghost_id, f"{ghost_id}|t-1"):  # what DynamoDB's TTL would find expired
            db.update_item(
                TableName=table,
                Key={Table.CONNECTION_ID: {"S": key}},
                UpdateExpression="SET #ttl = :past",
                ExpressionAttributeNames={"#ttl": Table.TTL},
                ExpressionAttributeValues={":past": {"N": past}},
            )
        send(live, {"action": "sendmessage", "data": "ttl"})
        assert recv_json(live)["data"] == "ttl"

        def logged() -> list[dict[str, Any]]:
            lines = lossy_rt.handler_log.read_text().splitlines()  # type: ignore[attr-defined]
            records = [json.loads(line) for line in lines if line.startswith("{")]
            return [
                r for r in records if r.get("route") == "sendmessage" and r.get("room") == "t-1"
            ]

        assert eventually(lambda: bool(logged()))
        assert (logged()[-1]["delivered"], logged()[-1]["gone"]) == (1, 0)
