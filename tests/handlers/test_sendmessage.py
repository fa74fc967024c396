"""sendmessage: room fan-out from the table, 410 cleanup of the right row, errors isolated."""

from __future__ import annotations

import json
import time

import pytest
from botocore.stub import ANY, Stubber

from handlers import connect, connections, sendmessage
from tests.helpers import FakeConnections, load_event, management_client


def _join(db, cfg, cid, room, user="alice"):
    event = load_event("connect", connectionId=cid, authorizer={"principalId": user, "sub": user})
    event["queryStringParameters"] = {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _send(db, mgmt, cfg, body, cid="A"):
    event = load_event("sendmessage", connectionId=cid)
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return sendmessage.handle(event, db, mgmt, cfg)


def test_message_reaches_exactly_the_senders_room(table):
    db, cfg = table
    for cid in ("A", "B", "C"):
        _join(db, cfg, cid, "lobby", user=f"user-{cid}")
    _join(db, cfg, "X", "other")
    fake = FakeConnections(management_client())
    answer = _send(db, fake.client, cfg, {"action": "sendmessage", "data": {"text": "hi"}})
    assert answer["statusCode"] == 200
    assert set(fake.posts) == {"A", "B", "C"}
    frame = fake.frames("B")[0]
    assert frame["type"] == "message"
    assert frame["room"] == "lobby"
    assert frame["from"] == "user-A"
    assert frame["data"] == {"text": "hi"}
    assert len(frame["id"]) == 32
    assert abs(frame["ts"] - time.time() * 1000) < 5000


def test_room_and_sender_come_from_the_table_not_the_message(table):
    db, cfg = table
    _join(db, cfg, "A", "lobby", user="alice")
    _join(db, cfg, "X", "other", user="mallory")
    fake = FakeConnections(management_client())
    body = {"action": "sendmessage", "room": "other", "from": "mallory", "data": "x"}
    _send(db, fake.client, cfg, body)
    assert set(fake.posts) == {"A"}
    assert fake.frames("A")[0]["from"] == "alice"
    assert fake.frames("A")[0]["room"] == "lobby"


def test_gone_target_row_is_deleted_not_the_senders(table):
    db, cfg = table
    for cid in ("A", "B", "C"):
        _join(db, cfg, cid, "lobby")
    fake = FakeConnections(management_client(), script={"B": [410]})
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": 1})
    assert connections.get(db, cfg.table_name, "B") is None
    assert connections.get(db, cfg.table_name, "A") is not None
    assert set(fake.posts) == {"A", "C"}


def test_gone_with_a_botocore_stubber(table):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    cfg = type(cfg)(**{**cfg.__dict__, "fanout_concurrency": 1})  # Stubber answers in order
    client = management_client()
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": "A", "Data": ANY})
        stub.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        _send(db, client, cfg, {"action": "sendmessage", "data": 1})
        stub.assert_no_pending_responses()
    assert connections.get(db, cfg.table_name, "B") is None
    assert connections.get(db, cfg.table_name, "A") is not None


def test_throttled_posts_are_retried_by_botocore(table, monkeypatch):
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    fake = FakeConnections(management_client(total_attempts=3), script={"B": [429, 429]})
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": 1})
    assert fake.attempts["B"] == 3
    assert len(fake.posts["B"]) == 1


def test_other_errors_are_logged_and_do_not_stop_the_broadcast(table, capsys, monkeypatch):
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )
    db, cfg = table
    for cid in ("A", "B", "C", "D"):
        _join(db, cfg, cid, "lobby")
    fake = FakeConnections(management_client(total_attempts=1), script={"B": [500]})
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": 1})
    assert set(fake.posts) == {"A", "C", "D"}
    assert connections.get(db, cfg.table_name, "B") is not None  # only 410 deletes
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failure = next(line for line in lines if line.get("event") == "post_failed")
    assert failure["connectionId"] == "B"
    summary = lines[-1]
    assert summary["route"] == "sendmessage"
    assert (summary["delivered"], summary["failed"], summary["outcome"]) == (3, 1, "partial")


def test_oversized_message_is_refused_to_the_sender_only(table):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    fake = FakeConnections(management_client())
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": "x" * 131_072})
    assert set(fake.posts) == {"A"}
    frame = fake.frames("A")[0]
    assert (frame["type"], frame["code"]) == ("error", "message_too_large")


def test_largest_message_that_fits_is_delivered(table):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    fake = FakeConnections(management_client())
    probe = sendmessage.build_frame(
        json.dumps({"action": "sendmessage", "data": ""}),
        connections.get(db, cfg.table_name, "A"),
    )
    room = 131_072 - len(probe)
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": "x" * room})
    assert fake.frames("A")[0]["type"] == "message"


@pytest.mark.parametrize(
    ("body", "code"),
    [('{"action":"sendmessage"}', "missing_data"), ("{not json", "invalid_frame")],
)
def test_bad_requests_get_error_frames(table, body, code):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    fake = FakeConnections(management_client())
    _send(db, fake.client, cfg, body)
    assert set(fake.posts) == {"A"}
    assert fake.frames("A")[0]["code"] == code


def test_unregistered_sender_gets_not_connected(table):
    db, cfg = table
    _join(db, cfg, "B", "lobby")
    fake = FakeConnections(management_client())
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": 1}, cid="ghost")
    assert set(fake.posts) == {"ghost"}
    assert fake.frames("ghost")[0]["code"] == "not_connected"


def test_expired_rows_are_not_posted_to(table):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    db.put_item(
        TableName=cfg.table_name,
        Item={
            "connectionId": {"S": "stale"},
            "roomId": {"S": "lobby"},
            "userId": {"S": "bob"},
            "connectedAt": {"N": "0"},
            "ttl": {"N": str(int(time.time()) - 10)},
        },
    )
    fake = FakeConnections(management_client())
    _send(db, fake.client, cfg, {"action": "sendmessage", "data": 1})
    assert set(fake.posts) == {"A"}


def test_large_room_is_paged_and_fully_delivered(table):
    db, cfg = table
    members = [f"c{i:04d}" for i in range(1200)]
    for cid in members:
        db.put_item(
            TableName=cfg.table_name,
            Item={
                "connectionId": {"S": cid},
                "roomId": {"S": "big"},
                "userId": {"S": "u" * 300},  # fat rows force Query pagination in the table
                "connectedAt": {"N": "1"},
                "ttl": {"N": str(int(time.time()) + 3600)},
            },
        )
    listed = list(connections.room_members(db, cfg.table_name, cfg.room_index, "big"))
    assert sorted(listed) == members


def test_management_endpoint_prefers_configuration(table):
    _, cfg = table
    event = load_event("sendmessage")
    assert sendmessage.management_endpoint(event, cfg) == cfg.management_endpoint
    bare = type(cfg)(**{**cfg.__dict__, "management_endpoint": None})
    assert (
        sendmessage.management_endpoint(event, bare)
        == "https://abc123.execute-api.us-east-1.amazonaws.com/live"
    )
