"""Token expiry: rows end with the token, and an expired connection's frames close it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from realtime_socket.contract import TOKEN_EXPIRES_CONTEXT_KEY, Table
from realtime_socket.handlers import (
    connect,
    default,
    expiry,
    history,
    ping,
    reply,
    sendmessage,
    subscribe,
    unsubscribe,
)
from tests.handlers.conftest import ClosingConnections
from tests.support.helpers import FakeContext, load_event, table_items

ROUTES = [sendmessage, subscribe, unsubscribe, history, reply, ping, default]


def _event(expires: object, body: dict[str, Any] | None = None) -> dict[str, Any]:
    event = load_event(
        "sendmessage", authorizer={"sub": "alice", TOKEN_EXPIRES_CONTEXT_KEY: expires}
    )
    event["body"] = json.dumps(body or {"action": "ping"})
    return event


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1_800_000_000, 1_800_000_000), ("1800000000", 1_800_000_000), (None, None), (True, None),
     ("soon", None)],
)  # fmt: skip
def test_the_tokens_exp_is_read_from_the_context(value: object, expected: int | None) -> None:
    """An int or a numeric string (API Gateway may stringify context values); anything else,
    or nothing (a connection from before this rule), is no expiry."""
    assert expiry.token_expires(_event(value)) == expected


def test_expired_means_at_or_after_exp() -> None:
    """A token is expired from its exp second on, not before."""
    event = _event(1_000)
    assert expiry.token_expired(event, now=999.9) is False
    assert expiry.token_expired(event, now=1_000) is True
    assert expiry.token_expired(_event(None), now=10**12) is False


def test_connect_ends_the_rows_at_the_tokens_exp(table: Any) -> None:
    """A token expiring in 10 minutes: the row and its membership get ttl = exp, not the
    2 h 10 min cap; a token outliving the cap keeps the cap."""
    db, cfg = table
    soon = int(time.time()) + 600
    for cid, expires in (("A", soon), ("B", soon + 86_400)):
        event = load_event(
            "connect", connectionId=cid, authorizer={"sub": "u", TOKEN_EXPIRES_CONTEXT_KEY: expires}
        )
        event["queryStringParameters"] = {"room_id": "lobby"}
        assert connect.handle(event, db, cfg)["statusCode"] == 200
    items = table_items(db, cfg.table_name)
    assert int(items["A"][Table.TTL]["N"]) == soon
    assert int(items["A|lobby"][Table.TTL]["N"]) == soon
    assert int(items["B"][Table.TTL]["N"]) < soon + 86_400
    assert int(items["B"][Table.TTL]["N"]) == int(items["B|lobby"][Table.TTL]["N"])


@pytest.mark.parametrize("route", ROUTES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_an_expired_connections_frame_is_refused_and_the_connection_closed(
    deployed: ClosingConnections, route: Any
) -> None:
    """Every route's entry point: token_expired to the caller, then DELETE @connections;
    the route itself never runs (nothing sent to the room, no answer body)."""
    event = _event(int(time.time()) - 1, {"action": "sendmessage", "room": "lobby", "data": 1})
    cid = event["requestContext"]["connectionId"]
    answer = route.handler(event, FakeContext())
    assert answer == {"statusCode": 200}
    assert [frame["code"] for frame in deployed.frames(cid)] == ["token_expired"]
    assert set(deployed.posts) == {cid}
    assert deployed.deleted == [cid]


def test_a_live_token_runs_the_route(deployed: ClosingConnections) -> None:
    """Before exp the wrapped entry point is the route: ping answers pong, nothing closed."""
    answer = ping.handler(_event(int(time.time()) + 60), FakeContext())
    assert json.loads(answer["body"]) == {"type": "pong"}
    assert deployed.deleted == [] and deployed.posts == {}
