"""unsubscribe: leave a room, answered through the route response; not being in it is fine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_socket.handlers import connect, subscribe, unsubscribe
from tests.support.helpers import load_event, memberships, row_rooms


def _connect(db: Any, cfg: Any, room: str = "lobby") -> None:
    event = load_event("connect", connectionId="A")
    event["queryStringParameters"] = {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _call(module: Any, db: Any, cfg: Any, body: Any, cid: str = "A") -> dict[str, Any]:
    event = load_event("sendmessage", connectionId=cid, routeKey=module.__name__.split(".")[-1])
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    answer = module.handle(event, db, cfg)
    assert answer["statusCode"] == 200
    return json.loads(answer["body"])


def test_unsubscribed_frame_and_state(table):
    """``{"type":"unsubscribed","room":R}``; R leaves the set and its membership is deleted."""
    db, cfg = table
    _connect(db, cfg)
    _call(subscribe, db, cfg, {"action": "subscribe", "room": "news"})
    frame = _call(unsubscribe, db, cfg, {"action": "unsubscribe", "room": "lobby"})
    assert frame == {"type": "unsubscribed", "room": "lobby"}
    assert row_rooms(db, cfg.table_name, "A") == {"news"}
    assert memberships(db, cfg.table_name) == {("A", "news")}


def test_unsubscribing_from_a_room_not_joined_is_not_an_error(table):
    """A room the connection is not in (or left already) answers unsubscribed."""
    db, cfg = table
    _connect(db, cfg)
    for room in ("never", "lobby", "lobby"):
        frame = _call(unsubscribe, db, cfg, {"action": "unsubscribe", "room": room})
        assert frame == {"type": "unsubscribed", "room": room}
    assert row_rooms(db, cfg.table_name, "A") == set()
    assert memberships(db, cfg.table_name) == set()


@pytest.mark.parametrize("room", [None, "", 7, "a/b", "a|b", "ctl\u0007"])
def test_an_invalid_room_is_invalid_room(table, room):
    """Missing or invalid room ids get invalid_room and change nothing."""
    db, cfg = table
    _connect(db, cfg)
    body = {"action": "unsubscribe"} if room is None else {"action": "unsubscribe", "room": room}
    assert _call(unsubscribe, db, cfg, body)["code"] == "invalid_room"
    assert memberships(db, cfg.table_name) == {("A", "lobby")}


def test_an_unregistered_connection_gets_not_connected_and_no_row_is_created(table):
    """Without a row: not_connected; the conditional UpdateItem never creates one."""
    db, cfg = table
    frame = _call(unsubscribe, db, cfg, {"action": "unsubscribe", "room": "a"}, cid="ghost")
    assert frame["code"] == "not_connected"
    assert row_rooms(db, cfg.table_name, "ghost") == set()
    assert db.scan(TableName=cfg.table_name)["Count"] == 0
