"""moto with the emulation's speedups answers exactly as moto without them.

The same tables (the program's own declaration) and the same data, written by the handlers'
own functions; then every kind of read the handlers make, page by page and in both
directions, with and without :mod:`realtime_socket.local.moto_speedups`, must return the
same items in the same order. A transaction that fails must leave every item as it was,
as unpatched moto's does, and report the same cancellation reasons.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from realtime_socket.contract import History, Table
from realtime_socket.handlers import connections, messages
from realtime_socket.handlers.connections import Connection
from realtime_socket.local import moto_speedups
from realtime_socket.local.model import build
from realtime_socket.local.tables import seed

ROOMS = [f"room-{i}" for i in range(6)]
USERS = [f"user-{i}" for i in range(5)]


@pytest.fixture(scope="module")
def tables(chat_recording) -> Iterator[tuple[Any, str, str]]:
    """The chat namespace's tables, filled with 60 connections in random rooms and 40
    messages in each of three rooms (with history on)."""
    model = build(chat_recording)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        seed(client, boto3.client("ssm", region_name="us-east-1"), model)
        names = [t.outputs["name"] for t in model.tables]
        (history,) = [n for n in names if "history" in n]
        (table,) = [n for n in names if n != history]
        rng = random.Random(7)  # noqa: S311 - test data, not secrets
        for i in range(60):
            cid = f"c{rng.randrange(10**6):06d}-{i}="
            rooms = frozenset(rng.sample(ROOMS, rng.randint(0, 3)))
            conn = Connection(cid, rng.choice(USERS), int(time.time() * 1000), rooms)
            connections.put(client, table, conn, ttl_seconds=7200)
        for room in ROOMS[:3]:
            for n in range(40):
                messages.append(client, history, room, lambda s, n=n: _frame(n, s), 3600)
        yield client, table, history


def _frame(n: int, seq: int) -> bytes:
    return json.dumps({"type": "message", "data": n, "seq": seq}).encode()


def _pages(client: Any, **query: Any) -> list[Any]:
    """Every page of a Query: its items and where it stopped."""
    pages = []
    while True:
        page = client.query(**query)
        pages.append((page["Items"], page.get("LastEvaluatedKey"), page["Count"]))
        if "LastEvaluatedKey" not in page:
            return pages
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _reads(client: Any, table: str, history: str) -> list[Any]:
    """The reads the handlers make, plus their variations (limits, direction, projection)."""
    seen: list[Any] = []
    for room in [*ROOMS, "nobody-here"]:
        for limit in (None, 1, 4):
            for forward in (True, False):
                query: dict[str, Any] = {
                    "TableName": table,
                    "IndexName": Table.ROOM_INDEX,
                    "KeyConditionExpression": "#r = :r",
                    "ExpressionAttributeNames": {"#r": Table.ROOM_ID},
                    "ExpressionAttributeValues": {":r": {"S": room}},
                    "ScanIndexForward": forward,
                }
                if limit:
                    query["Limit"] = limit
                seen.append(_pages(client, **query))
        seen.append(list(connections.room_members(client, table, Table.ROOM_INDEX, room)))
    for user in [*USERS, "stranger"]:
        seen.append(list(connections.user_connections(client, table, Table.USER_INDEX, user)))
    for room in [*ROOMS[:3], "quiet"]:
        for since, limit in ((0, 500), (17, 5), (39, 500), (40, 500)):
            seen.append(messages.replay(client, history, room, since, limit))
        seen.append(
            _pages(
                client,
                TableName=history,
                KeyConditionExpression="#r = :r AND #s BETWEEN :a AND :b",
                ExpressionAttributeNames={"#r": History.ROOM_ID, "#s": History.SEQ},
                ExpressionAttributeValues={
                    ":r": {"S": room},
                    ":a": {"N": "5"},
                    ":b": {"N": "30"},
                },
                ScanIndexForward=False,
                Limit=7,
            )
        )
    cid = client.scan(TableName=table, Limit=1)["Items"][0][Table.CONNECTION_ID]["S"]
    seen.append(
        _pages(
            client,
            TableName=table,
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": Table.CONNECTION_ID},
            ExpressionAttributeValues={":c": {"S": cid}},
        )
    )
    return seen


def test_queries_return_the_same_items_in_the_same_order(tables):
    client, table, history = tables
    unpatched = _reads(client, table, history)
    with moto_speedups.installed():
        patched = _reads(client, table, history)
    assert patched == unpatched
    # the reads are not vacuous: rooms have members, pages split, history replays
    assert any(len(pages) > 2 for pages in unpatched if isinstance(pages, list) and pages)
    assert sum(1 for r in unpatched if isinstance(r, list) and r and isinstance(r[0], str)) > 3


def _scan(client: Any, table: str) -> list[Any]:
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: sorted((k, str(v)) for k, v in item.items()))


def _failed_transaction(client: Any, history: str) -> Any:
    """An update of the counter, a new message and a changed old one, cancelled by a
    condition on the last item: nothing of it may stay."""
    room = {"S": ROOMS[0]}
    with pytest.raises(client.exceptions.TransactionCanceledException) as refused:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": history,
                        "Key": {History.ROOM_ID: room, History.SEQ: {"N": "0"}},
                        "UpdateExpression": "SET #l = :big",
                        "ExpressionAttributeNames": {"#l": History.LAST},
                        "ExpressionAttributeValues": {":big": {"N": "999"}},
                    }
                },
                {
                    "Put": {
                        "TableName": history,
                        "Item": {History.ROOM_ID: room, History.SEQ: {"N": "1000"}},
                    }
                },
                {
                    "Delete": {
                        "TableName": history,
                        "Key": {History.ROOM_ID: room, History.SEQ: {"N": "3"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": history,
                        "Key": {History.ROOM_ID: room, History.SEQ: {"N": "4"}},
                        "ConditionExpression": "attribute_not_exists(#r)",
                        "ExpressionAttributeNames": {"#r": History.ROOM_ID},
                    }
                },
            ]
        )
    return refused.value.response["CancellationReasons"]


@pytest.mark.parametrize(
    "run", [lambda f: f(), lambda f: _under(moto_speedups.installed, f)], ids=["moto", "patched"]
)
def test_a_cancelled_transaction_leaves_every_item_as_it_was(tables, run):
    client, _, history = tables
    before = _scan(client, history)
    reasons = run(lambda: _failed_transaction(client, history))
    assert [r["Code"] for r in reasons] == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _scan(client, history) == before


def _under(context: Callable[[], Any], body: Callable[[], Any]) -> Any:
    with context():
        return body()


def test_a_transaction_that_succeeds_is_applied(tables):
    """The rollback bookkeeping never undoes a transaction that went through, and the
    handlers' seq counter keeps counting with the patches on."""
    client, _, history = tables
    room = ROOMS[1]
    with moto_speedups.installed():
        last = messages.last_seq(client, history, room)
        seq, frame = messages.append(client, history, room, lambda s: _frame(-1, s), 3600)
        assert seq == last + 1 and messages.last_seq(client, history, room) == seq
        replay = messages.replay(client, history, room, last, 10)
    assert [json.loads(f) for f in replay.frames] == [{**json.loads(frame), "replay": True}]


def test_install_is_idempotent_and_uninstall_restores_moto():
    from moto.dynamodb.models.table import Table as MotoTable

    original = MotoTable.query
    with moto_speedups.installed():
        moto_speedups.install()
        assert MotoTable.query is not original
    assert MotoTable.query is original


def test_shared_botocore_data_reads_each_file_once_and_lists_the_same_regions():
    from botocore.loaders import Loader

    def regions() -> list[list[str]]:
        return [
            boto3.session.Session().get_available_regions("ec2", partition_name=partition)
            for partition in ("aws", "aws-us-gov", "aws-cn")
        ]

    original = Loader.load_data_with_path
    reads: list[str] = []

    def counting(self: Loader, name: str) -> Any:
        reads.append(name)
        return original(self, name)

    Loader.load_data_with_path = counting  # type: ignore[method-assign]
    try:
        unshared = regions()
        unshared_reads = list(reads)
        reads.clear()
        with moto_speedups.shared_botocore_data():
            shared = regions()
        assert Loader.load_data_with_path is counting  # put back as it was
    finally:
        Loader.load_data_with_path = original  # type: ignore[method-assign]
    assert shared == unshared and len(shared[0]) > 10
    big = ("endpoints", "ec2/2016-11-15/service-2")  # what takes the time
    assert [reads.count(name) for name in big] == [1, 1]
    assert [unshared_reads.count(name) for name in big] == [3, 3]  # a read per session


def _room_reads(client: Any, table: str) -> list[Any]:
    """Every room's members, whole items (rate-limit counters and ttl included)."""
    return [
        _pages(
            client,
            TableName=table,
            IndexName=Table.ROOM_INDEX,
            KeyConditionExpression="#r = :r",
            ExpressionAttributeNames={"#r": Table.ROOM_ID},
            ExpressionAttributeValues={":r": {"S": room}},
        )
        for room in [*ROOMS, "room-new"]
    ]


def test_index_queries_see_every_kind_of_write(tables):
    """The kept index candidates never outlive a write that changes them: after each write
    (made with the speedups on), a Query answers as unpatched moto's does."""
    client, table, _ = tables
    items = client.scan(TableName=table)["Items"]
    rows = [i[Table.CONNECTION_ID]["S"] for i in items if Table.USER_ID in i]  # not memberships
    first, second, third = rows[:3]
    key = {Table.CONNECTION_ID: {"S": first}}
    writes: list[Callable[[], Any]] = [
        # a new connection in two rooms (PutItems)
        lambda: connections.put(
            client, table, Connection("fresh=", "u9", 1, frozenset(ROOMS[:2])), ttl_seconds=60
        ),
        # joining and leaving rooms (UpdateItem on the row, Put/DeleteItem of memberships)
        lambda: connections.subscribe(client, table, second, "room-new", 50),
        lambda: connections.unsubscribe(client, table, second, "room-new"),
        # counting messages: an UpdateItem naming no index key (the candidates stay)
        lambda: connections.claim_send(client, table, third, 10, 20),
        lambda: connections.claim_send(client, table, third, 10, 20),
        # an UpdateItem that moves an item to another room of the index
        lambda: client.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #r = :r",
            ExpressionAttributeNames={"#r": Table.ROOM_ID},
            ExpressionAttributeValues={":r": {"S": "room-new"}},
        ),
        # ... and one through the legacy AttributeUpdates
        lambda: client.update_item(
            TableName=table,
            Key=key,
            AttributeUpdates={Table.ROOM_ID: {"Action": "PUT", "Value": {"S": ROOMS[0]}}},
        ),
        # a transaction that fails part-way: nothing changes
        lambda: _failing_transaction(client, table, first),
        # deleting a connection and its memberships
        lambda: connections.delete_many(client, table, [third], now=time.time() + 10**6),
    ]
    for write in writes:
        with moto_speedups.installed():
            write()
            patched = _room_reads(client, table)
        assert patched == _room_reads(client, table)


def _failing_transaction(client: Any, table: str, cid: str) -> None:
    """Changes ``cid``'s ``ttl`` (projected, not a key: what a query returns, not where),
    then fails on a condition: rolled back, the item is a copy from before."""
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {Table.CONNECTION_ID: {"S": cid}},
                        "UpdateExpression": "SET #t = :t",
                        "ExpressionAttributeNames": {"#t": Table.TTL},
                        "ExpressionAttributeValues": {":t": {"N": "1"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {Table.CONNECTION_ID: {"S": "no-such-connection"}},
                        "ConditionExpression": "attribute_exists(#c)",
                        "ExpressionAttributeNames": {"#c": Table.CONNECTION_ID},
                    }
                },
            ]
        )
