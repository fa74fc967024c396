"""The connections table: who is connected to which room.

Item: ``connectionId`` (hash key), ``roomId``, ``userId``, ``connectedAt`` (epoch ms) and
``ttl`` (epoch s), named by :class:`realtime_socket.contract.Table`. The room index (hash
``roomId``) projects only ``ttl`` beside the keys, so a broadcast Queries exactly the room's
members and reads a few bytes per member.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS, ExponentialBackoff, RetryContext

from realtime_socket.contract import Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "Connection",
    "RateLimited",
    "UnprocessedDeletes",
    "claim_send",
    "delete",
    "delete_many",
    "get",
    "put",
    "room_members",
    "user_connection_count",
]


#: BatchWriteItem takes at most 25 requests.
_BATCH_SIZE = 25
#: Unprocessed rows are retried within the event: cap each wait at 1 s (botocore's 20 s
#: cap would outlive API Gateway's 29 s integration timeout).
_BACKOFF = ExponentialBackoff(max_backoff=1)
#: The rate limiter's window number and count live in the connection's own row.
_RATE_WINDOW, _RATE_COUNT = "rlWin", "rlCount"


class RateLimited(Exception):
    """The connection has used up its messages for the current window."""


class UnprocessedDeletes(RuntimeError):
    """BatchWriteItem still left rows unprocessed after the client's retry budget."""

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
    room_id: str
    user_id: str
    connected_at: int


def put(
    client: DynamoDBClient,
    table: str,
    conn: Connection,
    ttl_seconds: int,
) -> None:
    client.put_item(
        TableName=table,
        Item={
            Table.CONNECTION_ID: {"S": conn.connection_id},
            Table.ROOM_ID: {"S": conn.room_id},
            Table.USER_ID: {"S": conn.user_id},
            Table.CONNECTED_AT: {"N": str(conn.connected_at)},
            Table.TTL: {"N": str(conn.connected_at // 1000 + ttl_seconds)},
        },
    )


def _from_item(item: dict[str, Any] | None) -> Connection | None:
    if not item or int(item[Table.TTL]["N"]) <= int(time.time()):
        return None
    return Connection(
        connection_id=item[Table.CONNECTION_ID]["S"],
        room_id=item[Table.ROOM_ID]["S"],
        user_id=item[Table.USER_ID]["S"],
        connected_at=int(item[Table.CONNECTED_AT]["N"]),
    )


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


def delete(client: DynamoDBClient, table: str, connection_id: str) -> None:
    """Delete a row; deleting a row that is not there is not an error (idempotent)."""
    client.delete_item(TableName=table, Key={Table.CONNECTION_ID: {"S": connection_id}})


def delete_many(client: DynamoDBClient, table: str, connection_ids: list[str]) -> None:
    """Delete rows 25 at a time, retrying the ones DynamoDB leaves unprocessed.

    DynamoDB answers a throttled batch with ``UnprocessedItems`` rather than an error, so
    botocore's own retries never see it: the rest is resent with botocore's exponential
    backoff, within the attempts the client is configured for.

    Raises:
        UnprocessedDeletes: rows were still unprocessed after the last attempt.
    """
    retries: dict[str, Any] = getattr(client.meta.config, "retries", None) or {}
    max_attempts = int(retries.get("total_max_attempts") or DEFAULT_MAX_ATTEMPTS)
    for start in range(0, len(connection_ids), _BATCH_SIZE):
        requests: list[Any] = [
            {"DeleteRequest": {"Key": {Table.CONNECTION_ID: {"S": cid}}}}
            for cid in connection_ids[start : start + _BATCH_SIZE]
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


def room_members(client: DynamoDBClient, table: str, index: str, room_id: str) -> Iterator[str]:
    """Yield the connection ids in ``room_id`` with a Query on the room index, page by page.

    Never a Scan: the cost is proportional to the room, not to the table.
    """
    now = str(int(time.time()))
    kwargs: dict[str, object] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": f"{Table.ROOM_ID} = :room",
        "FilterExpression": "#ttl > :now",
        "ProjectionExpression": Table.CONNECTION_ID,
        "ExpressionAttributeNames": {"#ttl": Table.TTL},
        "ExpressionAttributeValues": {":room": {"S": room_id}, ":now": {"N": now}},
    }
    while True:
        page = client.query(**kwargs)  # type: ignore[arg-type]
        for item in page.get("Items", []):
            yield item[Table.CONNECTION_ID]["S"]
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last
