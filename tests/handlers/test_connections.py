"""The connections table's batch delete: botocore's backoff for unprocessed rows, a clear
error when they stay unprocessed."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from realtime_socket.handlers import connections


class PartialBatches:
    """A DynamoDB client whose BatchWriteItem processes only ``per_call`` requests a call.

    DynamoDB does the same under throttling: it answers 200 with the rest in
    ``UnprocessedItems``, so botocore's own retries never see it.
    """

    def __init__(self, db: Any, per_call: int) -> None:
        self.db = db
        self.meta = db.meta
        self.per_call = per_call
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        [(table, requests)] = RequestItems.items()
        self.calls.append(len(requests))
        done, rest = requests[: self.per_call], requests[self.per_call :]
        if done:
            self.db.batch_write_item(RequestItems={table: done})
        return {"UnprocessedItems": {table: rest} if rest else {}}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts; botocore's backoff answers ``attempt`` milliseconds."""
    slept: list[float] = []
    monkeypatch.setattr(
        "botocore.retries.standard.ExponentialBackoff.delay_amount",
        lambda self, ctx: ctx.attempt_number / 1000,
    )
    monkeypatch.setattr(connections.time, "sleep", slept.append)
    return slept


def _rows(db: Any, table: str, ids: list[str]) -> None:
    now = int(time.time())
    for cid in ids:
        connections.put(db, table, connections.Connection(cid, "lobby", "alice", now * 1000), 60)


def test_delete_many_removes_more_than_one_batch(table):
    """60 ids take three BatchWriteItem calls of at most 25; other rows stay."""
    db, cfg = table
    ids = [f"g{i}" for i in range(60)]
    _rows(db, cfg.table_name, [*ids, "keep"])
    connections.delete_many(db, cfg.table_name, ids)
    assert all(connections.get(db, cfg.table_name, cid) is None for cid in ids)
    assert connections.get(db, cfg.table_name, "keep") is not None


def test_unprocessed_rows_are_resent_after_botocores_backoff(table, sleeps):
    """What DynamoDB leaves unprocessed is resent, waiting as botocore's backoff says."""
    db, cfg = table
    ids = [f"g{i}" for i in range(30)]
    _rows(db, cfg.table_name, ids)
    client = PartialBatches(db, per_call=10)
    connections.delete_many(client, cfg.table_name, ids)
    assert client.calls == [25, 15, 5, 5]  # the first batch needed all three attempts
    assert sleeps == [0.001, 0.002]
    assert all(connections.get(db, cfg.table_name, cid) is None for cid in ids)


def test_rows_that_stay_unprocessed_are_a_clear_error(table, sleeps):
    """After the client's attempts (botocore's default 3), the error names what is left."""
    db, cfg = table
    ids = ["a", "b", "c"]
    _rows(db, cfg.table_name, ids)
    client = PartialBatches(db, per_call=0)
    with pytest.raises(connections.UnprocessedDeletes, match=r"^3 rows of .* after 3 ") as err:
        connections.delete_many(client, cfg.table_name, ids)
    assert (err.value.connection_ids, err.value.attempts) == (ids, 3)
    assert client.calls == [3, 3, 3]
    assert len(sleeps) == 2


def test_the_attempts_are_the_clients_configured_retries(table, sleeps):
    """A client configured for 6 attempts (as ``clients.dynamodb`` is) tries 6 times."""
    _, cfg = table
    configured = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 6}),
    )
    client = PartialBatches(configured, per_call=0)
    with pytest.raises(connections.UnprocessedDeletes):
        connections.delete_many(client, cfg.table_name, ["a"])
    assert client.calls == [1] * 6
    assert sleeps == [0.001, 0.002, 0.003, 0.004, 0.005]
