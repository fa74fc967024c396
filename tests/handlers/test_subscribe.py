"""subscribe: one more room per frame, answered through the route response; every error code,
and the row's set and the membership items always agree."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from realtime_socket.contract import ROOM_GRANTS_CONTEXT_KEY, Env
from realtime_socket.handlers import clients, connect, sendmessage, subscribe
from tests.support.helpers import (
    FakeContext,
    ScriptedConnections,
    load_event,
    memberships,
    row_rooms,
)


def _connect(db: Any, cfg: Any, cid: str = "A", room: str | None = None) -> None:
    event = load_event("connect", connectionId=cid)
    event["queryStringParameters"] = {} if room is None else {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _event(body: Any, cid: str = "A", grants: str | None = None) -> dict[str, Any]:
    event = load_event("sendmessage", connectionId=cid, routeKey="subscribe")
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    if grants is not None:
        event["requestContext"]["authorizer"][ROOM_GRANTS_CONTEXT_KEY] = grants
    return event


def _subscribe(db: Any, cfg: Any, body: Any, **kwargs: Any) -> dict[str, Any]:
    check = kwargs.pop("check_rooms", False)
    answer = subscribe.handle(_event(body, **kwargs), db, cfg, check_rooms=check)
    assert answer["statusCode"] == 200
    return json.loads(answer["body"])


def test_subscribed_frame_and_state(table):
    """``{"type":"subscribed","room":R,"seq":0}`` for a room without messages yet; R is in
    the row's set and has a membership."""
    db, cfg = table
    _connect(db, cfg)
    frame = _subscribe(db, cfg, {"action": "subscribe", "room": "news"})
    assert frame == {"type": "subscribed", "room": "news", "seq": 0}
    assert row_rooms(db, cfg.table_name, "A") == {"news"}
    assert memberships(db, cfg.table_name) == {("A", "news")}


def test_subscribing_again_is_idempotent_success(table):
    """A room the connection is in already answers subscribed and changes nothing."""
    db, cfg = table
    _connect(db, cfg, room="lobby")
    for _ in range(2):
        assert _subscribe(db, cfg, {"action": "subscribe", "room": "lobby"})["type"] == "subscribed"
    assert row_rooms(db, cfg.table_name, "A") == {"lobby"}
    assert memberships(db, cfg.table_name) == {("A", "lobby")}


@pytest.mark.parametrize(
    "room",
    [None, "", 42, ["a"], "x" * 129, "a/b", "a|b", "tab\there", "nul\u0000", "ctl\u0001", "é"],
)
def test_an_invalid_room_is_invalid_room_and_writes_nothing(table, room):
    """Missing, not a string, too long, a separator or control characters: invalid_room."""
    db, cfg = table
    _connect(db, cfg)
    body = {"action": "subscribe"} if room is None else {"action": "subscribe", "room": room}
    assert _subscribe(db, cfg, body)["code"] == "invalid_room"
    assert row_rooms(db, cfg.table_name, "A") == set()
    assert memberships(db, cfg.table_name) == set()


def test_a_frame_that_is_not_an_object_is_invalid_frame(table):
    """Subscribe bodies that are not JSON objects get invalid_frame."""
    db, cfg = table
    _connect(db, cfg)
    assert _subscribe(db, cfg, "[1]")["code"] == "invalid_frame"


@pytest.mark.parametrize(
    ("room", "grants", "code"),
    [
        ("lobby", '["lobby"]', "subscribed"),
        ("team-7:ops", '["team-7*"]', "subscribed"),
        ("team-8", '["lobby","team-7*"]', "forbidden"),
        ("lobby2", '["lobby"]', "forbidden"),
        ("lobby", "[]", "forbidden"),
        ("lobby", None, "forbidden"),
    ],
)
def test_rooms_claim_is_enforced_at_subscribe(table, room, grants, code):
    """With jwt.rooms_claim, subscribe checks the token's grants as $connect does."""
    db, cfg = table
    _connect(db, cfg)
    frame = _subscribe(
        db, cfg, {"action": "subscribe", "room": room}, grants=grants, check_rooms=True
    )
    assert frame.get("code", frame["type"]) == code
    assert row_rooms(db, cfg.table_name, "A") == ({room} if code == "subscribed" else set())


def test_too_many_rooms_past_the_limit_and_state_stays_consistent(table):
    """A storm past ``max_rooms_per_connection``: too_many_rooms, set and memberships agree."""
    db, cfg = table
    cfg = type(cfg)(**{**cfg.__dict__, "max_rooms_per_connection": 3})
    _connect(db, cfg, room="r0")
    codes = [
        _subscribe(db, cfg, {"action": "subscribe", "room": f"r{i}"}).get("code", "ok")
        for i in range(10)
    ]
    assert codes == ["ok", "ok", "ok"] + ["too_many_rooms"] * 7
    rooms = row_rooms(db, cfg.table_name, "A")
    assert rooms == {"r0", "r1", "r2"}
    assert memberships(db, cfg.table_name) == {("A", r) for r in rooms}
    assert _subscribe(db, cfg, {"action": "subscribe", "room": "r1"})["type"] == "subscribed"


def test_an_unregistered_connection_gets_not_connected(table):
    """No row: not_connected, and no membership is written."""
    db, cfg = table
    assert _subscribe(db, cfg, {"action": "subscribe", "room": "a"})["code"] == "not_connected"
    assert memberships(db, cfg.table_name) == set()


def test_the_deployed_entry_point_reads_the_limit_and_the_rooms_claim(table, monkeypatch):
    """``handler`` takes MAX_ROOMS_PER_CONNECTION and JWT_ROOMS_CLAIM from the environment."""
    db, cfg = table
    _connect(db, cfg)
    clients.set_clients(dynamodb=db)
    monkeypatch.setenv(Env.TABLE_NAME, cfg.table_name)
    monkeypatch.setenv(Env.HISTORY_TABLE_NAME, cfg.history_table)
    monkeypatch.setenv(Env.MAX_ROOMS_PER_CONNECTION, "1")
    monkeypatch.setenv(Env.JWT_ROOMS_CLAIM, "rooms")
    assert os.environ[Env.JWT_ROOMS_CLAIM] == "rooms"

    def answer(room: str) -> dict[str, Any]:
        event = _event({"action": "subscribe", "room": room}, grants='["a","b"]')
        return json.loads(subscribe.handler(event, FakeContext())["body"])

    assert answer("a")["type"] == "subscribed"
    assert answer("c")["code"] == "forbidden"
    assert answer("b")["code"] == "too_many_rooms"


def test_subscribed_carries_the_rooms_last_seq(table: Any, endpoint: ScriptedConnections) -> None:
    """After 3 messages in news, subscribing to it answers seq 3; a silent room answers 0."""
    db, cfg = table
    _connect(db, cfg, cid="B", room="news")
    send = load_event("sendmessage", connectionId="B")
    for n in range(3):
        send["body"] = json.dumps({"action": "sendmessage", "data": n})
        sendmessage.handle(send, db, endpoint.api(), cfg)
    assert [f["seq"] for f in endpoint.frames("B")] == [1, 2, 3]
    _connect(db, cfg)
    assert _subscribe(db, cfg, {"action": "subscribe", "room": "news"}) == {
        "type": "subscribed",
        "room": "news",
        "seq": 3,
    }
    assert _subscribe(db, cfg, {"action": "subscribe", "room": "quiet"})["seq"] == 0
