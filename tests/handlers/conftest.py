"""Fixtures of the handler tests: moto tables, a loopback @connections, Lambda's log lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from realtime_socket.contract import Env, Table
from realtime_socket.handlers import clients, connections, messages, settings
from realtime_socket.local.tables import create_table
from realtime_socket.local.worker import LambdaLogHandler
from realtime_socket.tools.recording import Recording
from tests.support.helpers import FakeContext, ScriptedConnections, evaluate_socket

MANAGEMENT_ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/live"


@pytest.fixture(autouse=True)
def connected_long_ago(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handler tests connect and find a connection gone within one second. A 410 from a
    connection younger than ``CONNECTING_GRACE_SECONDS`` is left alone (it may still be in
    its ``$connect``); here every connection counts as old enough, except in the tests of
    that grace (test_connections.py), which set it back."""
    monkeypatch.setattr(connections, "CONNECTING_GRACE_SECONDS", 0)


@pytest.fixture
def table(chat_recording: Recording) -> Iterator[tuple[Any, settings.Settings]]:
    """The moto connections and history tables, created from the component's declared
    schemas."""
    messages.forget_known_seqs()  # each test's tables are new, under the same names
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        name = create_table(db, chat_recording.named("chat-connections-table"))
        history = create_table(db, chat_recording.named("chat-history-table"))
        yield (
            db,
            settings.Settings(
                table_name=name,
                management_endpoint=MANAGEMENT_ENDPOINT,
                fanout_concurrency=8,
                history_table=history,
            ),
        )


@pytest.fixture
def failing_membership_writes(
    table: tuple[Any, settings.Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Membership PutItems fail as if throttled; connection rows are written as usual."""
    db, _ = table
    real_put = db.put_item

    def put_item(**kwargs: Any) -> Any:
        if Table.MEMBERSHIP_SEPARATOR in kwargs["Item"][Table.CONNECTION_ID]["S"]:
            raise RuntimeError("throttled")
        return real_put(**kwargs)

    monkeypatch.setattr(db, "put_item", put_item)


@pytest.fixture
def capped_table() -> Iterator[tuple[Any, settings.Settings]]:
    """A moto table declared with ``max_connections_per_user``."""
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        recording = evaluate_socket("chat", limits={"max_connections_per_user": 2})
        name = create_table(db, recording.named("chat-connections-table"))
        history = create_table(db, recording.named("chat-history-table"))
        yield (
            db,
            settings.Settings(
                table_name=name,
                fanout_concurrency=8,
                max_connections_per_user=2,
                history_table=history,
            ),
        )


@pytest.fixture
def endpoint() -> Iterator[ScriptedConnections]:
    """A scripted loopback @connections endpoint (see helpers.ScriptedConnections)."""
    scripted = ScriptedConnections()
    yield scripted
    scripted.close()


class LambdaLog:
    """What CloudWatch would hold: every log line, formatted as Lambda's JSON log format."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = LambdaLogHandler(self.stream, "JSON")
        self.handler.request_id = FakeContext.aws_request_id

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]

    def events(self) -> list[dict[str, Any]]:
        """The per-event summary lines (those with a ``route``)."""
        return [r for r in self.records() if "route" in r]


@pytest.fixture
def lambda_log() -> Iterator[LambdaLog]:
    """Lambda's runtime handler on the root logger, at DEBUG so that nothing escapes it."""
    log = LambdaLog()
    root = logging.getLogger()
    level = root.level
    root.addHandler(log.handler)
    root.setLevel(logging.DEBUG)
    yield log
    root.removeHandler(log.handler)
    root.setLevel(level)


class ClosingConnections(ScriptedConnections):
    """The scripted @connections endpoint, recording DELETEs (answered 204)."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[str] = []

    def delete_connection(self, namespace: str, stage: str, cid: str) -> int:
        self.deleted.append(cid)
        return 204


@pytest.fixture
def deployed(
    table: tuple[Any, settings.Settings], monkeypatch: pytest.MonkeyPatch
) -> Iterator[ClosingConnections]:
    """The routes' Lambda entry points (``handler``) wired to the moto tables and a recording
    @connections endpoint, through the environment and ``clients``, as on Lambda."""
    db, cfg = table
    scripted = ClosingConnections()
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=scripted.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    clients.set_clients(
        dynamodb=db,
        **{
            f"connections:{scripted.endpoint}": scripted.api(),
            f"management:{scripted.endpoint}": management,
        },
    )
    for name, value in (
        (Env.TABLE_NAME, cfg.table_name),
        (Env.HISTORY_TABLE_NAME, cfg.history_table),
        (Env.MANAGEMENT_ENDPOINT, scripted.endpoint),
    ):
        monkeypatch.setenv(name, value)
    yield scripted
    clients.reset()
    scripted.close()
