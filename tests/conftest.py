"""Fixtures: fake AWS credentials (nothing ever leaves loopback), moto, a recorded socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from realtime_socket.handlers import clients, settings
from realtime_socket.local.tables import create_table
from realtime_socket.tools.recording import Recording
from tests.support.helpers import evaluate_socket


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clients.reset()
    yield
    clients.reset()


@pytest.fixture(scope="session")
def chat_recording() -> Recording:
    """The default ``chat`` socket, evaluated once per session."""
    return evaluate_socket("chat")


@pytest.fixture
def table(chat_recording: Recording) -> Iterator[tuple[Any, settings.Settings]]:
    """A moto DynamoDB table created from the component's declared schema."""
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        recorded = chat_recording.of_type("aws:dynamodb/table:Table")[0]
        name = create_table(db, recorded)
        cfg = settings.Settings(
            table_name=name,
            room_index="room-index",
            management_endpoint="https://abc123.execute-api.us-east-1.amazonaws.com/live",
            ttl_seconds=settings.DEFAULT_TTL_SECONDS,
            fanout_concurrency=8,
        )
        yield db, cfg


@pytest.fixture
def endpoint() -> Iterator[Any]:
    """A scripted loopback @connections endpoint (see helpers.ScriptedConnections)."""
    from tests.support.helpers import ScriptedConnections

    scripted = ScriptedConnections()
    yield scripted
    scripted.close()


@pytest.fixture
def capped_table() -> Iterator[tuple[Any, settings.Settings]]:
    """A moto table declared with ``max_connections_per_user`` (so with its user index)."""
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        recording = evaluate_socket("chat", limits={"max_connections_per_user": 2})
        name = create_table(db, recording.of_type("aws:dynamodb/table:Table")[0])
        yield (
            db,
            settings.Settings(
                table_name=name,
                room_index="room-index",
                management_endpoint=None,
                ttl_seconds=settings.DEFAULT_TTL_SECONDS,
                fanout_concurrency=8,
                max_connections_per_user=2,
            ),
        )
