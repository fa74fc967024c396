"""Every DynamoDB call a handler makes is allowed by the policy the component gives it.

The handlers run against moto with a hook that records each operation; each must map to
an action in ``policies.ROUTE_GRANTS`` for that function (on the table or the index used).
"""

from __future__ import annotations

import json

import pytest

from realtime_socket.component import policies
from realtime_socket.contract import Table
from realtime_socket.handlers import connect, disconnect, sendmessage
from tests.support.helpers import load_event


@pytest.fixture
def calls(table):
    db, _ = table
    seen: list[tuple[str, str | None]] = []

    def record(params, model, **_):
        seen.append((model.name, params.get("IndexName")))

    db.meta.events.register("provide-client-params.dynamodb", record)
    return seen


def _allowed(module: str, extra: policies.Grants | None = None) -> set[tuple[str, str | None]]:
    grants = policies.ROUTE_GRANTS[module] + (extra or policies.Grants())
    allowed = {(a.removeprefix("dynamodb:"), None) for a in grants.table}
    for index, actions in grants.indexes.items():
        allowed |= {(a.removeprefix("dynamodb:"), index) for a in actions}
    return allowed


def test_connect_and_disconnect(table, calls):
    db, cfg = table
    connect.handle(load_event("connect"), db, cfg)
    assert set(calls) <= _allowed("connect")
    calls.clear()
    disconnect.handle(load_event("disconnect"), db, cfg)
    assert set(calls) <= _allowed("disconnect")


def test_connect_with_a_per_user_cap(capped_table):
    db, cfg = capped_table
    seen: list[tuple[str, str | None]] = []
    db.meta.events.register(
        "provide-client-params.dynamodb",
        lambda params, model, **_: seen.append((model.name, params.get("IndexName"))),
    )
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
    assert {"UpdateItem", "Query", "BatchWriteItem"} <= operations
    assert set(calls) <= _allowed("sendmessage")
