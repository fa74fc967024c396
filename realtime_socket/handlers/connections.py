"""The connections table: who is connected, and to which rooms.

Two kinds of item (names in :class:`realtime_socket.contract.Table`):

- the connection row ``connectionId=<cid>``: ``userId``, ``connectedAt`` (epoch ms),
  ``ttl`` (epoch s), the rate limiter's window and count, and ``rooms``, the string set of
  the rooms it is in;
- one membership ``connectionId=<cid>|<room>`` per room, with ``roomId`` and the row's
  ``ttl``. The room index (hash ``roomId``) holds only memberships and projects only
  ``ttl`` beside the keys, so a broadcast Queries exactly the room's members and reads a
  few bytes per member.

Invariant: the row's ``rooms`` covers every membership of the connection. Subscribing adds
the room to the set before writing the membership; unsubscribing deletes the membership
before taking the room out of the set; so deleting the row and the memberships its set
names (``$disconnect``, the 410 clean-up) never leaves a membership behind, whichever call
fails in between. TTL removes what a lost ``$disconnect`` leaves, and every read ignores
items past their ``ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS, ExponentialBackoff, RetryContext

from realtime_socket.contract import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "Connection",
    "RateLimited",
    "RoomChange",
    "TooManyRooms",
    "UnprocessedDeletes",
    "batch_delete",
    "claim_send",
    "delete",
    "delete_many",
    "get",
    "live_items",
    "member_of",
    "membership_key",
    "put",
    "room_members",
    "subscribe",
    "unsubscribe",
    "user_connection_count",
    "user_connections",
]


#: BatchWriteItem takes at most 25 requests, BatchGetItem 100 keys.
_BATCH_SIZE = 25
#: How long after connecting a 410 may mean "still in ``$connect``": a post answers 410 until
#: the handshake completes, which takes at most API Gateway's 29 s integration timeout.
CONNECTING_GRACE_SECONDS = 30
_BATCH_GET = 100
#: Unprocessed rows are retried within the event: cap each wait at 1 s (botocore's 20 s
#: cap would outlive API Gateway's 29 s integration timeout).
_BACKOFF = ExponentialBackoff(max_backoff=1)
#: The rate limiter's window number and count live in the connection's own row.
_RATE_WINDOW, _RATE_COUNT = "rlWin", "rlCount"
_SEP = Table.MEMBERSHIP_SEPARATOR


class RateLimited(Exception):
    """The connection has used up its messages for the current window."""


class TooManyRooms(Exception):
    """The connection is already in as many rooms as it may be."""


class UnprocessedDeletes(RuntimeError):
    """BatchWriteItem still left items unprocessed after the client's retry budget."""

    def __init__(self, table: str, connection_ids: list[str], attempts: int) -> None:
        super().__init__(
            f"{len(connection_ids)} rows of {table} still unprocessed after {attempts} "
            "BatchWriteItem attempts; DynamoDB's TTL removes them later"
        )
        self.table = table
        self.connection_ids = connection_ids
        self.attempts = attempts


@dataclass(frozen=True)
class Connection:
    connection_id: str
    user_id: str
    connected_at: int
    #: The rooms the connection is in.
    rooms: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RoomChange:
    """A subscribe's or unsubscribe's outcome: the row after it, and whether the room was
    new to the connection (subscribe) or left by it (unsubscribe)."""

    connection: Connection
    room: str
    changed: bool


def membership_key(connection_id: str, room: str) -> str:
    """The hash key of ``connection_id``'s membership of ``room``."""
    return f"{connection_id}{_SEP}{room}"


def member_of(key: str) -> str:
    """The connection id a room index entry names: the key's part before ``|`` (a row from
    before memberships, whose key has no ``|``, names itself)."""
    return key.split(_SEP, 1)[0]


def _expires(conn: Connection, ttl_seconds: int) -> int:
    return conn.connected_at // 1000 + ttl_seconds


def _membership_item(connection_id: str, room: str, ttl: int) -> dict[str, Any]:
    return {
        Table.CONNECTION_ID: {"S": membership_key(connection_id, room)},
        Table.ROOM_ID: {"S": room},
        Table.TTL: {"N": str(ttl)},
    }


def put(
    client: DynamoDBClient,
    table: str,
    conn: Connection,
    ttl_seconds: int,
    expires_at: int | None = None,
) -> None:
    """Record a new connection: its row, then a membership for each of its rooms.

    Every item's ``ttl`` is the connection's start plus ``ttl_seconds``, or ``expires_at``
    (the token's ``exp``) when that is sooner: reads ignore the connection from then on.

    Two plain writes rather than a TransactWriteItems, which bills two write units per
    item: the row goes first, so a membership never names a connection without a row; if
    a membership write fails what was written is deleted again and the error raised (``$connect``
    answers 500 and API Gateway refuses the handshake).
    """
    ttl = _expires(conn, ttl_seconds)
    if expires_at is not None:
        ttl = min(ttl, expires_at)
    item: dict[str, Any] = {
        Table.CONNECTION_ID: {"S": conn.connection_id},
        Table.USER_ID: {"S": conn.user_id},
        Table.CONNECTED_AT: {"N": str(conn.connected_at)},
        Table.TTL: {"N": str(ttl)},
    }
    if conn.rooms:
        item[Table.ROOMS] = {"SS": sorted(conn.rooms)}
    client.put_item(TableName=table, Item=item)
    written = [conn.connection_id]
    try:
        for room in sorted(conn.rooms):
            client.put_item(TableName=table, Item=_membership_item(conn.connection_id, room, ttl))
            written.append(membership_key(conn.connection_id, room))
    except Exception:
        for key in reversed(written):
            client.delete_item(TableName=table, Key={Table.CONNECTION_ID: {"S": key}})
        raise


def _rooms_of(item: dict[str, Any]) -> frozenset[str]:
    """The rooms an item's row names; a row from before memberships has one ``roomId``."""
    if Table.ROOMS in item:
        return frozenset(item[Table.ROOMS]["SS"])
    if Table.ROOM_ID in item:
        return frozenset({item[Table.ROOM_ID]["S"]})
    return frozenset()


def _row(item: dict[str, Any]) -> Connection:
    return Connection(
        connection_id=item[Table.CONNECTION_ID]["S"],
        user_id=item[Table.USER_ID]["S"],
        connected_at=int(item[Table.CONNECTED_AT]["N"]),
        rooms=_rooms_of(item),
    )


def _from_item(item: dict[str, Any] | None) -> Connection | None:
    """The live connection an item is, or None (absent, or past its ``ttl``)."""
    if not item or int(item[Table.TTL]["N"]) <= int(time.time()):
        return None
    return _row(item)


def claim_send(
    client: DynamoDBClient,
    table: str,
    connection_id: str,
    rate: float,
    burst: int,
    now: float | None = None,
) -> Connection | None:
    """Count one message against the connection's rate limit and return its row.

    A fixed window of ``burst / rate`` seconds allows ``burst`` messages. The count lives
    in the connection's own row, so reading the sender and counting cost one conditional
    UpdateItem (one write unit) instead of a GetItem. ``rate <= 0`` only reads the row.

    Raises:
        RateLimited: the window's messages are used up.
    """
    if rate <= 0:
        return get(client, table, connection_id)
    window = int((time.time() if now is None else now) / (burst / rate))
    key = {Table.CONNECTION_ID: {"S": connection_id}}
    values: dict[str, Any] = {":w": {"N": str(window)}, ":one": {"N": "1"}}
    win, count = _RATE_WINDOW, _RATE_COUNT
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        (
            f"SET {count} = {count} + :one",
            f"{win} = :w AND {count} < :burst",
            {**values, ":burst": {"N": str(burst)}},
        ),
        (f"SET {win} = :w, {count} = :one", f"attribute_not_exists({win}) OR {win} < :w", values),
    ]
    for update, condition, attempt_values in attempts:
        try:
            answer = client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists({Table.CONNECTION_ID}) AND ({condition})",
                ExpressionAttributeValues=attempt_values,
                ReturnValues="ALL_NEW",
            )
        except client.exceptions.ConditionalCheckFailedException:
            continue
        return _from_item(answer.get("Attributes"))
    if get(client, table, connection_id) is None:
        return None
    raise RateLimited(connection_id)


def user_connection_count(client: DynamoDBClient, table: str, index: str, user_id: str) -> int:
    """Live connections of ``user_id``, from the user index (expired rows excluded)."""
    total = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": f"{Table.USER_ID} = :u",
        "FilterExpression": "#ttl > :now",
        "ExpressionAttributeNames": {"#ttl": Table.TTL},
        "ExpressionAttributeValues": {":u": {"S": user_id}, ":now": {"N": str(int(time.time()))}},
        "Select": "COUNT",
    }
    while True:
        page = client.query(**kwargs)
        total += page.get("Count", 0)
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get(client: DynamoDBClient, table: str, connection_id: str) -> Connection | None:
    """Read one row, strongly consistent: the sender may have connected a moment ago.

    Rows past their ``ttl`` count as absent (DynamoDB deletes expired items lazily).
    """
    item = client.get_item(
        TableName=table,
        Key={Table.CONNECTION_ID: {"S": connection_id}},
        ConsistentRead=True,
    ).get("Item")
    return _from_item(item)


def subscribe(
    client: DynamoDBClient,
    table: str,
    connection_id: str,
    room: str,
    max_rooms: int,
    before_membership: Callable[[RoomChange], None] | None = None,
) -> RoomChange | None:
    """Put the connection in ``room``; idempotent. None when the connection has no live row.

    One conditional UpdateItem adds the room to the row's set (refused when the set is full
    and does not hold the room yet), then a PutItem writes the membership with the row's
    ``ttl``. Subscribing again rewrites the same membership, which also repairs one a
    failed earlier subscribe never wrote. ``before_membership`` runs between the two (the
    presence check reads the user's other memberships there).

    Raises:
        TooManyRooms: the connection is in ``max_rooms`` other rooms already.
    """
    now = str(int(time.time()))
    try:
        answer = client.update_item(
            TableName=table,
            Key={Table.CONNECTION_ID: {"S": connection_id}},
            UpdateExpression="ADD #rooms :r",
            ConditionExpression=(
                "attribute_exists(#cid) AND #ttl > :now AND (attribute_not_exists(#rooms) "
                "OR size(#rooms) < :max OR contains(#rooms, :room))"
            ),
            ExpressionAttributeNames={
                "#cid": Table.CONNECTION_ID,
                "#rooms": Table.ROOMS,
                "#ttl": Table.TTL,
            },
            ExpressionAttributeValues={
                ":r": {"SS": [room]},
                ":room": {"S": room},
                ":max": {"N": str(max_rooms)},
                ":now": {"N": now},
            },
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        old: Any = exc.response.get("Item")
        if _from_item(old) is None:
            return None
        raise TooManyRooms(connection_id) from None
    before = _from_item(answer.get("Attributes"))
    if before is None:
        return None
    joined = replace(before, rooms=before.rooms | {room})
    change = RoomChange(joined, room, room not in before.rooms)
    if before_membership is not None:
        before_membership(change)
    ttl = int(answer["Attributes"][Table.TTL]["N"])
    client.put_item(TableName=table, Item=_membership_item(connection_id, room, ttl))
    return change


def unsubscribe(
    client: DynamoDBClient, table: str, connection_id: str, room: str
) -> RoomChange | None:
    """Take the connection out of ``room``; a room it is not in is fine (``changed`` is
    then false). None when the connection has no live row.

    The membership goes first (DeleteItem), then the room leaves the row's set (UpdateItem
    ``DELETE``, conditional on the row existing so it never creates one): the set always
    covers the memberships.
    """
    removed = client.delete_item(
        TableName=table,
        Key={Table.CONNECTION_ID: {"S": membership_key(connection_id, room)}},
        ReturnValues="ALL_OLD",
    ).get("Attributes")
    try:
        answer = client.update_item(
            TableName=table,
            Key={Table.CONNECTION_ID: {"S": connection_id}},
            UpdateExpression="DELETE #rooms :r",
            ConditionExpression="attribute_exists(#cid)",
            ExpressionAttributeNames={"#cid": Table.CONNECTION_ID, "#rooms": Table.ROOMS},
            ExpressionAttributeValues={":r": {"SS": [room]}},
            ReturnValues="ALL_NEW",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return None
    conn = _from_item(answer.get("Attributes"))
    return None if conn is None else RoomChange(conn, room, removed is not None)


def delete(client: DynamoDBClient, table: str, connection_id: str) -> Connection | None:
    """Delete a connection's row and its memberships; return the row (expired or not), or
    None when there was none.

    DeleteItem with ``ReturnValues=ALL_OLD`` names the rooms of the row it removed, then
    :func:`batch_delete` removes those memberships. A row that is not there is not an
    error (idempotent).
    """
    old = client.delete_item(
        TableName=table,
        Key={Table.CONNECTION_ID: {"S": connection_id}},
        ReturnValues="ALL_OLD",
    ).get("Attributes")
    conn = _row(old) if old else None
    rooms = sorted(conn.rooms) if conn else []
    batch_delete(client, table, [membership_key(connection_id, room) for room in rooms])
    return conn


def delete_many(
    client: DynamoDBClient,
    table: str,
    connection_ids: Iterable[str],
    room: str | None = None,
    now: float | None = None,
) -> list[Connection]:
    """Delete stale connections (those that answered 410): each row and its memberships;
    return the rows deleted (those already gone, or too young, are not in it).

    A connection that connected less than ``CONNECTING_GRACE_SECONDS`` ago is left alone
    (a conditional DeleteItem): API Gateway answers 410 to posts until ``$connect`` returns,
    and the rows are written before that, so deleting them would leave an open connection
    that no room lists. A young connection that is really gone is deleted by a later 410, by
    its ``$disconnect``, or by TTL.

    Each row goes with one DeleteItem (``ALL_OLD`` names its rooms), then every membership
    those rows named, plus each connection's membership of ``room`` (the room the fan-out
    found it in, even if its row is already gone), with :func:`batch_delete`.

    Raises:
        UnprocessedDeletes: memberships were still unprocessed after the last attempt.
    """
    keys: list[str] = []
    deleted: list[Connection] = []
    cutoff = int((time.time() if now is None else now) * 1000) - CONNECTING_GRACE_SECONDS * 1000
    for cid in dict.fromkeys(connection_ids):
        try:
            old = client.delete_item(
                TableName=table,
                Key={Table.CONNECTION_ID: {"S": cid}},
                ConditionExpression="attribute_not_exists(#cid) OR #at < :cutoff",
                ExpressionAttributeNames={"#cid": Table.CONNECTION_ID, "#at": Table.CONNECTED_AT},
                ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
                ReturnValues="ALL_OLD",
            ).get("Attributes")
        except client.exceptions.ConditionalCheckFailedException:
            continue  # young: perhaps still in its $connect (see CONNECTING_GRACE_SECONDS)
        rooms = set(_rooms_of(old) if old else ())
        if old:
            deleted.append(_row(old))
        if room is not None:
            rooms.add(room)
        keys.extend(membership_key(cid, r) for r in sorted(rooms))
    batch_delete(client, table, keys)
    return deleted


def batch_delete(client: DynamoDBClient, table: str, keys: list[str]) -> None:
    """Delete items by hash key 25 at a time, retrying the ones DynamoDB leaves unprocessed.

    DynamoDB answers a throttled batch with ``UnprocessedItems`` rather than an error, so
    botocore's own retries never see it: the rest is resent with botocore's exponential
    backoff, within the attempts the client is configured for.

    Raises:
        UnprocessedDeletes: items were still unprocessed after the last attempt.
    """
    retries: dict[str, Any] = getattr(client.meta.config, "retries", None) or {}
    max_attempts = int(retries.get("total_max_attempts") or DEFAULT_MAX_ATTEMPTS)
    for start in range(0, len(keys), _BATCH_SIZE):
        requests: list[Any] = [
            {"DeleteRequest": {"Key": {Table.CONNECTION_ID: {"S": key}}}}
            for key in keys[start : start + _BATCH_SIZE]
        ]
        for attempt in range(1, max_attempts + 1):
            if attempt > 1:
                time.sleep(_BACKOFF.delay_amount(RetryContext(attempt - 1)))
            answer = client.batch_write_item(RequestItems={table: requests})
            requests = answer.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                break
        if requests:
            left = [r["DeleteRequest"]["Key"][Table.CONNECTION_ID]["S"] for r in requests]
            raise UnprocessedDeletes(table, left, max_attempts)


def live_items(
    client: DynamoDBClient,
    table: str,
    keys: Iterable[str],
    attributes: Iterable[str],
    *,
    consistent: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield the items of ``keys`` that exist and are within their ``ttl``, with
    ``attributes`` (and ``ttl``): BatchGetItem, 100 keys at a time, retrying what DynamoDB
    leaves unprocessed (a throttled batch answers ``UnprocessedKeys``, not an error)."""
    names = {f"#a{i}": name for i, name in enumerate(dict.fromkeys([Table.TTL, *attributes]))}
    ids = list(dict.fromkeys(keys))
    now = int(time.time())
    for start in range(0, len(ids), _BATCH_GET):
        request: Any = {
            table: {
                "Keys": [
                    {Table.CONNECTION_ID: {"S": key}} for key in ids[start : start + _BATCH_GET]
                ],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ConsistentRead": consistent,
            }
        }
        for attempt in range(6):
            if attempt:
                time.sleep(_BACKOFF.delay_amount(RetryContext(attempt)))
            answer = client.batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                if int(item[Table.TTL]["N"]) > now:
                    yield item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        if request:
            raise RuntimeError(f"BatchGetItem left {len(request[table]['Keys'])} items unread")


def _index_keys(
    client: DynamoDBClient, table: str, index: str, attribute: str, value: str
) -> Iterator[str]:
    """Yield the hash keys of the live items an index lists under ``attribute = value``,
    page by page (a Query on the index, never a Scan; expired items are filtered out)."""
    now = str(int(time.time()))
    kwargs: dict[str, object] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": "#attr = :value",
        "FilterExpression": "#ttl > :now",
        "ProjectionExpression": Table.CONNECTION_ID,
        "ExpressionAttributeNames": {"#attr": attribute, "#ttl": Table.TTL},
        "ExpressionAttributeValues": {":value": {"S": value}, ":now": {"N": now}},
    }
    while True:
        page = client.query(**kwargs)  # type: ignore[arg-type]
        for item in page.get("Items", []):
            yield item[Table.CONNECTION_ID]["S"]
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def room_members(client: DynamoDBClient, table: str, index: str, room_id: str) -> Iterator[str]:
    """Yield the connection ids in ``room_id`` with a Query on the room index.

    The cost is proportional to the room, not to the table. The index lists memberships
    (``<cid>|<room>``); the connection id is the key's part before ``|``.
    """
    return map(member_of, _index_keys(client, table, index, Table.ROOM_ID, room_id))


def user_connections(client: DynamoDBClient, table: str, index: str, user_id: str) -> Iterator[str]:
    """Yield the live connection ids of ``user_id`` with a Query on the user index.

    Only connection rows carry ``userId``, so each connection is listed once, whatever
    rooms it is in.
    """
    return _index_keys(client, table, index, Table.USER_ID, user_id)
