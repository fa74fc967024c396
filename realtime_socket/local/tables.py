"""Create DynamoDB tables exactly as a program declares them.

Translates a recorded ``aws:dynamodb/table:Table`` (keys, attributes, global secondary
indexes, TTL) into DynamoDB API calls, so that code runs against the declared schema,
not a hand-written copy of it.
"""

from __future__ import annotations

from typing import Any

from realtime_socket.tools.recording import RecordedResource

__all__ = ["create_table", "create_table_request"]


def _key_schema(hash_key: str | None, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}] if hash_key else []
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def create_table_request(table: RecordedResource) -> dict[str, Any]:
    """The ``CreateTable`` arguments for a recorded table."""
    request: dict[str, Any] = {
        "TableName": table.outputs["name"],
        "BillingMode": table.get("billingMode", "PAY_PER_REQUEST"),
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]}
            for a in table.get("attributes", [])
        ],
        "KeySchema": _key_schema(table.get("hashKey"), table.get("rangeKey")),
    }
    indexes = []
    for index in table.get("globalSecondaryIndexes") or []:
        schema = [
            {"AttributeName": k["attributeName"], "KeyType": k["keyType"]}
            for k in index.get("keySchemas") or []
        ] or _key_schema(index.get("hashKey"), index.get("rangeKey"))
        projection: dict[str, Any] = {"ProjectionType": index["projectionType"]}
        if index.get("nonKeyAttributes"):
            projection["NonKeyAttributes"] = list(index["nonKeyAttributes"])
        indexes.append({"IndexName": index["name"], "KeySchema": schema, "Projection": projection})
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    return request


def create_table(client: Any, table: RecordedResource) -> str:
    """Create ``table`` (and its TTL setting) with a boto3 DynamoDB client; return its name."""
    request = create_table_request(table)
    client.create_table(**request)
    ttl = table.get("ttl") or {}
    if ttl.get("enabled"):
        client.update_time_to_live(
            TableName=request["TableName"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]},
        )
    return str(request["TableName"])
