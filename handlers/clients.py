"""boto3 clients, created lazily once per container and replaceable in tests.

Creating a client costs tens of milliseconds, so each container makes one of each on first
use; ``set_clients`` lets tests and the local runtime inject their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from handlers import settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

__all__ = ["dynamodb", "management_api", "reset", "set_clients", "ssm"]

_cache: dict[str, Any] = {}


def dynamodb() -> DynamoDBClient:
    if "dynamodb" not in _cache:
        _cache["dynamodb"] = boto3.client(
            "dynamodb", config=Config(retries={"mode": "standard", "total_max_attempts": 6})
        )
    client: DynamoDBClient = _cache["dynamodb"]
    return client


def management_api(endpoint: str) -> ApiGatewayManagementApiClient:
    """The @connections client for ``endpoint``, its connection pool sized to the fan-out.

    Standard retry mode retries 429 LimitExceededException and 5xx with backoff.
    """
    key = f"management:{endpoint}"
    if key not in _cache:
        pool = max(10, settings.load().fanout_concurrency)
        _cache[key] = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            config=Config(
                max_pool_connections=pool,
                retries={"mode": "standard", "total_max_attempts": 4},
                connect_timeout=2,
                read_timeout=5,
            ),
        )
    client: ApiGatewayManagementApiClient = _cache[key]
    return client


def ssm() -> SSMClient:
    if "ssm" not in _cache:
        _cache["ssm"] = boto3.client("ssm")
    client: SSMClient = _cache["ssm"]
    return client


def set_clients(**clients: Any) -> None:
    """Inject clients by name (``dynamodb``, ``ssm``, ``management:<endpoint>``)."""
    _cache.update(clients)


def reset() -> None:
    _cache.clear()
