"""$disconnect deletes the row and is idempotent."""

from __future__ import annotations

from realtime_socket.handlers import connect, connections, disconnect
from tests.support.helpers import load_event, memberships, table_items


def test_disconnect_deletes_the_row(table):
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    assert connections.get(db, cfg.table_name, "conn-A=") is not None
    assert disconnect.handle(load_event("disconnect"), db, cfg)["statusCode"] == 200
    assert connections.get(db, cfg.table_name, "conn-A=") is None


def test_unknown_or_repeated_disconnect_is_fine(table, lambda_log):
    """Deleting a missing row twice is two successes, logged with the close code."""
    db, cfg = table
    for _ in range(2):
        assert disconnect.handle(load_event("disconnect"), db, cfg)["statusCode"] == 200
    last = lambda_log.events()[-1]
    assert last["outcome"] == "ok"
    assert last["disconnectStatusCode"] == 1001


def test_disconnect_leaves_other_connections(table):
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    connect.handle(load_event("connect", connectionId="conn-B="), db, cfg)
    disconnect.handle(load_event("disconnect"), db, cfg)
    assert connections.get(db, cfg.table_name, "conn-B=") is not None


def test_disconnect_removes_every_membership_of_the_connection(table):
    """A connection in several rooms: its row and all its memberships go, others' stay."""
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    connect.handle(load_event("connect", connectionId="conn-B="), db, cfg)
    for room in ("news", "ops"):
        assert connections.subscribe(db, cfg.table_name, "conn-A=", room, 20) is not None
    disconnect.handle(load_event("disconnect"), db, cfg)
    assert memberships(db, cfg.table_name) == {("conn-B=", "lobby")}
    assert set(table_items(db, cfg.table_name)) == {"conn-B=", "conn-B=|lobby"}
