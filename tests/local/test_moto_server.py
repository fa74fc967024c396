"""The local AWS APIs: a moto server process on loopback that starts, serves and stops.

That it dies with its parent, even one killed with SIGKILL, is proved in test_processes.py;
that its speedups keep moto's answers, in test_moto_speedups.py.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

from realtime_socket.local.moto_front import service_of
from realtime_socket.local.moto_server import READY_PATH, AwsApis


def _client(service: str, apis: AwsApis) -> Any:
    return boto3.client(
        service,
        endpoint_url=apis.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_the_server_serves_dynamodb_until_stopped():
    """``start`` returns once the endpoint answers; ``stop`` ends the process, and twice is fine."""
    apis = AwsApis()
    apis.start()
    try:
        process = apis._process
        assert process is not None and process.poll() is None
        assert apis.endpoint.startswith("http://127.0.0.1:")
        assert _client("dynamodb", apis).list_tables()["TableNames"] == []
    finally:
        apis.stop()
    assert process.poll() is not None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{apis.endpoint}{READY_PATH}", timeout=2)  # noqa: S310
    apis.stop()


@pytest.mark.parametrize("as_shipped", [False, True], ids=["front", "moto-server"])
def test_both_servers_answer_as_moto_does(as_shipped):
    """The front and moto's own server (the benchmark's baseline) give the same answers:
    moto's, errors included, over SigV4-signed requests for DynamoDB and SSM."""
    apis = AwsApis(as_shipped=as_shipped)
    apis.start()
    try:
        dynamodb, ssm = _client("dynamodb", apis), _client("ssm", apis)
        dynamodb.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.put_item(TableName="t", Item={"k": {"S": "a"}, "n": {"N": "1"}})
        assert dynamodb.get_item(TableName="t", Key={"k": {"S": "a"}})["Item"]["n"] == {"N": "1"}
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            dynamodb.put_item(
                TableName="t", Item={"k": {"S": "a"}}, ConditionExpression="attribute_not_exists(k)"
            )
        with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.get_item(TableName="missing", Key={"k": {"S": "a"}})
        ssm.put_parameter(Name="/p", Value="v", Type="SecureString")
        assert ssm.get_parameter(Name="/p", WithDecryption=True)["Parameter"]["Value"] == "v"
    finally:
        apis.stop()


def test_a_request_naming_no_aws_api_is_refused_with_a_reason():
    """Neither a SigV4 scope nor an X-Amz-Target: 400, saying what is missing."""
    apis = AwsApis()
    apis.start()
    try:
        request = urllib.request.Request(f"{apis.endpoint}/", data=b"{}", method="POST")  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310
        assert refused.value.code == 400
        assert "X-Amz-Target" in json.loads(refused.value.read())["message"]
    finally:
        apis.stop()


def test_the_service_comes_from_the_credential_scope_or_the_target():
    scope = "AWS4-HMAC-SHA256 Credential=local/20261129/eu-west-1/dynamodb/aws4_request, Sig=x"
    assert service_of({"Authorization": scope}) == ("dynamodb", "eu-west-1")
    assert service_of({"X-Amz-Target": "AmazonSSM.GetParameter"}) == ("ssm", "us-east-1")
    assert service_of({"X-Amz-Target": "DynamoDB_20120810.Query"}) == ("dynamodb", "us-east-1")
    assert service_of({}) is None


def test_ctrl_c_in_the_terminal_leaves_the_emulation_to_its_runtime():
    """Ctrl-C reaches the whole process group; the runtime still needs DynamoDB for the
    $disconnect of every connection it closes, so the emulation ignores SIGINT and ends on
    the runtime's SIGTERM."""
    apis = AwsApis()
    apis.start()
    try:
        assert apis._process is not None
        apis._process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert apis._process.poll() is None
        assert _client("dynamodb", apis).list_tables()["TableNames"] == []
    finally:
        process = apis._process
        apis.stop()
    assert process is not None and process.returncode is not None
