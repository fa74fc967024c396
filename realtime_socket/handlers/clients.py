"""boto3 clients, created lazily once per container and replaceable in tests.

Creating a client costs tens of milliseconds, so each container makes one of each on first
use; ``set_clients`` lets tests and the local runtime inject their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from realtime_socket.handlers import events, settings
from realtime_socket.handlers.fanout import ConnectionsApi

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

__all__ = [
    "connections_api",
    "connections_api_for",
    "dynamodb",
    "lambda_",
    "management",
    "management_endpoint",
    "reset",
    "set_clients",
    "ssm",
]

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


def management_endpoint(event: events.Event, cfg: settings.Settings) -> str:
    """The @connections endpoint: configured by the component, else the event's own host."""
    if cfg.management_endpoint:
        return cfg.management_endpoint
    ctx = event.get("requestContext") or {}
    return f"https://{ctx.get('domainName')}/{ctx.get('stage')}"


def connections_api_for(event: events.Event, cfg: settings.Settings) -> ConnectionsApi:
    """The @connections poster of the API the event came through."""
    return connections_api(management_endpoint(event, cfg))


def presence_api(event: events.Event, cfg: settings.Settings) -> ConnectionsApi | None:
    """The poster for presence events, or None when the namespace has them off."""
    return connections_api_for(event, cfg) if cfg.presence_max_room else None


def management(endpoint: str) -> Any:
    """boto3's @connections client for ``endpoint``, for the rare calls other than POST
    (``DELETE`` of an expired connection); posts go through :func:`connections_api`."""
    key = f"management:{endpoint}"
    if key not in _cache:
        _cache[key] = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint)
    return _cache[key]


def lambda_() -> Any:
    """Lambda's client, for handing broadcast shares to the fan-out worker.

    Short timeouts and two attempts: an asynchronous Invoke answers in milliseconds, and
    botocore's defaults (60 s, 3 attempts) could hold the sender past its own timeout.
    """
    if "lambda" not in _cache:
        _cache["lambda"] = boto3.client(
            "lambda",
            config=Config(
                connect_timeout=1,
                read_timeout=3,
                retries={"mode": "standard", "total_max_attempts": 2},
            ),
        )
    return _cache["lambda"]


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
