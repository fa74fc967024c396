"""boto3 clients, created lazily once per container and replaceable in tests.

Creating a client costs tens of milliseconds, so each container makes one of each on first
use; ``set_clients`` lets tests and the local runtime inject their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from realtime_socket.handlers import settings
from realtime_socket.handlers.fanout import ConnectionsApi

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

__all__ = ["connections_api", "dynamodb", "reset", "set_clients", "ssm"]

_cache: dict[str, Any] = {}


def dynamodb() -> DynamoDBClient:
    if "dynamodb" not in _cache:
        _cache["dynamodb"] = boto3.client(
            "dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 6})
        )
    client: DynamoDBClient = _cache["dynamodb"]
    return client


def connections_api(endpoint: str) -> ConnectionsApi:
    """The @connections poster for ``endpoint``, signing with the function's credentials."""
    key = f"connections:{endpoint}"
    if key not in _cache:
        session = boto3.session.Session()
        credentials = session.get_credentials()
        if credentials is None:
            raise RuntimeError("no AWS credentials to sign @connections requests with")
        _cache[key] = ConnectionsApi(
            endpoint,
            region=session.region_name or "us-east-1",
            credentials=credentials.get_frozen_credentials,
            concurrency=settings.load().fanout_concurrency,
        )
    api: ConnectionsApi = _cache[key]
    return api


def ssm() -> SSMClient:
    if "ssm" not in _cache:
        _cache["ssm"] = boto3.client("ssm")
    client: SSMClient = _cache["ssm"]
    return client


def set_clients(**clients: Any) -> None:
    """Inject clients by name (``dynamodb``, ``ssm``, ``connections:<endpoint>``)."""
    _cache.update(clients)


def reset() -> None:
    _cache.clear()
