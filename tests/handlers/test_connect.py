"""$connect: room validation, room authorization, the row it writes, the subprotocol it echoes."""

from __future__ import annotations

import json
import os
import time

import pytest

from realtime_socket.contract import (
    MAX_CONNECTION_SECONDS,
    ROOM_GRANTS_CONTEXT_KEY,
    Env,
    Table,
)
from realtime_socket.handlers import clients, connect, connections
from tests.support.helpers import FakeContext, load_event, memberships, mint, table_items


def _row(db, cfg, cid="conn-A="):
    key = {Table.CONNECTION_ID: {"S": cid}}
    return db.get_item(TableName=cfg.table_name, Key=key).get("Item")


def test_connect_records_room_user_and_ttl(table):
    """The row holds its rooms, verified user and a TTL past API Gateway's 2-hour cap."""
    db, cfg = table
    before = int(time.time())
    answer = connect.handle(load_event("connect"), db, cfg)
    assert answer["statusCode"] == 200
    item = _row(db, cfg)
    assert item[Table.ROOMS]["SS"] == ["lobby"]
    assert Table.ROOM_ID not in item  # the row itself is not in the room index
    assert item[Table.USER_ID]["S"] == "alice"
    ttl = int(item[Table.TTL]["N"])
    # API Gateway's 2-hour cap plus a margin, so a late $disconnect still finds the row.
    assert before + MAX_CONNECTION_SECONDS < ttl <= int(time.time()) + cfg.ttl_seconds
    assert abs(int(item[Table.CONNECTED_AT]["N"]) / 1000 - before) < 5


@pytest.mark.parametrize(
    "room",
    ["", "x" * 129, "a/b", "../etc", "room id", "room\u0000", "r\u00e9sum\u00e9", "a|b", "a?b"],
)
def test_bad_room_id_is_refused_with_400_and_nothing_written(table, room):
    db, cfg = table
    event = load_event("connect")
    event["queryStringParameters"] = {"room_id": room}
    answer = connect.handle(event, db, cfg)
    assert answer["statusCode"] == 400
    assert "room_id" in answer["body"]
    assert _row(db, cfg) is None


@pytest.mark.parametrize("room", ["a", "x" * 128, "team-1_dev.eu:ops"])
def test_valid_room_ids_at_the_edges_are_accepted(table, room):
    db, cfg = table
    event = load_event("connect")
    event["queryStringParameters"] = {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200
    assert connections.get(db, cfg.table_name, "conn-A=").rooms == {room}


def test_without_verified_subject_nothing_is_written(table):
    db, cfg = table
    event = load_event("connect", authorizer=None)
    assert connect.handle(event, db, cfg)["statusCode"] == 401
    assert _row(db, cfg) is None


def test_subprotocol_is_echoed_without_the_token(table):
    db, cfg = table
    token = mint()
    event = load_event("connect")
    event["headers"]["Sec-WebSocket-Protocol"] = f"realtime-socket, {token}"
    answer = connect.handle(event, db, cfg)
    assert answer["headers"] == {"Sec-WebSocket-Protocol": "realtime-socket"}
    assert token not in json.dumps(answer)


def test_no_subprotocol_header_unless_offered(table):
    db, cfg = table
    answer = connect.handle(load_event("connect"), db, cfg)
    assert "headers" not in answer


def test_one_json_log_line_without_the_token(table, lambda_log):
    """One line in Lambda's JSON format: request id, level, the event's fields, no token."""
    db, cfg = table
    token = mint()
    event = load_event("connect")
    event["queryStringParameters"]["token"] = token
    connect.handle(event, db, cfg)
    [record] = lambda_log.records()
    assert record["requestId"] == "00000000-0000-0000-0000-000000000000"
    assert (record["level"], record["logger"]) == ("INFO", "realtime_socket.handlers")
    assert record["message"] == "$connect ok"
    assert record["route"] == "$connect"
    assert record["connectionId"] == "conn-A="
    assert record["room"] == "lobby"
    assert record["outcome"] == "ok"
    assert record["durationMs"] >= 0
    assert token not in lambda_log.text


def test_connections_per_user_are_capped(capped_table):
    db, cfg = capped_table
    answers = []
    for i in range(3):
        event = load_event("connect", connectionId=f"c{i}")
        answers.append(connect.handle(event, db, cfg)["statusCode"])
    assert answers == [200, 200, 429]
    assert _row(db, cfg, "c2") is None
    other = load_event(
        "connect", connectionId="d0", authorizer={"principalId": "bob", "sub": "bob"}
    )
    assert connect.handle(other, db, cfg)["statusCode"] == 200  # the cap is per user


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://app.example.com", 200),
        ("https://evil.example.net", 403),
        ("null", 403),
        (None, 200),  # servers and devices send no Origin; browsers always do
    ],
)
def test_origin_allow_list(table, origin, status):
    db, cfg = table
    cfg = type(cfg)(**{**cfg.__dict__, "allowed_origins": ("https://app.example.com",)})
    event = load_event("connect")
    if origin is not None:
        event["headers"]["Origin"] = origin
    assert connect.handle(event, db, cfg)["statusCode"] == status
    assert (_row(db, cfg) is not None) is (status == 200)


# -- room authorization (jwt.rooms_claim) ---------------------------------------------------


def _granted(room: str, grants: str | None) -> dict:
    """A $connect event for ``room`` whose authorizer context carries ``grants``."""
    context = {"principalId": "alice", "sub": "alice"}
    if grants is not None:
        context[ROOM_GRANTS_CONTEXT_KEY] = grants
    event = load_event("connect", authorizer=context)
    event["queryStringParameters"] = {"room_id": room}
    return event


@pytest.mark.parametrize(
    ("room", "grants"),
    [("lobby", '["lobby"]'), ("team-7:ops", '["lobby","team-7*"]'), ("anything", '["*"]')],
)
def test_a_granted_room_is_joined(table, room, grants):
    """With rooms checked, a room the grants name or match is joined and recorded."""
    db, cfg = table
    answer = connect.handle(_granted(room, grants), db, cfg, check_rooms=True)
    assert answer["statusCode"] == 200
    assert connections.get(db, cfg.table_name, "conn-A=").rooms == {room}


@pytest.mark.parametrize(
    ("room", "grants"),
    [
        ("other", '["lobby","team-7*"]'),  # not granted
        ("lobby2", '["lobby"]'),  # no partial match
        ("Lobby", '["lobby"]'),  # case-sensitive
        ("lobby", "[]"),  # the authorizer's answer for a token without the claim
        ("lobby", None),  # no grants in the context at all: fails closed
        ("lobby", "lobby"),  # not the authorizer's JSON list: fails closed
    ],
)
def test_a_room_the_token_does_not_grant_is_403_and_nothing_written(
    table, lambda_log, room, grants
):
    """Not granted, no claim, or an unreadable grant: 403, no row, a log line saying why."""
    db, cfg = table
    answer = connect.handle(_granted(room, grants), db, cfg, check_rooms=True)
    assert answer == {"statusCode": 403, "body": "room not granted by the token"}
    assert _row(db, cfg) is None
    [record] = lambda_log.events()
    assert (record["outcome"], record["reason"]) == ("rejected", "room not granted by the token")


def test_an_invalid_room_id_is_400_before_rooms_are_checked(table):
    """A bad room id keeps its 400 (with the reason) even when the token grants every room."""
    db, cfg = table
    answer = connect.handle(_granted("a/b", '["*"]'), db, cfg, check_rooms=True)
    assert answer["statusCode"] == 400
    assert "room_id" in answer["body"]


def test_rooms_are_open_without_rooms_claim(table):
    """Without jwt.rooms_claim, a token with no grants still joins any room (today's rule)."""
    db, cfg = table
    assert connect.handle(_granted("anything", None), db, cfg)["statusCode"] == 200


def test_the_handler_checks_rooms_exactly_when_the_rooms_claim_is_configured(table, monkeypatch):
    """The deployed entry point reads JWT_ROOMS_CLAIM: set, an ungranted room is 403."""
    db, cfg = table
    clients.set_clients(dynamodb=db)
    monkeypatch.setenv(Env.TABLE_NAME, cfg.table_name)
    monkeypatch.setenv(Env.JWT_ROOMS_CLAIM, "")
    assert not connect.rooms_required(os.environ)
    assert connect.handler(_granted("lobby", None), FakeContext())["statusCode"] == 200
    monkeypatch.setenv(Env.JWT_ROOMS_CLAIM, "rooms")
    assert connect.rooms_required(os.environ)
    event = _granted("lobby", None)
    event["requestContext"]["connectionId"] = "conn-B="
    assert connect.handler(event, FakeContext())["statusCode"] == 403
    event = _granted("lobby", '["lob*"]')
    event["requestContext"]["connectionId"] = "conn-C="
    assert connect.handler(event, FakeContext())["statusCode"] == 200


# -- rooms per connection ---------------------------------------------------------------------


def test_without_room_id_the_connection_joins_no_room(table):
    """``room_id`` is optional: the row is written with no rooms and no membership."""
    db, cfg = table
    event = load_event("connect")
    event["queryStringParameters"] = {}
    assert connect.handle(event, db, cfg)["statusCode"] == 200
    assert connections.get(db, cfg.table_name, "conn-A=").rooms == frozenset()
    assert Table.ROOMS not in _row(db, cfg)
    assert memberships(db, cfg.table_name) == set()


def test_the_room_is_joined_through_a_membership_with_the_rows_ttl(table):
    """With ``room_id``, one membership item ``<cid>|<room>`` carries the room and the row's ttl."""
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    items = table_items(db, cfg.table_name)
    member = items["conn-A=|lobby"]
    assert member[Table.ROOM_ID]["S"] == "lobby"
    assert member[Table.TTL] == items["conn-A="][Table.TTL]
    assert Table.USER_ID not in member  # memberships stay out of the user index
    assert set(items) == {"conn-A=", "conn-A=|lobby"}


def test_a_failed_membership_write_removes_the_row_again(table, failing_membership_writes):
    """If the membership cannot be written, the row goes too and $connect fails (500)."""
    db, cfg = table
    with pytest.raises(RuntimeError, match="throttled"):
        connect.handle(load_event("connect"), db, cfg)
    assert table_items(db, cfg.table_name) == {}


def test_a_refused_room_writes_no_membership(table):
    """403 for an ungranted room leaves the table empty: no row, no membership."""
    db, cfg = table
    assert (
        connect.handle(_granted("other", '["lobby"]'), db, cfg, check_rooms=True)["statusCode"]
        == 403
    )
    assert table_items(db, cfg.table_name) == {}
