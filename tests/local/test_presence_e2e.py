"""Presence end to end: real WebSocket clients in the local runtime hear who joins and leaves
a room, with several connections per user."""

from __future__ import annotations

from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.support.ws_client import ask, assert_silent, recv_json


def _presence(ws: ClientConnection) -> tuple[str, str, str]:
    frame = recv_json(ws, presence=True)
    assert frame["type"] == "presence", frame
    return frame["event"], frame["room"], frame["user"]


def _quiet(ws: ClientConnection) -> None:
    """No presence frame (nor anything else) arrives."""
    frame: dict[str, Any] | None = None
    try:
        frame = recv_json(ws, 0.7, presence=True)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected frame {frame}")


def test_join_and_leave_follow_a_users_first_and_last_connection(rt):
    """bob's first connection is a join for alice, his second nothing; closing one of two is
    nothing, closing the last is a leave. bob never hears about himself."""
    room = "presence-e2e"
    with connect(rt.dev_url("chat", room, sub="p-alice")) as alice:
        with connect(rt.dev_url("chat", room, sub="p-bob")) as bob1:
            assert _presence(alice) == ("join", room, "p-bob")
            with connect(rt.dev_url("chat", sub="p-bob")) as bob2:
                assert ask(bob2, {"action": "subscribe", "room": room})["seq"] >= 0
                _quiet(alice)  # bob is in the room already
            _quiet(alice)  # bob1 is still there
            _quiet(bob1)
        assert _presence(alice) == ("leave", room, "p-bob")


def test_subscribe_and_unsubscribe_announce_to_the_room_not_to_the_caller(rt):
    room = "presence-sub"
    with (
        connect(rt.dev_url("chat", room, sub="q-alice")) as alice,
        connect(rt.dev_url("chat", sub="q-carol")) as carol,
    ):
        assert ask(carol, {"action": "subscribe", "room": room})["type"] == "subscribed"
        assert _presence(alice) == ("join", room, "q-carol")
        members = ask(carol, {"action": "members", "room": room})["members"]
        assert [m["user"] for m in members] == ["q-alice", "q-carol"]
        assert ask(carol, {"action": "unsubscribe", "room": room})["type"] == "unsubscribed"
        assert _presence(alice) == ("leave", room, "q-carol")
        _quiet(carol)
        # a second unsubscribe changes nothing and announces nothing
        assert ask(carol, {"action": "unsubscribe", "room": room})["type"] == "unsubscribed"
        _quiet(alice)
        assert_silent(carol)
