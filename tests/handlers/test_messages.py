"""messages: per-room seqs handed out once each, messages stored with their frame and ttl, and
replay of the live suffix found without reading the expired messages."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from realtime_socket.contract import History
from realtime_socket.handlers import messages, protocol, settings
from tests.support.helpers import HISTORY, record_calls

Fixture = tuple[Any, settings.Settings]
RETENTION = 3600


def _build(room: str, text: str = "m") -> Callable[[int], bytes]:
    return lambda seq: protocol.encode(protocol.message_frame(room, "alice", f"{text}{seq}", seq))


def _append(db: Any, cfg: settings.Settings, room: str, retention: int = RETENTION) -> int:
    seq, _ = messages.append(db, cfg.history_table, room, _build(room), retention)
    return seq


def _stored(db: Any, cfg: settings.Settings, room: str) -> dict[int, dict[str, Any]]:
    """The room's message items (not its counter) by seq."""
    items: dict[int, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "TableName": cfg.history_table,
        "KeyConditionExpression": "#r = :r AND #s > :zero",
        "ExpressionAttributeNames": {"#r": History.ROOM_ID, "#s": History.SEQ},
        "ExpressionAttributeValues": {":r": {"S": room}, ":zero": {"N": "0"}},
        "ConsistentRead": True,
    }
    while True:
        page = db.query(**kwargs)
        for item in page["Items"]:
            items[int(item[History.SEQ]["N"])] = item
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _counter(db: Any, cfg: settings.Settings, room: str) -> dict[str, Any] | None:
    key = {History.ROOM_ID: {"S": room}, History.SEQ: {"N": "0"}}
    item: dict[str, Any] | None = db.get_item(
        TableName=cfg.history_table, Key=key, ConsistentRead=True
    ).get("Item")
    return item


def _put_history(
    db: Any, cfg: settings.Settings, room: str, ttls: dict[int, int], last: int
) -> dict[int, bytes]:
    """Write the counter (``last``) and messages with the given ttls directly; their frames."""
    db.put_item(
        TableName=cfg.history_table,
        Item={
            History.ROOM_ID: {"S": room},
            History.SEQ: {"N": "0"},
            History.LAST: {"N": str(last)},
        },
    )
    frames = {}
    for seq, ttl in ttls.items():
        frames[seq] = _build(room)(seq)
        db.put_item(
            TableName=cfg.history_table,
            Item={
                History.ROOM_ID: {"S": room},
                History.SEQ: {"N": str(seq)},
                History.FRAME: {"S": frames[seq].decode()},
                History.TTL: {"N": str(ttl)},
            },
        )
    return frames


def _freeze(monkeypatch: pytest.MonkeyPatch, now: float) -> list[float]:
    """Freeze the clock the messages module reads; its waits are recorded, not slept."""
    waits: list[float] = []
    monkeypatch.setattr(messages, "time", SimpleNamespace(time=lambda: now, sleep=waits.append))
    return waits


def _seqs(found: messages.Replay) -> list[int]:
    return [json.loads(frame)["seq"] for frame in found.frames]


def _canceled(db: Any) -> Exception:
    error = {"Error": {"Code": "TransactionCanceledException", "Message": "canceled"}}
    exc: Exception = db.exceptions.TransactionCanceledException(error, "TransactWriteItems")
    return exc


# -- append ------------------------------------------------------------------------------------


def test_seqs_count_from_one_per_room_independently(table: Fixture) -> None:
    """Each room's seqs go 1, 2, 3 whatever the other rooms do; last_seq follows them."""
    db, cfg = table
    assert messages.last_seq(db, cfg.history_table, "lobby") == 0
    got = [_append(db, cfg, room) for room in ("lobby", "lobby", "news", "lobby", "news")]
    assert got == [1, 2, 1, 3, 2]
    assert messages.last_seq(db, cfg.history_table, "lobby") == 3
    assert messages.last_seq(db, cfg.history_table, "news") == 2
    assert messages.last_seq(db, cfg.history_table, "empty") == 0


def test_the_stored_message_is_the_exact_frame_with_ttl_now_plus_retention(
    table: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(R, n) holds the returned frame byte for byte and ttl = now + retention; (R, 0) holds
    last = n and no ttl, so a room's seqs never start over."""
    db, cfg = table
    _freeze(monkeypatch, 1_800_000_000.9)
    seq, frame = messages.append(db, cfg.history_table, "lobby", _build("lobby", "héllo"), 600)
    assert (seq, json.loads(frame)["seq"]) == (1, 1)
    item = _stored(db, cfg, "lobby")[1]
    assert item == {
        History.ROOM_ID: {"S": "lobby"},
        History.SEQ: {"N": "1"},
        History.FRAME: {"S": frame.decode()},
        History.TTL: {"N": str(1_800_000_000 + 600)},
    }
    assert _counter(db, cfg, "lobby") == {
        History.ROOM_ID: {"S": "lobby"},
        History.SEQ: {"N": "0"},
        History.LAST: {"N": "1"},
    }


def test_retention_zero_counts_but_stores_nothing(table: Fixture) -> None:
    """History off: seqs still go 1, 2, 3 and no message item is written; turning history on
    later continues from the same counter."""
    db, cfg = table
    assert [_append(db, cfg, "lobby", retention=0) for _ in range(3)] == [1, 2, 3]
    assert _stored(db, cfg, "lobby") == {}
    assert messages.last_seq(db, cfg.history_table, "lobby") == 3
    assert _append(db, cfg, "lobby") == 4
    assert set(_stored(db, cfg, "lobby")) == {4}


def test_a_build_that_raises_writes_nothing_and_keeps_the_counter(table: Fixture) -> None:
    """build(seq) raising (a frame too large once its seq is in) stores nothing, takes no seq:
    the next message gets the seq the failed one was offered."""
    db, cfg = table
    _append(db, cfg, "lobby")
    offered: list[int] = []

    def refuse(seq: int) -> bytes:
        offered.append(seq)
        raise ValueError("too large")

    with pytest.raises(ValueError, match="too large"):
        messages.append(db, cfg.history_table, "lobby", refuse, RETENTION)
    assert offered == [2]
    assert messages.last_seq(db, cfg.history_table, "lobby") == 1
    assert set(_stored(db, cfg, "lobby")) == {1}
    assert _append(db, cfg, "lobby") == 2


def test_a_sender_that_loses_the_race_retries_with_the_next_seq(
    table: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rival stores seq 1 between our read and our transaction: ours is canceled, retried,
    and lands at seq 2 with a frame built for 2; the rival's message is not overwritten."""
    db, cfg = table
    real = db.transact_write_items
    rival: list[tuple[int, bytes]] = []
    calls: list[int] = []

    def transact_write_items(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # our first attempt: the rival (call 2) gets in first
            rival.append(
                messages.append(db, cfg.history_table, "lobby", _build("lobby", "r"), RETENTION)
            )
        return real(**kwargs)

    monkeypatch.setattr(db, "transact_write_items", transact_write_items)
    seq, frame = messages.append(db, cfg.history_table, "lobby", _build("lobby", "us"), RETENTION)
    [(rival_seq, rival_frame)] = rival
    assert len(calls) == 3  # ours canceled, the rival's, ours again
    assert (rival_seq, seq) == (1, 2)
    assert json.loads(frame)["seq"] == 2
    assert json.loads(frame)["data"] == "us2"
    stored = _stored(db, cfg, "lobby")
    assert {n: item[History.FRAME]["S"] for n, item in stored.items()} == {
        1: rival_frame.decode(),
        2: frame.decode(),
    }
    assert messages.last_seq(db, cfg.history_table, "lobby") == 2


class _OneCallAtATime:
    """A client whose calls are each atomic, as DynamoDB's are: moto's backend is not
    thread-safe (racing threads there get duplicate seqs and 'dictionary changed size'), so
    every call holds a shared lock. Threads still interleave *between* calls, which is the
    race the conditional transaction must win."""

    def __init__(self, client: Any, lock: threading.Lock, canceled: list[int]) -> None:
        self._client = client
        self._lock = lock
        self._canceled = canceled
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            try:
                with self._lock:
                    return method(**kwargs)
            except self._client.exceptions.TransactionCanceledException:
                self._canceled.append(1)
                raise
            finally:
                time.sleep(0.001)  # let another sender in between our read and our write

        return call


def test_concurrent_appends_get_distinct_gapless_seqs(table: Fixture) -> None:
    """Four threads, each with its own client, append 5 messages each to one room: seqs are
    exactly 1..20, each frame built for its seq is the one stored, and races did happen."""
    db, cfg = table
    threads, each = 4, 5
    lock = threading.Lock()
    canceled: list[int] = []
    clients = [
        _OneCallAtATime(
            boto3.session.Session().client("dynamodb", region_name="us-east-1"), lock, canceled
        )
        for _ in range(threads)
    ]
    results: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def sender(client: Any, name: int) -> None:
        start.wait()
        for _ in range(each):
            try:
                got = messages.append(
                    client, cfg.history_table, "lobby", _build("lobby", f"t{name}-"), RETENTION
                )
            except BaseException as exc:
                errors.append(exc)
            else:
                with lock:
                    results.append(got)

    workers = [threading.Thread(target=sender, args=(c, n)) for n, c in enumerate(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    assert sorted(seq for seq, _ in results) == list(range(1, threads * each + 1))
    stored = _stored(db, cfg, "lobby")
    assert {seq: frame.decode() for seq, frame in results} == {
        seq: item[History.FRAME]["S"] for seq, item in stored.items()
    }
    assert messages.last_seq(db, cfg.history_table, "lobby") == threads * each
    assert canceled, "the threads never raced: the test proved nothing"


def test_persistent_conflicts_raise_contention_after_every_attempt(
    table: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every transaction canceled: SEQ_ATTEMPTS attempts with bounded waits between them,
    then Contention naming the room; nothing is stored and the counter is unchanged."""
    db, cfg = table
    _append(db, cfg, "lobby")
    waits = _freeze(monkeypatch, time.time())
    attempts: list[dict[str, Any]] = []

    def transact_write_items(**kwargs: Any) -> Any:
        attempts.append(kwargs)
        raise _canceled(db)

    monkeypatch.setattr(db, "transact_write_items", transact_write_items)
    with pytest.raises(messages.Contention) as raised:
        _append(db, cfg, "lobby")
    assert raised.value.room == "lobby"
    assert len(attempts) == messages.SEQ_ATTEMPTS == 20
    assert len(waits) == messages.SEQ_ATTEMPTS - 1
    assert all(0 <= wait <= 0.2 for wait in waits)
    assert messages.last_seq(db, cfg.history_table, "lobby") == 1
    assert set(_stored(db, cfg, "lobby")) == {1}


# -- replay ------------------------------------------------------------------------------------


def test_replay_from_the_last_seq_or_later_is_empty_and_complete(table: Fixture) -> None:
    """since >= the room's last seq: no frames, complete, last_seq = the room's last."""
    db, cfg = table
    for _ in range(3):
        _append(db, cfg, "lobby")
    for since in (3, 7):
        assert messages.replay(db, cfg.history_table, "lobby", since, 10) == messages.Replay(
            [], 3, complete=True, more=False
        )
    assert messages.replay(db, cfg.history_table, "new", 0, 10) == messages.Replay(
        [], 0, complete=True, more=False
    )


def test_replay_sends_the_stored_frames_oldest_first_marked_replay(table: Fixture) -> None:
    """Messages after since, oldest first: each the stored frame (its original seq, id, ts)
    plus "replay":true, nothing else changed; other rooms' messages are not included."""
    db, cfg = table
    sent = [messages.append(db, cfg.history_table, "lobby", _build("lobby"), RETENTION)[1]]
    _append(db, cfg, "news")
    sent += [
        messages.append(db, cfg.history_table, "lobby", _build("lobby"), RETENTION)[1]
        for _ in range(4)
    ]
    found = messages.replay(db, cfg.history_table, "lobby", 2, 10)
    assert [json.loads(f) for f in found.frames] == [
        {**json.loads(frame), "replay": True} for frame in sent[2:]
    ]
    assert _seqs(found) == [3, 4, 5]
    assert (found.last_seq, found.complete, found.more) == (5, True, False)


def test_limit_cuts_the_replay_with_more_and_last_seq_the_last_replayed(table: Fixture) -> None:
    """10 messages, limit 4: 1-4 (more), then from 4: 5-8 (more), then from 8: 9-10; and
    exactly limit messages left is not more."""
    db, cfg = table
    for _ in range(10):
        _append(db, cfg, "lobby")
    pages = []
    since = 0
    for _ in range(3):
        found = messages.replay(db, cfg.history_table, "lobby", since, 4)
        pages.append((_seqs(found), found.last_seq, found.complete, found.more))
        since = found.last_seq
    assert pages == [
        ([1, 2, 3, 4], 4, True, True),
        ([5, 6, 7, 8], 8, True, True),
        ([9, 10], 10, True, False),
    ]
    exact = messages.replay(db, cfg.history_table, "lobby", 6, 4)
    assert (_seqs(exact), exact.last_seq, exact.more) == ([7, 8, 9, 10], 10, False)


def test_expired_oldest_messages_make_the_replay_incomplete(
    table: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seqs 1-3 have left retention (ttl <= now, still in the table as TTL lags): only 4-6 are
    replayed, complete is False when since < 3 and True from 3 on."""
    db, cfg = table
    now = 1_800_000_000
    _freeze(monkeypatch, now + 0.5)
    ttls = {1: now - 100, 2: now - 1, 3: now, 4: now + 1, 5: now + 2, 6: now + 3}
    frames = _put_history(db, cfg, "lobby", ttls, last=6)
    found = messages.replay(db, cfg.history_table, "lobby", 0, 10)
    assert [json.loads(f) for f in found.frames] == [
        {**json.loads(frames[n]), "replay": True} for n in (4, 5, 6)
    ]
    assert (found.last_seq, found.complete, found.more) == (6, False, False)
    assert messages.replay(db, cfg.history_table, "lobby", 2, 10).complete is False
    from_three = messages.replay(db, cfg.history_table, "lobby", 3, 10)
    assert (_seqs(from_three), from_three.complete) == ([4, 5, 6], True)


def test_all_expired_replays_nothing_incomplete_at_the_rooms_last_seq(table: Fixture) -> None:
    """Every message after since has left retention: no frames, complete False, last_seq =
    the room's last seq (so the client does not ask for them again)."""
    db, cfg = table
    past = int(time.time()) - 60
    _put_history(db, cfg, "lobby", dict.fromkeys(range(1, 5), past), last=4)
    assert messages.replay(db, cfg.history_table, "lobby", 1, 10) == messages.Replay(
        [], 4, complete=False, more=False
    )


def test_missing_messages_count_as_expired(table: Fixture) -> None:
    """Seqs 1-2 already deleted by TTL, 3-5 live: 3-5 are replayed and complete is False."""
    db, cfg = table
    future = int(time.time()) + 600
    _put_history(db, cfg, "lobby", dict.fromkeys((3, 4, 5), future), last=5)
    found = messages.replay(db, cfg.history_table, "lobby", 0, 10)
    assert (_seqs(found), found.last_seq, found.complete, found.more) == (
        [3, 4, 5],
        5,
        False,
        False,
    )


def test_replay_reads_logarithmically_many_items_not_the_expired_ones(table: Fixture) -> None:
    """200 expired and 5 live messages: a handful of GetItems (binary search), one Query, and
    the Query reads only the 5 live items."""
    db, cfg = table
    now = int(time.time())
    ttls = {n: now - 3600 for n in range(1, 201)} | {n: now + 3600 for n in range(201, 206)}
    _put_history(db, cfg, "lobby", ttls, last=205)
    calls = record_calls(db, cfg.history_table)
    scanned: list[int] = []
    db.meta.events.register(
        "after-call.dynamodb.Query",
        lambda parsed, **_: scanned.append(parsed.get("ScannedCount", 0)),
    )
    found = messages.replay(db, cfg.history_table, "lobby", 0, 500)
    assert _seqs(found) == list(range(201, 206))
    assert (found.last_seq, found.complete, found.more) == (205, False, False)
    assert {where for _, where in calls} == {HISTORY}
    gets = sum(1 for op, _ in calls if op == "GetItem")
    assert gets <= 2 + math.ceil(math.log2(205))  # the counter, then the binary search
    assert [op for op, _ in calls if op != "GetItem"] == ["Query"]
    assert sum(scanned) == 5


def test_holes_after_the_first_live_message_make_the_replay_incomplete(table: Fixture) -> None:
    """Retention lowered on a redeploy: seqs 1-5 outlive 6-10, so live messages are not a
    suffix. The replay sends 1-5 and says incomplete instead of claiming it caught up."""
    db, cfg = table
    now = int(time.time())
    ttls = {**{seq: now + 3540 for seq in range(1, 6)}, **{seq: now - 1 for seq in range(6, 11)}}
    _put_history(db, cfg, "lobby", ttls, last=10)
    found = messages.replay(db, cfg.history_table, "lobby", 0, 50)
    assert _seqs(found) == [1, 2, 3, 4, 5]
    assert (found.complete, found.more) == (False, False)


def test_a_missing_seq_in_the_middle_makes_the_replay_incomplete(table: Fixture) -> None:
    """Seq 3 never stored (history was off for a moment): 1, 2, 4 replayed, incomplete."""
    db, cfg = table
    later = int(time.time()) + 3600
    _put_history(db, cfg, "lobby", {1: later, 2: later, 4: later}, last=4)
    found = messages.replay(db, cfg.history_table, "lobby", 0, 50)
    assert _seqs(found) == [1, 2, 4]
    assert found.complete is False and found.last_seq == 4
