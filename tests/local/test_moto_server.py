"""The local AWS APIs: a moto server process on loopback that starts, serves and stops.

That it dies with its parent, even one killed with SIGKILL, is proved in test_processes.py.
"""

from __future__ import annotations

import urllib.error
import urllib.request

import boto3
import pytest

from realtime_socket.local.moto_server import AwsApis


def test_the_server_serves_dynamodb_until_stopped():
    """``start`` returns once the endpoint answers; ``stop`` ends the process, and twice is fine."""
    apis = AwsApis()
    apis.start()
    try:
        process = apis._process
        assert process is not None and process.poll() is None
        assert apis.endpoint.startswith("http://127.0.0.1:")
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=apis.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert dynamodb.list_tables()["TableNames"] == []
    finally:
        apis.stop()
    assert process.poll() is not None
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{apis.endpoint}/moto-api/", timeout=2)  # noqa: S310
    apis.stop()
