"""The connections table: who is connected to which room.

Item: ``connectionId`` (hash key), ``roomId``, ``userId``, ``connectedAt`` (epoch ms) and
``ttl`` (epoch s). The room index (hash ``roomId``) projects only ``ttl`` beside the keys, so
a broadcast Queries exactly the room's members and reads a few bytes per member.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "Connection",
    "RateLimited",
    "claim_send",
    "delete",
    "delete_many",
    "get",
    "put",
    "room_members",
    "user_connection_count",
]


class RateLimited(Exception):
    """The connection has used up its messages for the current window."""


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
            "connectionId": {"S": conn.connection_id},
            "roomId": {"S": conn.room_id},
            "userId": {"S": conn.user_id},
            "connectedAt": {"N": str(conn.connected_at)},
            "ttl": {"N": str(conn.connected_at // 1000 + ttl_seconds)},
        },
    )


def _from_item(item: dict[str, Any] | None) -> Connection | None:
    if not item or int(item["ttl"]["N"]) <= int(time.time()):
        return None
    return Connection(
        connection_id=item["connectionId"]["S"],
        room_id=item["roomId"]["S"],
        user_id=item["userId"]["S"],
        connected_at=int(item["connectedAt"]["N"]),
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
    key = {"connectionId": {"S": connection_id}}
    values: dict[str, Any] = {":w": {"N": str(window)}, ":one": {"N": "1"}}
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        (
            "SET rlCount = rlCount + :one",
            "rlWin = :w AND rlCount < :burst",
            {**values, ":burst": {"N": str(burst)}},
        ),
        ("SET rlWin = :w, rlCount = :one", "attribute_not_exists(rlWin) OR rlWin < :w", values),
    ]
    for update, condition, attempt_values in attempts:
        try:
            answer = client.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(connectionId) AND ({condition})",
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
        "KeyConditionExpression": "userId = :u",
        "FilterExpression": "#ttl > :now",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
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
        Key={"connectionId": {"S": connection_id}},
        ConsistentRead=True,
    ).get("Item")
    return _from_item(item)


def delete(client: DynamoDBClient, table: str, connection_id: str) -> None:
    """Delete a row; deleting a row that is not there is not an error (idempotent)."""
    client.delete_item(TableName=table, Key={"connectionId": {"S": connection_id}})


def delete_many(client: DynamoDBClient, table: str, connection_ids: list[str]) -> None:
    """Delete rows 25 at a time (BatchWriteItem's limit), retrying unprocessed ones."""
    for start in range(0, len(connection_ids), 25):
        requests: list[Any] = [
            {"DeleteRequest": {"Key": {"connectionId": {"S": cid}}}}
            for cid in connection_ids[start : start + 25]
        ]
        for attempt in range(8):
            answer = client.batch_write_item(RequestItems={table: requests})
            requests = answer.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))
        if requests:
            raise RuntimeError(f"{len(requests)} connection rows could not be deleted")


def room_members(client: DynamoDBClient, table: str, index: str, room_id: str) -> Iterator[str]:
    """Yield the connection ids in ``room_id`` with a Query on the room index, page by page.

    Never a Scan: the cost is proportional to the room, not to the table.
    """
    now = str(int(time.time()))
    kwargs: dict[str, object] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": "roomId = :room",
        "FilterExpression": "#ttl > :now",
        "ProjectionExpression": "connectionId",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "ExpressionAttributeValues": {":room": {"S": room_id}, ":now": {"N": now}},
    }
    while True:
        page = client.query(**kwargs)  # type: ignore[arg-type]
        for item in page.get("Items", []):
            yield item["connectionId"]["S"]
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last
