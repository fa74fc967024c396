"""members end to end: the dev stack served by the local runtime, real WebSocket clients ask
who is in a room and get the users with their live connection counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from realtime_socket.local.model import build
from tests.support.helpers import eventually
from tests.support.runtime_harness import RunningRuntime, logged_runtime
from tests.support.stack_project import run_stack
from tests.support.ws_client import ask


@pytest.fixture(scope="module")
def dev_rt(tmp_path_factory) -> Iterator[RunningRuntime]:
    """The repository's own dev stack, as ``make run`` serves it."""
    with logged_runtime(tmp_path_factory, "members", build(run_stack())) as running:
        yield running


def _members(ws: ClientConnection, room: str) -> dict[str, Any]:
    return ask(ws, {"action": "members", "room": room})


def test_members_counts_each_users_connections_and_follows_a_close(dev_rt):
    """bob twice and alice once in a room: sorted [alice 1, bob 2]; after one of bob's
    sockets closes, bob's count drops to 1."""
    room = "members-e2e"
    with (
        connect(dev_rt.dev_url("chat", room, sub="m-bob")) as bob1,
        connect(dev_rt.dev_url("chat", room, sub="m-alice")) as alice,
    ):
        with connect(dev_rt.dev_url("chat", sub="m-bob")) as bob2:
            assert ask(bob2, {"action": "subscribe", "room": room})["type"] == "subscribed"
            expected = [
                {"user": "m-alice", "connections": 1},
                {"user": "m-bob", "connections": 2},
            ]
            for ws in (alice, bob1, bob2):
                assert _members(ws, room) == {"type": "members", "room": room, "members": expected}
        after = [{"user": "m-alice", "connections": 1}, {"user": "m-bob", "connections": 1}]
        assert eventually(lambda: _members(alice, room).get("members") == after)
        assert _members(bob1, room) == {"type": "members", "room": room, "members": after}


def test_members_of_a_room_you_are_not_in_is_not_subscribed(dev_rt):
    """Asking for another room's members: an error frame with not_subscribed, no list."""
    with (
        connect(dev_rt.dev_url("chat", "members-private", sub="m-insider")) as insider,
        connect(dev_rt.dev_url("chat", "members-public", sub="m-outsider")) as outsider,
    ):
        assert _members(insider, "members-private")["members"] == [
            {"user": "m-insider", "connections": 1}
        ]
        frame = _members(outsider, "members-private")
        assert (frame["type"], frame["code"]) == ("error", "not_subscribed")
        assert "members" not in frame
