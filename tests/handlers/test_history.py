"""history: a member replays a room's stored messages after a seq, in seq order, then one
closing frame; every refusal is one error frame to the caller only."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest

from realtime_socket.contract import History
from realtime_socket.handlers import connect, history, sendmessage, settings
from tests.support.helpers import ScriptedConnections, load_event

Fixture = tuple[Any, settings.Settings]


@pytest.fixture(autouse=True)
def _instant_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )


def _join(db: Any, cfg: settings.Settings, cid: str, room: str, user: str = "alice") -> None:
    event = load_event("connect", connectionId=cid, authorizer={"principalId": user, "sub": user})
    event["queryStringParameters"] = {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _send(
    db: Any, cfg: settings.Settings, endpoint: ScriptedConnections, data: Any, cid: str = "A"
) -> None:
    event = load_event("sendmessage", connectionId=cid)
    event["body"] = json.dumps({"action": "sendmessage", "data": data})
    assert sendmessage.handle(event, db, endpoint.api(), cfg)["statusCode"] == 200


def _history(
    db: Any, cfg: settings.Settings, endpoint: ScriptedConnections, body: Any, cid: str = "B"
) -> None:
    event = load_event("sendmessage", connectionId=cid, routeKey="history")
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    assert history.handle(event, db, endpoint.api(), cfg) == {"statusCode": 200}


def _room_with_messages(
    db: Any, cfg: settings.Settings, endpoint: ScriptedConnections, count: int
) -> list[dict[str, Any]]:
    """A (sender) and B in lobby, ``count`` messages sent; the frames B received."""
    _join(db, cfg, "A", "lobby", user="alice")
    _join(db, cfg, "B", "lobby", user="bob")
    for n in range(count):
        _send(db, cfg, endpoint, {"n": n})
    received = endpoint.frames("B")
    endpoint.posts.clear()
    endpoint.attempts.clear()
    return received


def _closing(last_seq: int, complete: bool = True, more: bool = False) -> dict[str, Any]:
    return {
        "type": "history",
        "room": "lobby",
        "last_seq": last_seq,
        "complete": complete,
        "more": more,
    }


def test_replays_the_messages_after_since_in_order_then_closes(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """since 1 of 3: B gets messages 2 and 3 exactly as first delivered plus "replay":true,
    then the closing frame; nobody else is posted to."""
    db, cfg = table
    received = _room_with_messages(db, cfg, endpoint, 3)
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby", "since": 1})
    assert set(endpoint.posts) == {"B"}
    assert endpoint.frames("B") == [
        {**received[1], "replay": True},
        {**received[2], "replay": True},
        _closing(3),
    ]


def test_since_omitted_replays_from_the_start(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """No "since": every stored message, seqs 1.. in order."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 3)
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby"})
    *frames, closing = endpoint.frames("B")
    assert [f["seq"] for f in frames] == [1, 2, 3]
    assert [f["data"] for f in frames] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert closing == _closing(3)


def test_up_to_date_client_gets_only_the_closing_frame(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """since = the room's last seq: no message, closing with complete true."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 2)
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby", "since": 2})
    assert endpoint.frames("B") == [_closing(2)]


def test_max_replay_cuts_the_replay_with_more(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """history_max_replay 2 of 5 messages: 1-2 (more), from 2: 3-4 (more), from 4: 5."""
    db, cfg = table
    cfg = replace(cfg, history_max_replay=2)
    _room_with_messages(db, cfg, endpoint, 5)
    since, pages = 0, []
    for _ in range(3):
        endpoint.posts.clear()
        _history(db, cfg, endpoint, {"action": "history", "room": "lobby", "since": since})
        *frames, closing = endpoint.frames("B")
        pages.append(([f["seq"] for f in frames], closing))
        since = closing["last_seq"]
    assert pages == [
        ([1, 2], _closing(2, more=True)),
        ([3, 4], _closing(4, more=True)),
        ([5], _closing(5)),
    ]


def test_expired_messages_make_the_closing_frame_incomplete(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """Messages 1-2 past their ttl: only 3 is replayed and complete is false."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 3)
    for seq in (1, 2):
        db.update_item(
            TableName=cfg.history_table,
            Key={History.ROOM_ID: {"S": "lobby"}, History.SEQ: {"N": str(seq)}},
            UpdateExpression="SET #ttl = :past",
            ExpressionAttributeNames={"#ttl": History.TTL},
            ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
        )
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby", "since": 0})
    *frames, closing = endpoint.frames("B")
    assert [f["seq"] for f in frames] == [3]
    assert closing == _closing(3, complete=False)


def test_a_gone_caller_stops_the_replay_without_raising(
    table: Fixture, endpoint: ScriptedConnections, lambda_log: Any
) -> None:
    """B answers 410 to the second frame: nothing more is posted, no closing frame, the
    handler returns 200 and logs a partial replay."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 4)
    endpoint.script["B"] = [200, 410]
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby", "since": 0})
    assert [f["seq"] for f in endpoint.frames("B")] == [1]
    assert endpoint.attempts["B"] == 2
    summary = lambda_log.events()[-1]
    assert (summary["route"], summary["outcome"], summary["replayed"]) == (
        "history",
        "partial",
        1,
    )


def _only_error(endpoint: ScriptedConnections, cid: str = "B") -> str:
    """The one frame posted, which must be an error frame to ``cid`` and nobody else."""
    assert set(endpoint.posts) == {cid}
    [frame] = endpoint.frames(cid)
    assert set(frame) == {"type", "code", "message"}
    assert frame["type"] == "error"
    code: str = frame["code"]
    return code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "invalid_frame"),
        ("[1]", "invalid_frame"),
        ({"action": "history"}, "invalid_room"),
        ({"action": "history", "room": ""}, "invalid_room"),
        ({"action": "history", "room": 5}, "invalid_room"),
        ({"action": "history", "room": "a/b"}, "invalid_room"),
        ({"action": "history", "room": "lobby", "since": -1}, "invalid_since"),
        ({"action": "history", "room": "lobby", "since": "1"}, "invalid_since"),
        ({"action": "history", "room": "lobby", "since": 1.0}, "invalid_since"),
        ({"action": "history", "room": "lobby", "since": True}, "invalid_since"),
        ({"action": "history", "room": "lobby", "since": False}, "invalid_since"),
        ({"action": "history", "room": "lobby", "since": None}, "invalid_since"),
        ({"action": "history", "room": "lobby", "since": 2**63}, "invalid_since"),
    ],
)
def test_bad_requests_get_one_error_frame_to_the_caller(
    table: Fixture, endpoint: ScriptedConnections, body: Any, code: str
) -> None:
    """Malformed frames, rooms and seqs: one error frame to the caller, nothing replayed."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 2)
    _history(db, cfg, endpoint, body)
    assert _only_error(endpoint) == code


def test_the_largest_seq_is_accepted(table: Fixture, endpoint: ScriptedConnections) -> None:
    """since 2**63-1 is a valid seq: only the closing frame, at the room's last seq."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 1)
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby", "since": 2**63 - 1})
    assert endpoint.frames("B") == [_closing(1)]


def test_an_unregistered_caller_gets_not_connected(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """No row for the caller: not_connected, and the room's messages are not posted."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 2)
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby"}, cid="ghost")
    assert _only_error(endpoint, "ghost") == "not_connected"


def test_a_room_the_caller_is_not_in_is_not_subscribed(
    table: Fixture, endpoint: ScriptedConnections
) -> None:
    """X (in another room) asks for lobby's history: not_subscribed, none of lobby's messages."""
    db, cfg = table
    _room_with_messages(db, cfg, endpoint, 2)
    _join(db, cfg, "X", "other", user="mallory")
    _history(db, cfg, endpoint, {"action": "history", "room": "lobby"}, cid="X")
    assert _only_error(endpoint, "X") == "not_subscribed"
