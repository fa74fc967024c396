"""Room ``seq`` and ``history`` end to end: four namespaces served by one local runtime
(``chat`` and ``other`` with the default history, ``short`` keeping messages 2 s, ``tiny``
replaying 3 per request), real WebSocket clients, and a Publisher pointed at the runtime."""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from realtime_socket import RealtimeSocket
from realtime_socket.contract import History
from realtime_socket.publish import Publisher
from tests.support.helpers import eventually, jwt_args, mint
from tests.support.runtime_harness import RunningRuntime, logged_runtime, model_of
from tests.support.ws_client import assert_silent, recv_json, send

#: ``short``'s history.retention_seconds: small enough to wait out in a test.
SHORT_RETENTION = 2
#: ``tiny``'s history.max_replay.
TINY_MAX_REPLAY = 3


def _program() -> None:
    RealtimeSocket("chat", {"jwt": jwt_args()})  # type: ignore[typeddict-item]
    RealtimeSocket("other", {"jwt": jwt_args()})  # type: ignore[typeddict-item]
    RealtimeSocket(
        "short",
        {"jwt": jwt_args(), "history": {"retention_seconds": SHORT_RETENTION}},  # type: ignore[typeddict-item]
    )
    RealtimeSocket(
        "tiny",
        {"jwt": jwt_args(), "history": {"max_replay": TINY_MAX_REPLAY}},  # type: ignore[typeddict-item]
    )


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    """One runtime for the module; each test uses rooms of its own."""
    with logged_runtime(tmp_path_factory, "history", model_of(_program)) as running:
        yield running


@pytest.fixture
def publisher(rt: RunningRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    """A publisher for ``chat`` with its history table, as the stack output configures it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", rt.runtime.aws_endpoint)
    table, retention = rt.runtime.history("chat")
    assert table and retention == 3600
    with Publisher(
        table_name=rt.table_name("chat"),
        management_endpoint=rt.runtime.management_url("chat"),
        history_table=table,
        history_retention_seconds=retention,
    ) as made:
        yield made


def _client(
    rt: RunningRuntime, namespace: str, user: str, room: str | None = None, **kwargs: Any
) -> Any:
    return connect(rt.url(namespace, room, token=mint(sub=user)), **kwargs)


def _subscribe(ws: ClientConnection, room: str) -> dict[str, Any]:
    send(ws, {"action": "subscribe", "room": room})
    return recv_json(ws)


def _say(ws: ClientConnection, data: Any, room: str | None = None) -> dict[str, Any]:
    """Send a message and return its frame as the sender (a member) receives it."""
    send(ws, {"action": "sendmessage", "data": data, **({"room": room} if room else {})})
    frame = recv_json(ws)
    assert frame["type"] == "message" and frame["data"] == data, frame
    return frame


def _history(
    ws: ClientConnection, room: str, since: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Ask ``history``; the replayed frames and the closing ``history`` frame."""
    send(ws, {"action": "history", "room": room, "since": since})
    frames = []
    while (frame := recv_json(ws))["type"] == "message":
        frames.append(frame)
    assert frame["type"] == "history", frame
    return frames, frame


def _closing(
    room: str, last_seq: int, *, complete: bool = True, more: bool = False
) -> dict[str, Any]:
    return {
        "type": "history",
        "room": room,
        "last_seq": last_seq,
        "complete": complete,
        "more": more,
    }


def _live(frame: dict[str, Any]) -> dict[str, Any]:
    """A replayed frame as it was sent live: the same frame without ``replay``."""
    assert frame.pop("replay") is True, frame
    return frame


def _error(ws: ClientConnection, frame: Any) -> str:
    send(ws, frame)
    answer = recv_json(ws)
    assert answer["type"] == "error", answer
    return str(answer["code"])


def _leave(rt: RunningRuntime, ws: ClientConnection, *, abrupt: bool) -> None:
    """Close, or drop the TCP connection without a close frame (abrupt); wait until the
    runtime notices."""
    before = len(rt.runtime.connections)
    if abrupt:
        ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()
    else:
        ws.close()
    assert eventually(lambda: len(rt.runtime.connections) < before)


# -- seq ------------------------------------------------------------------------------------


def test_concurrent_senders_get_gapless_seqs_and_every_member_sees_the_same_mapping(
    rt: RunningRuntime,
) -> None:
    """4 senders x 10 messages at once: all 6 members get seqs exactly 1..40 with one
    (seq -> frame) mapping, which history replays verbatim in seq order."""
    room, senders_n, each = "burst", 4, 10
    total = senders_n * each
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(_client(rt, "chat", "first"))
        assert _subscribe(first, room) == {"type": "subscribed", "room": room, "seq": 0}
        senders = [
            stack.enter_context(_client(rt, "chat", f"sender-{i}", room)) for i in range(senders_n)
        ]
        listener = stack.enter_context(_client(rt, "chat", "listener", room))
        members = [first, listener, *senders]
        start = threading.Barrier(senders_n)

        def blast(i: int) -> None:
            start.wait()
            for n in range(each):
                send(senders[i], {"action": "sendmessage", "data": {"s": i, "n": n}})

        threads = [threading.Thread(target=blast, args=(i,)) for i in range(senders_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        seen = [[recv_json(ws, 30) for _ in range(total)] for ws in members]
        assert_silent(first, 0.3)  # nothing past the 40th message
        for ws in members[1:]:
            assert_silent(ws, 0.01)
        wire = [[frame["seq"] for frame in frames] for frames in seen]
        for order in wire:
            twice = sorted(s for s, count in collections.Counter(order).items() if count > 1)
            missing = sorted(set(range(1, total + 1)) - set(order))
            assert (twice, missing) == ([], []), f"seqs given twice/missing; wire order {order}"
        by_seq = {frame["seq"]: frame for frame in seen[0]}
        assert all({frame["seq"]: frame for frame in frames} == by_seq for frames in seen)
        sent = {(f"sender-{i}", i, n) for i in range(senders_n) for n in range(each)}
        assert {(f["from"], f["data"]["s"], f["data"]["n"]) for f in by_seq.values()} == sent
        frames, closing = _history(first, room, 0)
        assert [_live(frame) for frame in frames] == [by_seq[s] for s in range(1, total + 1)]
        assert closing == _closing(room, total)
        late = stack.enter_context(_client(rt, "chat", "late"))
        assert _subscribe(late, room) == {"type": "subscribed", "room": room, "seq": total}


def test_subscribed_carries_the_rooms_last_seq(rt: RunningRuntime) -> None:
    """subscribed: seq 0 in a fresh room, n after n messages, and n again after the only
    member left (the counter outlives its members)."""
    room = "counted"
    with _client(rt, "chat", "counter") as ws:
        assert _subscribe(ws, room) == {"type": "subscribed", "room": room, "seq": 0}
        assert [_say(ws, n, room)["seq"] for n in range(3)] == [1, 2, 3]
        assert _subscribe(ws, room) == {"type": "subscribed", "room": room, "seq": 3}
    with _client(rt, "chat", "returner") as ws:
        assert _subscribe(ws, room) == {"type": "subscribed", "room": room, "seq": 3}
        assert _say(ws, "again", room)["seq"] == 4


# -- resume ---------------------------------------------------------------------------------


@pytest.mark.parametrize("leave", ["abrupt", "close"])
def test_a_client_that_reconnects_replays_exactly_what_it_missed(
    rt: RunningRuntime, leave: str
) -> None:
    """A client leaves (TCP drop or close) after seq 2; 3 messages later it reconnects,
    subscribes (seq 5), asks since 2 and gets seqs 3-5 with replay:true, then
    complete=true/more=false/last_seq=5; asking since 5 (or past it) replays nothing."""
    room = f"resume-{leave}"
    with _client(rt, "chat", "stayer", room) as stayer:
        roamer = _client(rt, "chat", "roamer", room, legacy=True)
        before = [_say(stayer, n) for n in ("a", "b")]
        assert [recv_json(roamer) for _ in before] == before
        last_seen = before[-1]["seq"]
        assert last_seen == 2
        _leave(rt, roamer, abrupt=leave == "abrupt")
        missed = [_say(stayer, n) for n in ("c", "d", "e")]
        with _client(rt, "chat", "roamer") as back:
            assert _subscribe(back, room) == {"type": "subscribed", "room": room, "seq": 5}
            frames, closing = _history(back, room, last_seen)
            assert [f["seq"] for f in frames] == [3, 4, 5]
            assert [_live(f) for f in frames] == missed
            assert closing == _closing(room, 5)
            assert _history(back, room, 5) == ([], _closing(room, 5))
            assert _history(back, room, 99) == ([], _closing(room, 5))
            assert_silent(back, 0.3)


# -- retention and max_replay ---------------------------------------------------------------


def _stored_ttls(rt: RunningRuntime, namespace: str, room: str) -> dict[int, int]:
    """seq -> ttl of the room's stored messages, read from the history table."""
    items = rt.dynamodb().query(
        TableName=rt.runtime.history(namespace)[0],
        KeyConditionExpression="#room = :room AND #seq > :zero",
        ExpressionAttributeNames={"#room": History.ROOM_ID, "#seq": History.SEQ},
        ExpressionAttributeValues={":room": {"S": room}, ":zero": {"N": "0"}},
        ConsistentRead=True,
    )["Items"]
    return {int(i[History.SEQ]["N"]): int(i[History.TTL]["N"]) for i in items}


def test_messages_past_retention_are_not_replayed_and_history_says_incomplete(
    rt: RunningRuntime,
) -> None:
    """retention 2 s: once seqs 1-2 expire, since 0 replays nothing with complete=false;
    after seqs 3-4, since 0 replays only 3-4 (complete=false), since 2 replays them
    complete; the seq keeps counting across the expiry."""
    room = "fleeting"
    assert rt.runtime.history("short")[1] == SHORT_RETENTION
    with _client(rt, "short", "brief", room) as ws:
        assert [_say(ws, n)["seq"] for n in ("old-1", "old-2")] == [1, 2]
        ttls = _stored_ttls(rt, "short", room)
        assert set(ttls) == {1, 2}
        assert max(ttls.values()) - time.time() <= SHORT_RETENTION
        assert eventually(lambda: time.time() >= max(ttls.values()), SHORT_RETENTION + 2)
        assert _history(ws, room, 0) == ([], _closing("fleeting", 2, complete=False))
        while time.time() % 1 > 0.3:  # a fresh second: the new messages live >= 1.7 s
            time.sleep(0.05)
        fresh = [_say(ws, n) for n in ("new-3", "new-4")]
        assert [f["seq"] for f in fresh] == [3, 4]
        frames, closing = _history(ws, room, 0)
        assert [_live(f) for f in frames] == fresh
        assert closing == _closing(room, 4, complete=False)
        frames, closing = _history(ws, room, 2)
        assert [_live(f) for f in frames] == fresh
        assert closing == _closing(room, 4)
        assert _subscribe(ws, room) == {"type": "subscribed", "room": room, "seq": 4}


def test_max_replay_pages_the_replay(rt: RunningRuntime) -> None:
    """max_replay 3 with 5 messages: since 0 gives 1-3 and more=true, since 3 gives 4-5 and
    more=false; exactly 3 left (since 2) is one page with more=false."""
    room = "paged"
    with _client(rt, "tiny", "pager", room) as ws:
        sent = [_say(ws, n) for n in range(5)]
        frames, closing = _history(ws, room, 0)
        assert [_live(f) for f in frames] == sent[:3]
        assert closing == _closing(room, 3, more=True)
        frames, closing = _history(ws, room, closing["last_seq"])
        assert [_live(f) for f in frames] == sent[3:]
        assert closing == _closing(room, 5)
        frames, closing = _history(ws, room, 2)
        assert [_live(f) for f in frames] == sent[2:]
        assert closing == _closing(room, 5)


# -- errors ---------------------------------------------------------------------------------


def test_history_errors(rt: RunningRuntime) -> None:
    """A room the caller is not in (never, or left) is not_subscribed; since -1, "x", 1.5,
    true or 2**63 is invalid_since; a bad room is invalid_room; NaN is invalid_frame; and no
    error replays anything."""
    with (
        _client(rt, "chat", "asker", "mine") as ws,
        _client(rt, "chat", "outsider", "theirs") as outsider,
    ):
        _say(outsider, "secret")
        _say(ws, "mine")
        assert _error(ws, {"action": "history", "room": "theirs", "since": 0}) == ("not_subscribed")
        for since in (-1, "x", 1.5, True, None, 2**63):
            assert _error(ws, {"action": "history", "room": "mine", "since": since}) == (
                "invalid_since"
            ), since
        for room in ("a/b", "", 7, "x" * 129):
            assert _error(ws, {"action": "history", "room": room, "since": 0}) == "invalid_room"
        assert _error(ws, {"action": "history", "since": 0}) == "invalid_room"
        nan = '{"action":"history","room":"mine","since":NaN}'
        assert _error(ws, nan) == "invalid_frame"
        send(ws, {"action": "unsubscribe", "room": "mine"})
        assert recv_json(ws) == {"type": "unsubscribed", "room": "mine"}
        assert _error(ws, {"action": "history", "room": "mine", "since": 0}) == "not_subscribed"
        assert_silent(ws, 0.3)
        frames, closing = _history(outsider, "theirs", 0)  # since omitted would be 0 too
        assert [f["data"] for f in frames] == ["secret"] and closing == _closing("theirs", 1)
        send(outsider, {"action": "history", "room": "theirs"})
        assert recv_json(outsider)["data"] == "secret"
        assert recv_json(outsider) == _closing("theirs", 1)


# -- server publish -------------------------------------------------------------------------


def test_a_published_message_takes_the_next_seq_and_is_replayed(
    rt: RunningRuntime, publisher: Publisher
) -> None:
    """Client seqs 1-2, a publish gets 3 (from server), the next client message 4; members
    see the published frame live and history replays all four in order."""
    room = "announced"
    with (
        _client(rt, "chat", "speaker", room) as speaker,
        _client(rt, "chat", "hearer", room) as hearer,
    ):
        sent = [_say(speaker, n) for n in ("one", "two")]
        assert [recv_json(hearer) for _ in sent] == sent
        result = publisher.publish(room, {"notice": "deploy"})
        assert (result.delivered, result.gone, result.failed) == (2, 0, 0)
        published = recv_json(hearer)
        assert recv_json(speaker) == published
        assert (published["seq"], published["from"], published["data"]) == (
            3,
            "server",
            {"notice": "deploy"},
        )
        after = _say(speaker, "four")
        assert after["seq"] == 4 and recv_json(hearer) == after
        frames, closing = _history(hearer, room, 0)
        assert [_live(f) for f in frames] == [*sent, published, after]
        assert closing == _closing(room, 4)
        assert publisher.publish("nobody-here", "x").delivered == 0
        with _client(rt, "chat", "empty-room-joiner") as ws:
            assert _subscribe(ws, "nobody-here")["seq"] == 1  # an empty room's publish counts


# -- isolation ------------------------------------------------------------------------------


def test_history_never_crosses_rooms_or_namespaces(rt: RunningRuntime) -> None:
    """Room A and room B (and A of another namespace) count their own seqs from 1, and each
    one's history holds only its own messages."""
    with (
        _client(rt, "chat", "both") as both,
        _client(rt, "other", "elsewhere", "iso-a") as elsewhere,
    ):
        for room in ("iso-a", "iso-b"):
            assert _subscribe(both, room)["seq"] == 0
        a = [_say(both, f"a{n}", "iso-a") for n in range(3)]
        b = [_say(both, f"b{n}", "iso-b") for n in range(2)]
        o = [_say(elsewhere, f"o{n}") for n in range(4)]
        assert [f["seq"] for f in a] == [1, 2, 3]
        assert [f["seq"] for f in b] == [1, 2]
        assert [f["seq"] for f in o] == [1, 2, 3, 4]
        assert_silent(elsewhere, 0.2)  # chat's iso-a never reached other's iso-a
        frames, closing = _history(both, "iso-a", 0)
        assert [_live(f) for f in frames] == a and closing == _closing("iso-a", 3)
        frames, closing = _history(both, "iso-b", 0)
        assert [_live(f) for f in frames] == b and closing == _closing("iso-b", 2)
        frames, closing = _history(elsewhere, "iso-a", 0)
        assert [_live(f) for f in frames] == o and closing == _closing("iso-a", 4)
        assert {f["room"] for f in a} == {"iso-a"} and {f["room"] for f in b} == {"iso-b"}
