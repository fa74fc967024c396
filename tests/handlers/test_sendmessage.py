"""sendmessage: room fan-out from the table, 410 cleanup of the right row, errors isolated."""

from __future__ import annotations

import json
import time

import pytest

from realtime_socket.contract import MAX_MESSAGE_BYTES, History, Table
from realtime_socket.handlers import connect, connections, messages, protocol, sendmessage
from tests.support.helpers import load_event, put_one_room_row, table_items


@pytest.fixture(autouse=True)
def _instant_backoff(monkeypatch):
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0
    )


def _join(db, cfg, cid, room, user="alice"):
    event = load_event("connect", connectionId=cid, authorizer={"principalId": user, "sub": user})
    event["queryStringParameters"] = {"room_id": room}
    assert connect.handle(event, db, cfg)["statusCode"] == 200


def _send(db, endpoint, cfg, body, cid="A"):
    event = load_event("sendmessage", connectionId=cid)
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return sendmessage.handle(event, db, endpoint.api(), cfg)


def test_message_reaches_exactly_the_senders_room(table, endpoint):
    db, cfg = table
    for cid in ("A", "B", "C"):
        _join(db, cfg, cid, "lobby", user=f"user-{cid}")
    _join(db, cfg, "X", "other")
    answer = _send(db, endpoint, cfg, {"action": "sendmessage", "data": {"text": "hi"}})
    assert answer["statusCode"] == 200
    assert set(endpoint.posts) == {"A", "B", "C"}
    frame = endpoint.frames("B")[0]
    assert frame["type"] == "message"
    assert frame["room"] == "lobby"
    assert frame["from"] == "user-A"
    assert frame["data"] == {"text": "hi"}
    assert len(frame["id"]) == 32
    assert abs(frame["ts"] - time.time() * 1000) < 5000
    assert endpoint.frames("A") == endpoint.frames("C") == [frame]  # one identical copy each


def test_sender_comes_from_the_table_and_a_foreign_room_is_not_subscribed(table, endpoint):
    """``from`` is the verified sub, never the frame's; a room the sender is not in is refused."""
    db, cfg = table
    _join(db, cfg, "A", "lobby", user="alice")
    _join(db, cfg, "X", "other", user="mallory")
    _send(db, endpoint, cfg, {"action": "sendmessage", "from": "mallory", "data": "x"})
    assert endpoint.frames("A")[0]["from"] == "alice"
    assert endpoint.frames("A")[0]["room"] == "lobby"
    endpoint.posts.clear()
    body = {"action": "sendmessage", "room": "other", "from": "mallory", "data": "x"}
    _send(db, endpoint, cfg, body)
    assert set(endpoint.posts) == {"A"}
    assert endpoint.frames("A")[0]["code"] == "not_subscribed"


def test_gone_target_rows_are_deleted_not_the_senders(table, endpoint):
    db, cfg = table
    for cid in ("A", "B", "C", "D"):
        _join(db, cfg, cid, "lobby")
    endpoint.script.update({"B": [410], "D": [410]})
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1})
    assert connections.get(db, cfg.table_name, "B") is None
    assert connections.get(db, cfg.table_name, "D") is None
    assert connections.get(db, cfg.table_name, "A") is not None
    assert connections.get(db, cfg.table_name, "C") is not None
    assert set(endpoint.posts) == {"A", "C"}


def test_throttled_and_5xx_posts_are_retried(table, endpoint, lambda_log):
    """429 and 5xx are retried up to botocore's limit; the summary line counts the retries."""
    db, cfg = table
    for cid in ("A", "B", "C"):
        _join(db, cfg, cid, "lobby")
    endpoint.script.update({"B": [429, 429], "C": [503]})
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1})
    assert (endpoint.attempts["B"], endpoint.attempts["C"]) == (3, 2)
    assert len(endpoint.posts["B"]) == len(endpoint.posts["C"]) == 1
    summary = lambda_log.events()[-1]
    assert (summary["delivered"], summary["retries"], summary["failed"]) == (3, 3, 0)
    assert summary["level"] == "INFO"


def test_persistent_failures_are_logged_and_do_not_stop_the_broadcast(table, endpoint, lambda_log):
    """Each failed target is one WARNING line named by the service's error type."""
    db, cfg = table
    for cid in ("A", "B", "C", "D"):
        _join(db, cfg, cid, "lobby")
    endpoint.script.update({"B": [500, 500, 500], "C": [403]})
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1})
    assert set(endpoint.posts) == {"A", "D"}
    assert endpoint.attempts["B"] == 3  # retried up to botocore's standard limit
    assert endpoint.attempts["C"] == 1  # 403 is not retryable
    assert connections.get(db, cfg.table_name, "B") is not None  # only 410 deletes
    lines = lambda_log.records()
    failures = {x["connectionId"]: x["error"] for x in lines if x.get("event") == "post_failed"}
    assert failures == {"B": "HTTP500", "C": "ForbiddenException"}
    assert {x["level"] for x in lines if x.get("event") == "post_failed"} == {"WARNING"}
    assert all(x["requestId"] == "00000000-0000-0000-0000-000000000000" for x in lines)
    summary = lines[-1]
    assert summary["route"] == "sendmessage"
    assert (summary["delivered"], summary["failed"], summary["outcome"]) == (2, 2, "partial")
    assert summary["level"] == "WARNING"


def test_oversized_message_is_refused_to_the_sender_only(table, endpoint):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "x" * MAX_MESSAGE_BYTES})
    assert set(endpoint.posts) == {"A"}
    frame = endpoint.frames("A")[0]
    assert (frame["type"], frame["code"]) == ("error", "message_too_large")


def test_largest_message_that_fits_is_delivered(table, endpoint):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    # the room's first message: seq 1
    probe = protocol.encode(protocol.message_frame("lobby", "alice", "", seq=1))
    room = MAX_MESSAGE_BYTES - len(probe)
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "x" * room})
    assert endpoint.frames("A")[0]["type"] == "message"
    assert len(endpoint.posts["A"][0]) == MAX_MESSAGE_BYTES


@pytest.mark.parametrize(
    ("body", "code"),
    [('{"action":"sendmessage"}', "missing_data"), ("{not json", "invalid_frame")],
)
def test_bad_requests_get_error_frames(table, endpoint, body, code):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    _send(db, endpoint, cfg, body)
    assert set(endpoint.posts) == {"A"}
    assert endpoint.frames("A")[0]["code"] == code


def test_unregistered_sender_gets_not_connected(table, endpoint):
    db, cfg = table
    _join(db, cfg, "B", "lobby")
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1}, cid="ghost")
    assert set(endpoint.posts) == {"ghost"}
    assert endpoint.frames("ghost")[0]["code"] == "not_connected"


def test_expired_rows_are_not_posted_to(table, endpoint):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    put_one_room_row(db, cfg.table_name, "stale", "lobby", "bob", ttl_in=-10)
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1})
    assert set(endpoint.posts) == {"A"}


def test_large_room_is_paged_and_fully_listed(table):
    db, cfg = table
    members = [f"c{i:04d}" for i in range(1200)]
    for cid in members:
        db.put_item(
            TableName=cfg.table_name,
            Item={
                Table.CONNECTION_ID: {"S": cid},
                Table.ROOM_ID: {"S": "big"},
                Table.USER_ID: {"S": "u" * 300},
                Table.CONNECTED_AT: {"N": "1"},
                Table.TTL: {"N": str(int(time.time()) + 3600)},
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


def test_per_connection_rate_limit_answers_an_error_frame(table, endpoint):
    db, cfg = table
    cfg = type(cfg)(**{**cfg.__dict__, "messages_per_second": 0.001, "message_burst": 3})
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    for n in range(5):
        _send(db, endpoint, cfg, {"action": "sendmessage", "data": n})
    assert [f["data"] for f in endpoint.frames("B")] == [0, 1, 2]  # the burst, then nothing
    errors = [f for f in endpoint.frames("A") if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["rate_limited", "rate_limited"]


def test_rate_limit_window_resets(table):
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    for _ in range(2):
        assert connections.claim_send(db, cfg.table_name, "A", rate=1, burst=2, now=100.0)
    with pytest.raises(connections.RateLimited):
        connections.claim_send(db, cfg.table_name, "A", rate=1, burst=2, now=101.0)
    assert connections.claim_send(db, cfg.table_name, "A", rate=1, burst=2, now=102.0)
    assert connections.claim_send(db, cfg.table_name, "ghost", rate=1, burst=2, now=102.0) is None


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_):
        yield self._body


def test_dynamodb_throttling_is_retried_by_botocore(table, endpoint):
    """Throttled Query answers are retried (standard mode) and the message still goes out."""
    from botocore.awsrequest import AWSResponse

    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    throttled = []

    def throttle(request, **_):
        if len(throttled) < 2:
            throttled.append(1)
            error = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            body = json.dumps({"__type": error, "message": "Rate exceeds throughput."}).encode()
            return AWSResponse(request.url, 400, {"x-amzn-RequestId": "t"}, _Raw(body))
        return None

    db.meta.events.register_first("before-send.dynamodb.Query", throttle)
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "after throttling"})
    assert len(throttled) == 2
    assert endpoint.frames("B")[0]["data"] == "after throttling"


# -- several rooms per connection -------------------------------------------------------------


def _subscribe(db, cfg, cid, room):
    assert connections.subscribe(db, cfg.table_name, cid, room, cfg.max_rooms_per_connection)


def test_a_message_reaches_exactly_the_named_room_of_a_multi_room_sender(table, endpoint):
    """A in lobby and news sends to news: only news's members get it, with room news."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _subscribe(db, cfg, "A", "news")
    _join(db, cfg, "B", "news")
    _join(db, cfg, "C", "lobby")
    _send(db, endpoint, cfg, {"action": "sendmessage", "room": "news", "data": 1})
    assert set(endpoint.posts) == {"A", "B"}
    assert endpoint.frames("B")[0]["room"] == "news"


@pytest.mark.parametrize("rooms", [(), ("lobby", "news")])
def test_without_room_a_sender_in_zero_or_several_rooms_gets_missing_room(table, endpoint, rooms):
    """``room`` may be left out only with exactly one room; else missing_room, nothing sent."""
    db, cfg = table
    event = load_event("connect", connectionId="A")
    event["queryStringParameters"] = {}
    connect.handle(event, db, cfg)
    _join(db, cfg, "B", "lobby")
    for room in rooms:
        _subscribe(db, cfg, "A", room)
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1})
    assert set(endpoint.posts) == {"A"}
    assert endpoint.frames("A")[0]["code"] == "missing_room"


@pytest.mark.parametrize("room", [5, "", "a/b", "ctl\u0001"])
def test_an_invalid_room_in_sendmessage_is_invalid_room(table, endpoint, room):
    """A ``room`` that is not a room id is invalid_room, to the sender only."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    _send(db, endpoint, cfg, {"action": "sendmessage", "room": room, "data": 1})
    assert set(endpoint.posts) == {"A"}
    assert endpoint.frames("A")[0]["code"] == "invalid_room"


def test_after_unsubscribe_the_room_is_not_subscribed(table, endpoint):
    """Leaving a room stops both receiving from it and sending to it."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _subscribe(db, cfg, "A", "news")
    _join(db, cfg, "B", "news")
    connections.unsubscribe(db, cfg.table_name, "A", "news")
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1}, cid="B")
    assert set(endpoint.posts) == {"B"}
    endpoint.posts.clear()
    _send(db, endpoint, cfg, {"action": "sendmessage", "room": "news", "data": 1})
    assert endpoint.frames("A")[0]["code"] == "not_subscribed"
    assert set(endpoint.posts) == {"A"}


def test_a_gone_member_loses_its_row_and_all_memberships_never_the_senders(table, endpoint):
    """410 from B (in news and ops): B's row and both memberships are deleted; A keeps its own."""
    db, cfg = table
    _join(db, cfg, "A", "news")
    _join(db, cfg, "B", "news")
    _subscribe(db, cfg, "B", "ops")
    endpoint.script["B"] = [410]
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": 1})
    assert set(table_items(db, cfg.table_name)) == {"A", "A|news"}


def test_a_legacy_one_room_row_still_sends_and_receives(table, endpoint):
    """A row from the one-room release (``roomId`` on the row) keeps working mid-upgrade."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    put_one_room_row(db, cfg.table_name, "L", "lobby", "carol", ttl_in=600, connected_at=1)
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "x"}, cid="L")
    assert set(endpoint.posts) == {"A", "L"}
    assert endpoint.frames("A")[0]["from"] == "carol"


# -- seqs and history -------------------------------------------------------------------------


def _history_items(db, cfg, room):
    """The room's stored messages in the history table, by seq (the counter left out)."""
    page = db.query(
        TableName=cfg.history_table,
        KeyConditionExpression="#r = :r AND #s > :zero",
        ExpressionAttributeNames={"#r": History.ROOM_ID, "#s": History.SEQ},
        ExpressionAttributeValues={":r": {"S": room}, ":zero": {"N": "0"}},
        ConsistentRead=True,
    )
    return {int(item[History.SEQ]["N"]): item for item in page["Items"]}


def test_each_message_carries_the_rooms_next_seq_per_room(table, endpoint):
    """Messages in lobby get seq 1, 2, 3; news counts on its own from 1."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _subscribe(db, cfg, "A", "news")
    _join(db, cfg, "B", "lobby")
    _join(db, cfg, "N", "news")
    for room in ("lobby", "lobby", "news", "lobby", "news"):
        _send(db, endpoint, cfg, {"action": "sendmessage", "room": room, "data": room})
    assert [f["seq"] for f in endpoint.frames("B")] == [1, 2, 3]
    assert [f["seq"] for f in endpoint.frames("N")] == [1, 2]
    assert [(f["room"], f["seq"]) for f in endpoint.frames("A")] == [
        ("lobby", 1),
        ("lobby", 2),
        ("news", 1),
        ("lobby", 3),
        ("news", 2),
    ]


def test_each_message_is_stored_as_exactly_the_frame_posted(table, endpoint):
    """With history on, (room, seq) holds the posted bytes and a ttl of now + retention."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")
    for text in ("one", "twó"):
        _send(db, endpoint, cfg, {"action": "sendmessage", "data": {"text": text}})
    stored = _history_items(db, cfg, "lobby")
    assert {seq: item[History.FRAME]["S"] for seq, item in stored.items()} == {
        1: endpoint.posts["B"][0].decode(),
        2: endpoint.posts["B"][1].decode(),
    }
    for item in stored.values():
        ttl = int(item[History.TTL]["N"])
        assert abs(ttl - (time.time() + cfg.history_retention_seconds)) < 60


def test_with_retention_zero_the_frame_has_a_seq_but_nothing_is_stored(table, endpoint):
    """history_retention_seconds 0: seqs 1, 2 are still given; the history table holds no
    message."""
    db, cfg = table
    cfg = type(cfg)(**{**cfg.__dict__, "history_retention_seconds": 0})
    _join(db, cfg, "A", "lobby")
    for n in range(2):
        _send(db, endpoint, cfg, {"action": "sendmessage", "data": n})
    assert [f["seq"] for f in endpoint.frames("A")] == [1, 2]
    assert _history_items(db, cfg, "lobby") == {}


def test_a_refused_message_takes_no_seq_and_stores_nothing(table, endpoint):
    """An oversized message is refused before any write: the next message still gets seq 1."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "x" * MAX_MESSAGE_BYTES})
    assert _history_items(db, cfg, "lobby") == {}
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "ok"})
    assert [f.get("seq") for f in endpoint.frames("A")] == [None, 1]
    assert set(_history_items(db, cfg, "lobby")) == {1}


def test_a_sender_that_keeps_losing_the_seq_race_gets_room_busy(table, endpoint, monkeypatch):
    """messages.Contention (the next seq taken on every attempt) is the error frame
    room_busy to the sender, and nothing is posted to the room or stored."""
    db, cfg = table
    _join(db, cfg, "A", "lobby")
    _join(db, cfg, "B", "lobby")

    def contended(*args, **kwargs):
        raise messages.Contention("lobby")

    monkeypatch.setattr(messages, "append", contended)
    _send(db, endpoint, cfg, {"action": "sendmessage", "data": "x"})
    assert set(endpoint.posts) == {"A"}
    assert endpoint.frames("A")[0]["code"] == "room_busy"
