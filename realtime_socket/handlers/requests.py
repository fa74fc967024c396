"""Pending server requests: what a backend asked which connections, and their answer.

A backend's ``request`` (:meth:`realtime_socket.publish.Publisher.request`) writes one item
keyed ``request#<id>`` naming the connections it sends the request to, then waits on it
with consistent reads. The ``reply`` route's one conditional UpdateItem stores the first
answer from one of those connections; any other connection, a second answer, an unknown
or expired id all fail the same condition. The backend deletes the item when it has the
answer or gives up, and DynamoDB's TTL removes what a crashed backend leaves behind.

Why in the table and not a queue: the reply handler and the waiting backend already share
the table, and the item's condition is what makes "only a connection the request was sent
to may answer, once" one atomic check.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realtime_socket.contract import REQUEST_ID_PATTERN, Table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["answer", "close", "is_request_id", "open_request", "read_reply", "request_key"]


def is_request_id(value: object) -> bool:
    """Whether ``value`` has the shape of a request id (32 lowercase hex digits)."""
    return isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) is not None


def request_key(request_id: str) -> dict[str, Any]:
    """The item key of a pending request."""
    return {Table.CONNECTION_ID: {"S": f"{Table.REQUEST_PREFIX}{request_id}"}}


def open_request(
    client: DynamoDBClient, table: str, request_id: str, targets: Iterable[str], ttl: int
) -> None:
    """Record that ``request_id`` goes to ``targets`` until ``ttl`` (epoch seconds).

    Written before the request is posted, so an answer that arrives at once finds it.
    """
    client.put_item(
        TableName=table,
        Item={
            **request_key(request_id),
            Table.TARGETS: {"SS": sorted(set(targets))},
            Table.TTL: {"N": str(ttl)},
        },
    )


def answer(
    client: DynamoDBClient, table: str, request_id: str, connection_id: str, data_json: str
) -> bool:
    """Store ``connection_id``'s answer to ``request_id``; False when it may not answer.

    One conditional UpdateItem: the request exists, has not expired, was sent to this
    connection and has no answer yet. It never creates an item.
    """
    try:
        client.update_item(
            TableName=table,
            Key=request_key(request_id),
            UpdateExpression="SET #reply = :data, #by = :cid",
            ConditionExpression=(
                "attribute_exists(#key) AND #ttl > :now AND contains(#targets, :cid) "
                "AND attribute_not_exists(#reply)"
            ),
            ExpressionAttributeNames={
                "#key": Table.CONNECTION_ID,
                "#ttl": Table.TTL,
                "#targets": Table.TARGETS,
                "#reply": Table.REPLY,
                "#by": Table.REPLIED_BY,
            },
            ExpressionAttributeValues={
                ":data": {"S": data_json},
                ":cid": {"S": connection_id},
                ":now": {"N": str(int(time.time()))},
            },
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def read_reply(client: DynamoDBClient, table: str, request_id: str) -> str | None:
    """The stored answer's JSON text, or None while there is none (consistent read)."""
    item = client.get_item(
        TableName=table,
        Key=request_key(request_id),
        ConsistentRead=True,
        ProjectionExpression="#reply",
        ExpressionAttributeNames={"#reply": Table.REPLY},
    ).get("Item")
    if not item or Table.REPLY not in item:
        return None
    return item[Table.REPLY]["S"]


def close(client: DynamoDBClient, table: str, request_id: str) -> None:
    """Delete a pending request: later answers to it are ``unknown_request``."""
    client.delete_item(TableName=table, Key=request_key(request_id))
