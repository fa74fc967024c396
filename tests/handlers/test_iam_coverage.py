"""Every DynamoDB call a handler makes is allowed by the policy the component gives it.

The handlers run against moto with a hook that records each operation; each must map to
an action in ``policies.ROUTE_GRANTS`` for that function (on the table or the index used,
or on the history table: :data:`HISTORY`). A TransactWriteItems counts as the actions IAM
checks for it: one UpdateItem or PutItem per item.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from realtime_socket.component import policies
from realtime_socket.contract import Table
from realtime_socket.handlers import (
    connect,
    connections,
    disconnect,
    fanout_worker,
    reply,
    requests,
    sendmessage,
    subscribe,
    unsubscribe,
)
from realtime_socket.handlers.settings import Settings
from tests.support.helpers import (
    HISTORY,
    ScriptedConnections,
    load_event,
    record_calls,
    table_items,
)


@pytest.fixture
def calls(table):
    db, cfg = table
    return record_calls(db, cfg.history_table)


def _allowed(module: str, extra: policies.Grants | None = None) -> set[tuple[str, str | None]]:
    base = policies.FANOUT_WORKER_GRANTS if module == "fanout_worker" else None
    grants = (base or policies.ROUTE_GRANTS[module]) + (extra or policies.Grants())
    allowed = {(a.removeprefix("dynamodb:"), None) for a in grants.table}
    for index, actions in grants.indexes.items():
        allowed |= {(a.removeprefix("dynamodb:"), index) for a in actions}
    allowed |= {(a.removeprefix("dynamodb:"), HISTORY) for a in grants.history}
    return allowed


def test_connect_and_disconnect(table, calls):
    """$connect with a room, and $disconnect of a connection in several rooms."""
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    assert set(calls) <= _allowed("connect")
    connections.subscribe(db, cfg.table_name, "conn-A=", "news", 20)
    calls.clear()
    disconnect.handle(load_event("disconnect"), db, cfg)
    assert {("DeleteItem", None), ("BatchWriteItem", None)} <= set(calls)
    assert set(calls) <= _allowed("disconnect")


def test_connect_rolls_back_within_its_grants(table, calls, failing_membership_writes):
    """The membership write failing makes $connect delete the row: DeleteItem is granted."""
    db, cfg = table
    with pytest.raises(RuntimeError):
        connect.handle(load_event("connect"), db, cfg)
    assert ("DeleteItem", None) in calls
    assert set(calls) <= _allowed("connect")


def _frame(route: str, body: dict[str, object]) -> dict[str, object]:
    event = load_event("sendmessage", routeKey=route)
    event["body"] = json.dumps(body)
    return event


def test_subscribe_and_unsubscribe(table, calls):
    """Success, the limit, an unknown connection: every call is in the route's grants."""
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    small = type(cfg)(**{**cfg.__dict__, "max_rooms_per_connection": 2})
    calls.clear()
    for room in ("news", "ops"):  # the second is past the limit of 2
        subscribe.handle(_frame("subscribe", {"action": "subscribe", "room": room}), db, small)
    ghost = _frame("subscribe", {"action": "subscribe", "room": "x"})
    ghost["requestContext"]["connectionId"] = "ghost"  # type: ignore[index]
    subscribe.handle(ghost, db, small)
    assert {("UpdateItem", None), ("PutItem", None)} <= set(calls)
    assert set(calls) <= _allowed("subscribe")
    calls.clear()
    for room in ("news", "never"):
        unsubscribe.handle(_frame("unsubscribe", {"action": "unsubscribe", "room": room}), db, cfg)
    assert {("UpdateItem", None), ("DeleteItem", None)} <= set(calls)
    assert set(calls) <= _allowed("unsubscribe")


def test_connect_with_a_per_user_cap(capped_table):
    db, cfg = capped_table
    seen = record_calls(db, cfg.history_table)
    connect.handle(load_event("connect"), db, cfg)
    extra = policies.Grants(indexes={Table.USER_INDEX: ["dynamodb:Query"]})
    assert ("Query", Table.USER_INDEX) in seen
    assert set(seen) <= _allowed("connect", extra)


def test_sendmessage_including_rate_limit_and_410_cleanup(table, calls, endpoint):
    db, cfg = table
    cfg = type(cfg)(**{**cfg.__dict__, "messages_per_second": 5.0, "message_burst": 10})
    for cid in ("A", "B"):
        event = load_event("connect", connectionId=cid)
        connect.handle(event, db, cfg)
    endpoint.script["B"] = [410]
    calls.clear()
    event = load_event("sendmessage", connectionId="A")
    event["body"] = json.dumps({"action": "sendmessage", "data": 1})
    sendmessage.handle(event, db, endpoint.api(), cfg)
    operations = {c[0] for c in calls}
    assert {"UpdateItem", "Query", "DeleteItem", "BatchWriteItem"} <= operations
    # the room's next seq: the counter read, then the transaction (counter and message)
    assert {("GetItem", HISTORY), ("UpdateItem", HISTORY), ("PutItem", HISTORY)} <= set(calls)
    assert set(calls) <= _allowed("sendmessage", policies.PRESENCE_GRANTS)
    calls.clear()
    no_history = type(cfg)(**{**cfg.__dict__, "history_retention_seconds": 0})
    sendmessage.handle(event, db, endpoint.api(), no_history)
    assert ("UpdateItem", HISTORY) in calls and ("PutItem", HISTORY) not in calls
    assert set(calls) <= _allowed("sendmessage")


def test_the_fanout_worker_cleans_its_410s_within_its_grants(table, calls, endpoint):
    db, cfg = table
    for cid in ("A", "B"):
        connect.handle(load_event("connect", connectionId=cid), db, cfg)
    endpoint.script["B"] = [410]
    calls.clear()
    share = {"room": "lobby", "seq": 1, "endpoint": endpoint.endpoint, "frame": "{}",
             "targets": ["A", "B"]}  # fmt: skip
    report = fanout_worker.handle(share, db, lambda url: endpoint.api(), cfg)
    assert report["gone"] == 1
    assert {("DeleteItem", None), ("BatchWriteItem", None)} <= set(calls)
    assert set(calls) <= _allowed("fanout_worker", policies.PRESENCE_GRANTS)
    no_presence = type(cfg)(**{**cfg.__dict__, "presence_max_room": 0})
    connect.handle(load_event("connect", connectionId="C"), db, no_presence)
    endpoint.script["C"] = [410]
    calls.clear()
    share["targets"] = ["A", "C"]
    fanout_worker.handle(share, db, lambda url: endpoint.api(), no_presence)
    assert set(calls) <= _allowed("fanout_worker")


def test_presence_events_stay_within_the_presence_grants(table, calls, endpoint):
    """Joins and leaves on every path: $connect with a room, subscribe, unsubscribe,
    $disconnect and a 410 found while announcing. Each call is in the route's grants plus
    PRESENCE_GRANTS, and presence needs every one of PRESENCE_GRANTS' table actions."""
    db, cfg = table
    api = endpoint.api()
    seen: set[tuple[str, str | None]] = set()

    def run(module: Any, event: dict[str, Any], name: str) -> None:
        calls.clear()
        module.handle(event, db, cfg, api)
        assert set(calls) <= _allowed(name, policies.PRESENCE_GRANTS), name
        seen.update(calls)

    for cid, sub in (("A", "alice"), ("B", "bob"), ("C", "carol"), ("D", "alice")):
        event = load_event("connect", connectionId=cid)
        event["requestContext"]["authorizer"].update(principalId=sub, sub=sub)
        run(connect, event, "connect")
    endpoint.script["C"] = [410]  # C vanished without $disconnect
    for module, name, action in ((subscribe, "subscribe", "subscribe"),
                                 (unsubscribe, "unsubscribe", "unsubscribe")):  # fmt: skip
        event = _frame(name, {"action": action, "room": "ops"})
        event["requestContext"]["connectionId"] = "A"  # type: ignore[index]
        run(module, event, name)
    run(disconnect, load_event("disconnect", connectionId="B"), "disconnect")
    presence_actions = {(a.removeprefix("dynamodb:"), None) for a in policies.PRESENCE_GRANTS.table}
    assert presence_actions <= seen
    assert {("Query", Table.USER_INDEX), ("Query", Table.ROOM_INDEX)} <= seen
    assert "C" not in table_items(db, cfg.table_name)  # the 410 removed it


def test_reply_success_and_refusals(
    table: tuple[Any, Settings],
    calls: list[tuple[str, str | None]],
    endpoint: ScriptedConnections,
) -> None:
    """An answer, a second answer, another connection's request, a malformed id: all granted."""
    db, cfg = table
    rid = uuid.uuid4().hex
    requests.open_request(db, cfg.table_name, rid, ["A"], int(time.time()) + 60)
    calls.clear()
    bodies = [
        ("A", {"action": "reply", "id": rid, "data": 1}),  # stored
        ("A", {"action": "reply", "id": rid, "data": 2}),  # answered already
        ("B", {"action": "reply", "id": rid, "data": 3}),  # not sent to B
        ("A", {"action": "reply", "id": "nope", "data": 4}),  # malformed: no DynamoDB call
    ]
    for cid, body in bodies:
        event = _frame("reply", body)
        event["requestContext"]["connectionId"] = cid  # type: ignore[index]
        reply.handle(event, db, endpoint.api(), cfg)
    assert calls == [("UpdateItem", None)] * 3
    assert set(calls) <= _allowed("reply")
    assert requests.read_reply(db, cfg.table_name, rid) == "1"
    # The refusals went back by @connections POST, which the route is granted.
    assert sum(len(frames) for frames in endpoint.posts.values()) == 3
    assert "POST" in policies.ROUTE_GRANTS["reply"].connections
