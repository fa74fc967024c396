"""Create DynamoDB tables (and the SSM parameters beside them) exactly as declared.

Translates a recorded ``aws:dynamodb/table:Table`` (keys, attributes, global secondary
indexes, TTL) into DynamoDB API calls, so that code runs against the declared schema,
not a hand-written copy of it. :func:`seed` does that for a whole program, in the local
runtime's AWS emulation.
"""

from __future__ import annotations

from typing import Any

from realtime_socket.contract import Env
from realtime_socket.local.model import LocalModel, declared_parameters, unsecret
from realtime_socket.tools.recorded import RecordedResource
from realtime_socket.tools.stack_files import local_jwt_secret

__all__ = ["create_table", "create_table_request", "seed"]


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


def seed(dynamodb: Any, ssm: Any, model: LocalModel) -> list[str]:
    """Create the program's tables and SSM parameters with boto3 clients.

    An authorizer pointing at a parameter the program does not create (an existing one on
    AWS) gets one holding the development secret; their names are returned.
    """
    for table in model.tables:
        create_table(dynamodb, table)
    for parameter in model.parameters:
        secure = parameter.inputs.get("type") == "SecureString"
        ssm.put_parameter(
            Name=str(parameter.outputs.get("name")),
            Value=str(unsecret(parameter.inputs.get("value"))),
            Type="SecureString" if secure else "String",
            Overwrite=True,
        )
    declared = declared_parameters(model)
    stand_ins: list[str] = []
    for fn in model.functions.values():
        wanted = fn.environment.get(Env.JWT_SECRET_PARAMETER)
        if not wanted or wanted in declared or wanted in stand_ins:
            continue
        secret = local_jwt_secret(declared.get(wanted))  # not declared: the stand-in
        ssm.put_parameter(Name=wanted, Value=secret, Type="SecureString", Overwrite=True)
        stand_ins.append(wanted)
    return stand_ins
