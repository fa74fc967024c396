"""The program's tables and parameters, created in the AWS emulation as declared."""

from __future__ import annotations

import copy

import boto3
import pytest
from moto import mock_aws

from realtime_socket.contract import Env, History, Table
from realtime_socket.local.model import LocalModel, build
from realtime_socket.local.tables import create_table_request, seed
from realtime_socket.tools.stack_files import DEV_JWT_SECRET
from tests.support.helpers import SECRET


@pytest.fixture
def model(chat_recording) -> LocalModel:
    return copy.deepcopy(build(chat_recording))


def test_create_table_request_follows_the_declaration(model):
    """Key, attributes and the room index come from the recorded table."""
    (connections,) = [t for t in model.tables if t.name == "chat-connections-table"]
    request = create_table_request(connections)
    assert request["KeySchema"] == [{"AttributeName": Table.CONNECTION_ID, "KeyType": "HASH"}]
    indexes = {i["IndexName"]: i for i in request["GlobalSecondaryIndexes"]}
    assert indexes[Table.ROOM_INDEX]["Projection"]["ProjectionType"] in ("KEYS_ONLY", "INCLUDE")


def _clients():
    return (
        boto3.client("dynamodb", region_name="us-east-1"),
        boto3.client("ssm", region_name="us-east-1"),
    )


def test_seed_creates_tables_with_ttl_and_declared_parameters(model):
    """Tables (with their TTL) and the program's parameters, values unwrapped; no stand-ins.
    The history table keeps its numeric range key."""
    with mock_aws():
        dynamodb, ssm = _clients()
        assert seed(dynamodb, ssm, model) == []
        tables = sorted(t.outputs["name"] for t in model.tables)
        assert sorted(dynamodb.list_tables()["TableNames"]) == tables and len(tables) == 2
        for table in tables:
            ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            assert ttl["AttributeName"] == Table.TTL
        (history,) = [t for t in tables if "history" in t]
        described = dynamodb.describe_table(TableName=history)["Table"]
        assert described["KeySchema"] == [
            {"AttributeName": History.ROOM_ID, "KeyType": "HASH"},
            {"AttributeName": History.SEQ, "KeyType": "RANGE"},
        ]
        assert {"AttributeName": History.SEQ, "AttributeType": "N"} in described[
            "AttributeDefinitions"
        ]
        name = model.parameters[0].outputs["name"]
        value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        assert value == SECRET


def test_an_authorizers_parameter_not_in_the_program_holds_the_dev_secret(model):
    """An existing parameter on AWS is unreadable here: the stand-in, named in the result."""
    for fn in model.functions.values():
        if Env.JWT_SECRET_PARAMETER in fn.environment:
            fn.environment[Env.JWT_SECRET_PARAMETER] = "/existing/on/aws"
    with mock_aws():
        dynamodb, ssm = _clients()
        assert seed(dynamodb, ssm, model) == ["/existing/on/aws"]
        parameter = ssm.get_parameter(Name="/existing/on/aws", WithDecryption=True)["Parameter"]
        assert (parameter["Value"], parameter["Type"]) == (DEV_JWT_SECRET, "SecureString")
