"""The connections table: rows and room memberships kept in step, the batch delete's
botocore backoff for unprocessed items and its clear error when they stay unprocessed."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from realtime_socket.contract import Table
from realtime_socket.handlers import connections, requests
from realtime_socket.handlers.settings import Settings
from tests.support.helpers import memberships, put_one_room_row, row_rooms, table_items


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

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)  # every other call goes through unchanged

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


def _rows(
    db: Any, table: str, ids: list[str], rooms: frozenset[str] = frozenset({"lobby"})
) -> None:
    now = int(time.time())
    for cid in ids:
        connections.put(db, table, connections.Connection(cid, "alice", now * 1000, rooms), 60)


def _keys(ids: list[str], room: str = "lobby") -> list[str]:
    return [connections.membership_key(cid, room) for cid in ids]


def test_delete_many_removes_more_than_one_batch(table):
    """60 stale connections: rows and memberships gone, in batches of at most 25; others stay."""
    db, cfg = table
    ids = [f"g{i}" for i in range(60)]
    _rows(db, cfg.table_name, [*ids, "keep"])
    client = PartialBatches(db, per_call=25)
    connections.delete_many(client, cfg.table_name, ids)
    assert client.calls == [25, 25, 10]
    assert all(connections.get(db, cfg.table_name, cid) is None for cid in ids)
    assert set(table_items(db, cfg.table_name)) == {"keep", "keep|lobby"}


def test_unprocessed_items_are_resent_after_botocores_backoff(table, sleeps):
    """What DynamoDB leaves unprocessed is resent, waiting as botocore's backoff says."""
    db, cfg = table
    ids = [f"g{i}" for i in range(30)]
    _rows(db, cfg.table_name, ids)
    client = PartialBatches(db, per_call=10)
    connections.batch_delete(client, cfg.table_name, _keys(ids))
    assert client.calls == [25, 15, 5, 5]  # the first batch needed all three attempts
    assert sleeps == [0.001, 0.002]
    assert memberships(db, cfg.table_name) == set()


def test_items_that_stay_unprocessed_are_a_clear_error(table, sleeps):
    """After the client's attempts (botocore's default 3), the error names what is left."""
    db, cfg = table
    ids = ["a", "b", "c"]
    _rows(db, cfg.table_name, ids)
    client = PartialBatches(db, per_call=0)
    with pytest.raises(connections.UnprocessedDeletes, match=r"^3 rows of .* after 3 ") as err:
        connections.batch_delete(client, cfg.table_name, _keys(ids))
    assert (err.value.connection_ids, err.value.attempts) == (_keys(ids), 3)
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
        connections.batch_delete(client, cfg.table_name, ["a|lobby"])
    assert client.calls == [1] * 6
    assert sleeps == [0.001, 0.002, 0.003, 0.004, 0.005]


# -- rows and memberships -----------------------------------------------------------------


def test_subscribe_adds_the_room_to_the_set_and_writes_its_membership(table):
    """One row set entry and one membership item per room; the membership carries the row's ttl."""
    db, cfg = table
    _rows(db, cfg.table_name, ["A"], frozenset())
    changed = []
    for room in ("a", "b", "a"):  # the second "a" is idempotent
        change = connections.subscribe(db, cfg.table_name, "A", room, 5)
        assert change is not None and room in change.connection.rooms
        changed.append(change.changed)
    assert changed == [True, True, False]  # what presence decides a join on
    assert row_rooms(db, cfg.table_name, "A") == {"a", "b"}
    assert memberships(db, cfg.table_name) == {("A", "a"), ("A", "b")}
    items = table_items(db, cfg.table_name)
    assert items["A|a"][Table.TTL] == items["A"][Table.TTL]


def test_subscribe_past_the_limit_raises_and_changes_nothing(table):
    """The conditional UpdateItem refuses a new room to a full set; a held room still passes."""
    db, cfg = table
    _rows(db, cfg.table_name, ["A"], frozenset({"a", "b"}))
    with pytest.raises(connections.TooManyRooms):
        connections.subscribe(db, cfg.table_name, "A", "c", 2)
    assert connections.subscribe(db, cfg.table_name, "A", "b", 2) is not None
    assert row_rooms(db, cfg.table_name, "A") == {"a", "b"}
    assert memberships(db, cfg.table_name) == {("A", "a"), ("A", "b")}


def test_subscribe_without_a_live_row_is_none_and_writes_nothing(table):
    """No row, or an expired one: None, and no membership (UpdateItem never creates the row)."""
    db, cfg = table
    assert connections.subscribe(db, cfg.table_name, "ghost", "a", 5) is None
    db.put_item(
        TableName=cfg.table_name,
        Item={
            Table.CONNECTION_ID: {"S": "old"},
            Table.USER_ID: {"S": "bob"},
            Table.CONNECTED_AT: {"N": "0"},
            Table.TTL: {"N": str(int(time.time()) - 5)},
        },
    )
    assert connections.subscribe(db, cfg.table_name, "old", "a", 5) is None
    assert set(table_items(db, cfg.table_name)) == {"old"}


def test_unsubscribe_removes_membership_and_set_entry_and_is_idempotent(table):
    """Unsubscribing twice, or from a room never joined, succeeds; other rooms stay."""
    db, cfg = table
    _rows(db, cfg.table_name, ["A"], frozenset({"a", "b"}))
    changed = []
    for room in ("a", "a", "never"):
        change = connections.unsubscribe(db, cfg.table_name, "A", room)
        assert change is not None and change.connection.rooms == {"b"}
        changed.append(change.changed)
    assert changed == [True, False, False]  # only a membership really deleted is a leave
    assert memberships(db, cfg.table_name) == {("A", "b")}
    assert connections.unsubscribe(db, cfg.table_name, "ghost", "a") is None
    assert "ghost" not in table_items(db, cfg.table_name)


def test_delete_removes_the_row_and_every_membership_only_of_that_connection(table):
    """``$disconnect``'s delete: the row (ALL_OLD names its rooms) and those memberships."""
    db, cfg = table
    _rows(db, cfg.table_name, ["A"], frozenset({"a", "b", "c"}))
    _rows(db, cfg.table_name, ["B"], frozenset({"a"}))
    deleted = connections.delete(db, cfg.table_name, "A")
    assert deleted is not None and deleted.rooms == {"a", "b", "c"}
    assert set(table_items(db, cfg.table_name)) == {"B", "B|a"}
    assert connections.delete(db, cfg.table_name, "A") is None  # idempotent


def test_delete_many_also_removes_the_membership_the_fanout_found(table):
    """A membership whose row is already gone is removed by the room the 410 came from."""
    db, cfg = table
    _rows(db, cfg.table_name, ["A"], frozenset({"a"}))
    db.delete_item(TableName=cfg.table_name, Key={Table.CONNECTION_ID: {"S": "A"}})
    assert connections.delete_many(db, cfg.table_name, ["A"], room="a") == []
    assert table_items(db, cfg.table_name) == {}


def test_room_members_reads_memberships_and_legacy_rows(table):
    """The room index yields the connection id of a membership and of a pre-membership row."""
    db, cfg = table
    _rows(db, cfg.table_name, ["A", "B"], frozenset({"lobby", "x"}))
    put_one_room_row(db, cfg.table_name, "legacy", "lobby", "carol", ttl_in=60)
    members = connections.room_members(db, cfg.table_name, cfg.room_index, "lobby")
    assert sorted(members) == ["A", "B", "legacy"]
    assert connections.get(db, cfg.table_name, "legacy").rooms == {"lobby"}
    deleted = connections.delete(db, cfg.table_name, "legacy")
    assert deleted is not None and deleted.rooms == {"lobby"}


# -- a user's connections -----------------------------------------------------------------


class SmallPages:
    """A DynamoDB client whose Query returns at most ``limit`` items a page, as a large
    result does past 1 MB: the caller must follow ``LastEvaluatedKey``."""

    def __init__(self, db: Any, limit: int) -> None:
        self.db = db
        self.limit = limit
        self.start_keys: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def query(self, **kwargs: Any) -> Any:
        self.start_keys.append(kwargs.get("ExclusiveStartKey"))
        return self.db.query(**kwargs, Limit=self.limit)


def _user_row(db: Any, table: str, cid: str, user: str, rooms: set[str], ttl_in: int = 60) -> None:
    now = int(time.time())
    conn = connections.Connection(cid, user, now * 1000, frozenset(rooms))
    connections.put(db, table, conn, ttl_in)


def test_user_connections_lists_each_live_connection_of_the_user_once(
    table: tuple[Any, Settings],
) -> None:
    """Several rooms still mean one entry; other users, memberships and requests are not listed."""
    db, cfg = table
    _user_row(db, cfg.table_name, "A", "alice", {"a", "b", "c"})
    _user_row(db, cfg.table_name, "B", "alice", set())
    _user_row(db, cfg.table_name, "C", "bob", {"a"})
    requests.open_request(db, cfg.table_name, "0" * 32, ["A"], int(time.time()) + 60)
    found = list(connections.user_connections(db, cfg.table_name, cfg.user_index, "alice"))
    assert sorted(found) == ["A", "B"]
    assert list(connections.user_connections(db, cfg.table_name, cfg.user_index, "bob")) == ["C"]
    assert list(connections.user_connections(db, cfg.table_name, cfg.user_index, "nobody")) == []
    assert len(table_items(db, cfg.table_name)) == 3 + 4 + 1  # rows, memberships, the request


def test_user_connections_skips_expired_rows(table: tuple[Any, Settings]) -> None:
    """A row past its ttl (DynamoDB deletes lazily) is not a live connection of the user."""
    db, cfg = table
    _user_row(db, cfg.table_name, "live", "alice", {"a"})
    _user_row(db, cfg.table_name, "stale", "alice", {"a"}, ttl_in=-5)
    assert "stale" in table_items(db, cfg.table_name)
    found = list(connections.user_connections(db, cfg.table_name, cfg.user_index, "alice"))
    assert found == ["live"]


def test_user_connections_lists_a_row_from_before_memberships(table: tuple[Any, Settings]) -> None:
    """A one-room row (``roomId`` on the row, no ``|`` in its key) carries userId: listed."""
    db, cfg = table
    put_one_room_row(db, cfg.table_name, "legacy", "lobby", "carol", ttl_in=60)
    found = list(connections.user_connections(db, cfg.table_name, cfg.user_index, "carol"))
    assert found == ["legacy"]


def test_user_connections_follows_every_page(table: tuple[Any, Settings]) -> None:
    """One item a page: every live connection is still found, by following LastEvaluatedKey."""
    db, cfg = table
    ids = [f"c{i}" for i in range(5)]
    for cid in ids:
        _user_row(db, cfg.table_name, cid, "alice", {"lobby"})
    _user_row(db, cfg.table_name, "stale", "alice", set(), ttl_in=-5)
    client: Any = SmallPages(db, limit=1)
    found = list(connections.user_connections(client, cfg.table_name, cfg.user_index, "alice"))
    assert sorted(found) == ids
    assert len(client.start_keys) >= 6  # six rows of alice, one a page
    assert client.start_keys[0] is None
    assert all(key is not None for key in client.start_keys[1:])


def test_a_410_from_a_connection_still_connecting_leaves_its_rows(table, monkeypatch):
    """API Gateway answers 410 until ``$connect`` returns, and the rows are written before
    that: a connection younger than the grace keeps its row and memberships; an older one,
    or one whose row is already gone, is cleaned as before."""
    monkeypatch.setattr(connections, "CONNECTING_GRACE_SECONDS", 30)
    db, cfg = table
    now = time.time()
    rooms = frozenset({"lobby", "team"})
    young = connections.Connection("young", "alice", int((now - 5) * 1000), rooms)
    old = connections.Connection("old", "bob", int((now - 31) * 1000), rooms)
    for conn in (young, old):
        connections.put(db, cfg.table_name, conn, 600)
    deleted = connections.delete_many(
        db, cfg.table_name, ["young", "old", "no-row"], room="lobby", now=now
    )
    assert [c.connection_id for c in deleted] == ["old"]
    assert set(table_items(db, cfg.table_name)) == {"young", "young|lobby", "young|team"}
    later = connections.delete_many(db, cfg.table_name, ["young"], room="lobby", now=now + 30)
    assert [c.connection_id for c in later] == ["young"]
    assert table_items(db, cfg.table_name) == {}
