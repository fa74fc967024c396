"""members: the room's users with their live connection counts, answered through the route
response; every error code, BatchGetItem paging, truncation and the route's IAM grants."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from realtime_socket.component import policies
from realtime_socket.contract import TOKEN_EXPIRES_CONTEXT_KEY, Table
from realtime_socket.handlers import connect, connections, members, protocol, unsubscribe
from tests.support.helpers import (
    HISTORY,
    FakeContext,
    load_event,
    record_calls,
)


def _connect(db: Any, cfg: Any, cid: str, user: str, room: str | None = "lobby") -> None:
    event = load_event("connect", connectionId=cid, authorizer={"principalId": user, "sub": user})
    event["queryStringParameters"] = {} if room is None else {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _event(body: Any, cid: str = "A", route: str = "members") -> dict[str, Any]:
    event = load_event("sendmessage", connectionId=cid, routeKey=route)
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


def _members(db: Any, cfg: Any, body: Any, cid: str = "A") -> dict[str, Any]:
    answer = members.handle(_event(body, cid), db, cfg)
    assert answer["statusCode"] == 200
    return json.loads(answer["body"])


def _ask(db: Any, cfg: Any, room: str, cid: str = "A") -> dict[str, Any]:
    return _members(db, cfg, {"action": "members", "room": room}, cid)


def _expire(db: Any, table: str, key: str) -> None:
    """Set an item's ttl in the past (DynamoDB deletes expired items only lazily)."""
    db.update_item(
        TableName=table,
        Key={Table.CONNECTION_ID: {"S": key}},
        UpdateExpression="SET #ttl = :past",
        ExpressionAttributeNames={"#ttl": Table.TTL},
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 60)}},
    )


def _allowed(module: str) -> set[tuple[str, str | None]]:
    """The (operation, index or HISTORY) pairs policies.ROUTE_GRANTS gives ``module``
    (as tests/handlers/test_iam_coverage.py maps them)."""
    grants = policies.ROUTE_GRANTS[module]
    allowed = {(a.removeprefix("dynamodb:"), None) for a in grants.table}
    for index, actions in grants.indexes.items():
        allowed |= {(a.removeprefix("dynamodb:"), index) for a in actions}
    allowed |= {(a.removeprefix("dynamodb:"), HISTORY) for a in grants.history}
    return allowed


def test_the_list_is_sorted_by_user_with_connection_counts(table):
    """bob with 2 connections and alice with 1 in lobby: sorted alice, bob; carol in another
    room is not listed."""
    db, cfg = table
    _connect(db, cfg, "A", "bob")
    _connect(db, cfg, "B", "bob")
    _connect(db, cfg, "C", "alice")
    _connect(db, cfg, "D", "carol", room="other")
    assert _ask(db, cfg, "lobby") == {
        "type": "members",
        "room": "lobby",
        "members": [{"user": "alice", "connections": 1}, {"user": "bob", "connections": 2}],
    }


def test_a_connection_in_several_rooms_counts_once_per_room(table):
    """A connection subscribed to a second room is listed in both rooms, once in each."""
    db, cfg = table
    _connect(db, cfg, "A", "bob")
    _connect(db, cfg, "B", "alice", room="news")
    connections.subscribe(db, cfg.table_name, "A", "news", 20)
    expected = [{"user": "alice", "connections": 1}, {"user": "bob", "connections": 1}]
    assert _ask(db, cfg, "news")["members"] == expected
    assert _ask(db, cfg, "lobby")["members"] == [{"user": "bob", "connections": 1}]


def test_expired_rows_are_not_counted(table):
    """A row past its ttl (membership still live) and a fully expired connection are not
    counted; the live ones are."""
    db, cfg = table
    for cid, user in (("A", "alice"), ("B", "bob"), ("C", "bob"), ("D", "dave")):
        _connect(db, cfg, cid, user)
    _expire(db, cfg.table_name, "B")  # the row only: the membership still lists it
    _expire(db, cfg.table_name, "D")
    _expire(db, cfg.table_name, connections.membership_key("D", "lobby"))
    assert _ask(db, cfg, "lobby")["members"] == [
        {"user": "alice", "connections": 1},
        {"user": "bob", "connections": 1},
    ]


def test_a_membership_without_a_row_is_not_counted(table):
    """A membership whose connection row is gone (a half-finished clean-up) counts nobody."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    _connect(db, cfg, "B", "bob")
    db.delete_item(TableName=cfg.table_name, Key={Table.CONNECTION_ID: {"S": "B"}})
    assert _ask(db, cfg, "lobby")["members"] == [{"user": "alice", "connections": 1}]


def test_more_than_one_batch_of_rows_is_all_counted(table):
    """130 connections (BatchGetItem takes 100 keys) of 65 users: every one counted."""
    db, cfg = table
    for n in range(130):
        _connect(db, cfg, f"c{n:03}", f"user{n % 65:02}")
    calls = record_calls(db, cfg.history_table)
    frame = _ask(db, cfg, "lobby", cid="c000")
    assert frame["members"] == [{"user": f"user{u:02}", "connections": 2} for u in range(65)]
    assert "truncated" not in frame
    assert calls.count(("BatchGetItem", None)) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("[1]", "invalid_frame"),
        ("not json", "invalid_frame"),
        ({"action": "members"}, "invalid_room"),
        ({"action": "members", "room": ""}, "invalid_room"),
        ({"action": "members", "room": 7}, "invalid_room"),
        ({"action": "members", "room": "a|b"}, "invalid_room"),
        ({"action": "members", "room": "x" * 129}, "invalid_room"),
        ({"action": "members", "room": "tab\there"}, "invalid_room"),
    ],
)
def test_a_malformed_frame_or_room_is_an_error_frame(table, body, code):
    """Not a JSON object: invalid_frame; a missing or invalid room: invalid_room."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    frame = _members(db, cfg, body)
    assert frame["type"] == "error" and frame["code"] == code
    assert set(frame) == {"type", "code", "message"}


def test_an_unregistered_connection_gets_not_connected(table):
    """No row for the caller: not_connected, even for a room with members."""
    db, cfg = table
    _connect(db, cfg, "B", "bob")
    frame = _ask(db, cfg, "lobby", cid="ghost")
    assert (frame["type"], frame["code"]) == ("error", "not_connected")


def test_an_expired_caller_row_gets_not_connected(table):
    """The caller's row past its ttl counts as absent: not_connected."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    _expire(db, cfg.table_name, "A")
    assert _ask(db, cfg, "lobby")["code"] == "not_connected"


def test_a_room_the_caller_is_not_in_is_not_subscribed(table):
    """Asking for a room with members that the caller never joined: not_subscribed."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    _connect(db, cfg, "B", "bob", room="secret")
    frame = _ask(db, cfg, "secret")
    assert (frame["type"], frame["code"]) == ("error", "not_subscribed")
    assert "members" not in frame


def test_a_room_the_caller_left_is_not_subscribed(table):
    """After unsubscribing from news, members of news is not_subscribed; lobby still works."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    _connect(db, cfg, "B", "bob", room="news")
    connections.subscribe(db, cfg.table_name, "A", "news", 20)
    assert _ask(db, cfg, "news")["type"] == "members"
    leave = _event({"action": "unsubscribe", "room": "news"}, route="unsubscribe")
    assert json.loads(unsubscribe.handle(leave, db, cfg)["body"])["type"] == "unsubscribed"
    assert _ask(db, cfg, "news")["code"] == "not_subscribed"
    assert _ask(db, cfg, "lobby")["members"] == [{"user": "alice", "connections": 1}]


def test_a_list_too_long_for_one_message_is_cut_sorted_and_marked(table, monkeypatch):
    """With a 1 KB limit, 40 long-named users: the answer fits, is a sorted prefix of the
    full list, holds as many users as fit, and says truncated: true."""
    db, cfg = table
    users = [f"user-{n:02}-" + "x" * 40 for n in range(40)]
    for n, user in enumerate(reversed(users)):
        _connect(db, cfg, f"c{n:02}", user)
    full = [{"user": u, "connections": 1} for u in sorted(users)]
    monkeypatch.setattr(members, "MAX_MESSAGE_BYTES", 1024)
    answer = members.handle(_event({"action": "members", "room": "lobby"}, "c00"), db, cfg)
    body = answer["body"].encode()
    assert len(body) <= 1024
    frame = json.loads(body)
    assert frame["type"] == "members" and frame["room"] == "lobby"
    assert frame["truncated"] is True
    kept = frame["members"]
    assert 0 < len(kept) < len(full)
    assert kept == full[: len(kept)]
    # one more user would not have fitted
    bigger = {**frame, "members": full[: len(kept) + 1]}
    assert len(protocol.encode(bigger)) > 1024


def test_a_list_that_fits_exactly_is_not_truncated(table, monkeypatch):
    """A limit equal to the full frame's size: the whole list, with no truncated key."""
    db, cfg = table
    for n in range(5):
        _connect(db, cfg, f"c{n}", f"user{n}")
    full = _ask(db, cfg, "lobby", cid="c0")
    monkeypatch.setattr(members, "MAX_MESSAGE_BYTES", len(protocol.encode(full)))
    assert _ask(db, cfg, "lobby", cid="c0") == full
    assert "truncated" not in full


def test_every_dynamodb_call_is_within_the_routes_grants(table):
    """Success (past one batch), not_subscribed, not_connected, invalid_room: every call is
    allowed by ROUTE_GRANTS["members"], and the success path used Query and BatchGetItem."""
    db, cfg = table
    for n in range(105):
        _connect(db, cfg, f"c{n:03}", f"user{n % 7}")
    _connect(db, cfg, "X", "xavier", room="elsewhere")
    calls = record_calls(db, cfg.history_table)
    assert _ask(db, cfg, "lobby", cid="c000")["type"] == "members"
    assert {("GetItem", None), ("Query", cfg.room_index), ("BatchGetItem", None)} <= set(calls)
    assert _ask(db, cfg, "lobby", cid="X")["code"] == "not_subscribed"
    assert _ask(db, cfg, "lobby", cid="ghost")["code"] == "not_connected"
    assert _members(db, cfg, {"action": "members", "room": "a/b"})["code"] == "invalid_room"
    assert set(calls) <= _allowed("members")


def _entry_event(cid: str, expires: int) -> dict[str, Any]:
    event = _event({"action": "members", "room": "lobby"}, cid)
    event["requestContext"]["authorizer"] = {"sub": "alice", TOKEN_EXPIRES_CONTEXT_KEY: expires}
    return event


def test_the_entry_point_answers_for_a_live_token(table, deployed):
    """members.handler with a token still valid: the members frame, nothing closed."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    answer = members.handler(_entry_event("A", int(time.time()) + 60), FakeContext())
    assert json.loads(answer["body"])["members"] == [{"user": "alice", "connections": 1}]
    assert deployed.deleted == [] and deployed.posts == {}


def test_the_entry_point_refuses_an_expired_token(table, deployed):
    """members.handler with an expired token: token_expired posted, the connection closed,
    no members answer."""
    db, cfg = table
    _connect(db, cfg, "A", "alice")
    answer = members.handler(_entry_event("A", int(time.time()) - 1), FakeContext())
    assert answer == {"statusCode": 200}
    assert [f["code"] for f in deployed.frames("A")] == ["token_expired"]
    assert deployed.deleted == ["A"]


def test_a_cut_list_keeps_every_member_that_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for exactly three members and the truncated flag, three come back (the
    first member is not charged a separating comma)."""
    users = Counter({f"u{n}": 1 for n in range(10)})
    first = [{"user": user, "connections": 1} for user in sorted(users)[:3]]
    exact = len(
        protocol.encode({"type": "members", "room": "r", "members": first, "truncated": True})
    )
    monkeypatch.setattr(members, "MAX_MESSAGE_BYTES", exact)
    frame = members._frame("r", users)
    assert frame["members"] == first and frame["truncated"] is True
    assert len(protocol.encode(frame)) == exact
