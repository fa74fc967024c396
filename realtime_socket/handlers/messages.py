"""Room sequence numbers and stored messages, in the history table.

Every room message gets ``seq``, an integer per room, strictly increasing. With history on
(``history.retention_seconds`` > 0) the counter item ``(R, 0)`` and the message ``(R, n)``
are written in one TransactWriteItems, conditional on the counter still holding ``n - 1``:
two senders racing for the same ``n`` cannot both win, and a seq is only given to a message
that is stored, so stored seqs have no gaps. With history off one UpdateItem ``ADD`` hands
out the next seq.

Messages leave retention in seq order (their ``ttl`` is their write time plus the
retention), so the live messages of a room are a suffix of its seqs: :func:`replay` finds
where that suffix starts with a binary search of consistent GetItems instead of reading the
expired ones, which DynamoDB's TTL may keep for days. Where that does not hold (retention
lowered on a redeploy, history switched off for a while) the replay notices the holes and
says ``complete: false``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realtime_socket.contract import History

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "SEQ_ATTEMPTS",
    "Contention",
    "Replay",
    "append",
    "forget_known_seqs",
    "last_seq",
    "replay",
]

#: Attempts at taking the next seq before giving up (each after a jittered wait): 20 keep
#: 8 senders racing in one room under the limit (measured with tests/handlers).
SEQ_ATTEMPTS = 20
#: The wait before attempt k is uniform in [0, min(_WAIT_CAP, _WAIT_BASE * 2**k)] seconds.
_WAIT_BASE, _WAIT_CAP = 0.005, 0.2
#: The last seq this container saw per (table, room): the first attempt uses it instead of
#: reading the counter, and a stale value only costs a retry (the condition fails and
#: returns the counter as it is). Bounded: cleared when it grows past this many rooms.
_KNOWN_LAST: dict[tuple[str, str], int] = {}
_KNOWN_LIMIT = 10_000


class Contention(RuntimeError):
    """Other senders kept taking the room's next seq first, ``SEQ_ATTEMPTS`` times running."""

    def __init__(self, room: str) -> None:
        super().__init__(f"room {room!r}: the next seq was taken {SEQ_ATTEMPTS} times running")
        self.room = room


@dataclass(frozen=True)
class Replay:
    """What a ``history`` request sends: the frames, then the closing ``history`` frame."""

    #: Stored message frames with ``seq`` > since, oldest first, each with ``"replay":true``.
    frames: list[bytes]
    #: The seq of the last frame replayed, or the room's last seq when none is.
    last_seq: int
    #: False when messages after ``since`` have left retention: the client missed some.
    complete: bool
    #: True when more than ``limit`` messages were left: ask again from ``last_seq``.
    more: bool


def _key(room: str, seq: int) -> dict[str, Any]:
    return {History.ROOM_ID: {"S": room}, History.SEQ: {"N": str(seq)}}


def last_seq(client: DynamoDBClient, table: str, room: str) -> int:
    """The last seq given in ``room`` (0 before its first message); a consistent read."""
    item = client.get_item(
        TableName=table, Key=_key(room, History.COUNTER_SEQ), ConsistentRead=True
    ).get("Item")
    return int(item[History.LAST]["N"]) if item and History.LAST in item else 0


def append(
    client: DynamoDBClient,
    table: str,
    room: str,
    build: Callable[[int], bytes],
    retention_seconds: int,
) -> tuple[int, bytes]:
    """Give the room's next seq to the frame ``build(seq)`` returns; store it when history is
    on. Returns the seq and the frame.

    Raises:
        Contention: other senders took the next seq first on every attempt.
    """
    if retention_seconds <= 0:
        answer = client.update_item(
            TableName=table,
            Key=_key(room, History.COUNTER_SEQ),
            UpdateExpression="ADD #last :one",
            ExpressionAttributeNames={"#last": History.LAST},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        seq = int(answer["Attributes"][History.LAST]["N"])
        return seq, build(seq)
    known = _KNOWN_LAST.get((table, room))
    for attempt in range(SEQ_ATTEMPTS):
        if attempt:
            time.sleep(random.uniform(0, min(_WAIT_CAP, _WAIT_BASE * 2**attempt)))  # noqa: S311
        previous = last_seq(client, table, room) if known is None else known
        seq = previous + 1
        frame = build(seq)
        values: dict[str, Any] = {":seq": {"N": str(seq)}}
        if previous:
            values[":previous"] = {"N": str(previous)}
        condition = "#last = :previous" if previous else "attribute_not_exists(#last)"
        counter: Any = {
            "TableName": table,
            "Key": _key(room, History.COUNTER_SEQ),
            "UpdateExpression": "SET #last = :seq",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#last": History.LAST},
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        message: Any = {
            "TableName": table,
            "Item": {
                **_key(room, seq),
                History.FRAME: {"S": frame.decode()},
                History.TTL: {"N": str(int(time.time()) + retention_seconds)},
            },
        }
        try:
            client.transact_write_items(TransactItems=[{"Update": counter}, {"Put": message}])
        except client.exceptions.TransactionCanceledException as exc:
            # Another sender took this seq (the counter comes back with the refusal), or the
            # transactions collided (read the counter again): either way, once more.
            known = _counter_in(exc.response)
            continue
        if len(_KNOWN_LAST) >= _KNOWN_LIMIT:
            _KNOWN_LAST.clear()
        _KNOWN_LAST[(table, room)] = seq
        return seq, frame
    _KNOWN_LAST.pop((table, room), None)
    raise Contention(room)


def forget_known_seqs() -> None:
    """Drop the container's remembered seqs (tests, or a table that was recreated)."""
    _KNOWN_LAST.clear()


def _counter_in(response: Any) -> int | None:
    """The counter's ``last`` a cancelled transaction returned with its condition failure."""
    reasons = response.get("CancellationReasons") or [{}]
    item = reasons[0].get("Item")
    if item and History.LAST in item:
        return int(item[History.LAST]["N"])
    return None


def _live(item: dict[str, Any] | None, now: int) -> bool:
    return bool(item) and int(item[History.TTL]["N"]) > now  # type: ignore[index]


def _get(client: DynamoDBClient, table: str, room: str, seq: int) -> dict[str, Any] | None:
    return client.get_item(TableName=table, Key=_key(room, seq), ConsistentRead=True).get("Item")


def _first_live(client: DynamoDBClient, table: str, room: str, low: int, high: int) -> int:
    """The smallest seq in [low, high] whose message is still stored and live (high + 1 when
    none is): live messages are a suffix of the seqs, so a binary search finds it."""
    now = int(time.time())
    while low <= high:
        middle = (low + high) // 2
        if _live(_get(client, table, room, middle), now):
            high = middle - 1
        else:
            low = middle + 1
    return low


def replay(client: DynamoDBClient, table: str, room: str, since: int, limit: int) -> Replay:
    """The stored messages of ``room`` after ``since``, oldest first, at most ``limit``."""
    last = last_seq(client, table, room)
    if since >= last:
        return Replay([], last, complete=True, more=False)
    start = _first_live(client, table, room, since + 1, last)
    complete = start == since + 1
    frames: list[bytes] = []
    seqs: list[int] = []
    now = int(time.time())
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#room = :room AND #seq BETWEEN :start AND :last",
        "ExpressionAttributeNames": {"#room": History.ROOM_ID, "#seq": History.SEQ},
        "ExpressionAttributeValues": {
            ":room": {"S": room},
            ":start": {"N": str(start)},
            ":last": {"N": str(last)},
        },
        "ConsistentRead": True,
    }
    expected = start  # the seq the next replayed message should have
    while start <= last and len(frames) <= limit:
        page = client.query(**kwargs, Limit=limit + 1 - len(frames))
        for item in page.get("Items", []):
            if not _live(item, now):
                continue
            frame = json.loads(item[History.FRAME]["S"])
            frame["replay"] = True
            frames.append(json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode())
            seqs.append(int(item[History.SEQ]["N"]))
            # a hole past the first live message: retention was lowered, or history was off
            complete = complete and (len(seqs) > limit or seqs[-1] == expected)
            expected = seqs[-1] + 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    more = len(frames) > limit
    frames, seqs = frames[:limit], seqs[:limit]
    if not more and expected <= last:
        complete = False  # messages up to the room's last seq are gone
    return Replay(frames, seqs[-1] if seqs else last, complete=complete, more=more)
