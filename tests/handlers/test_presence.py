"""Presence events from the handlers, against moto and a loopback ``@connections`` endpoint.

A join goes to the room's other connections when a user's first connection enters it, a
leave when the last one leaves it: on unsubscribe, ``$disconnect`` and the 410 clean-up.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_socket.handlers import connect, disconnect, presence, sendmessage, subscribe
from realtime_socket.handlers import unsubscribe as unsubscribe_handler
from tests.support.helpers import ScriptedConnections, load_event, table_items


@pytest.fixture
def room(table, endpoint: ScriptedConnections):
    """Connect and subscribe by connection id and user; read what each connection got."""
    db, cfg = table
    api = endpoint.api()

    class Room:
        def connect(self, cid: str, user: str, room_id: str | None = "lobby") -> None:
            event = load_event("connect", connectionId=cid)
            event["requestContext"]["authorizer"].update(principalId=user, sub=user)
            params = {"room_id": room_id} if room_id else None
            event["queryStringParameters"] = params
            event["multiValueQueryStringParameters"] = None
            assert connect.handle(event, db, cfg, api)["statusCode"] == 200

        def frame(self, module: Any, cid: str, body: dict[str, Any]) -> dict[str, Any]:
            event = load_event("sendmessage", connectionId=cid, routeKey=body["action"])
            event["body"] = json.dumps(body)
            return module.handle(event, db, cfg, api)

        def subscribe(self, cid: str, room_id: str) -> None:
            answer = self.frame(subscribe, cid, {"action": "subscribe", "room": room_id})
            assert json.loads(answer["body"])["type"] == "subscribed"

        def unsubscribe(self, cid: str, room_id: str) -> None:
            body = {"action": "unsubscribe", "room": room_id}
            answer = self.frame(unsubscribe_handler, cid, body)
            assert json.loads(answer["body"])["type"] == "unsubscribed"

        def disconnect(self, cid: str) -> None:
            disconnect.handle(load_event("disconnect", connectionId=cid), db, cfg, api)

        def events(self, cid: str) -> list[tuple[str, str, str]]:
            """(event, room, user) of every presence frame ``cid`` received, then forget them."""
            frames = [json.loads(raw) for raw in endpoint.posts.pop(cid, [])]
            return [(f["event"], f["room"], f["user"]) for f in frames if f["type"] == "presence"]

    return Room()


def test_a_users_first_connection_in_a_room_is_a_join_for_the_others_only(room):
    room.connect("A", "alice")
    room.connect("B", "bob")  # ?room_id=lobby at $connect
    assert room.events("A") == [("join", "lobby", "bob")]
    assert room.events("B") == []  # never to the joining connection
    room.subscribe("A", "news")
    room.subscribe("B", "news")
    assert room.events("A") == [("join", "news", "bob")]
    assert room.events("B") == []


def test_a_second_connection_of_a_present_user_and_a_resubscribe_are_silent(room):
    room.connect("A", "alice")
    room.connect("B1", "bob")
    room.events("A")
    room.connect("B2", "bob")  # bob is in lobby already
    room.subscribe("B1", "lobby")  # B1 is in lobby already
    assert room.events("A") == []


def test_leave_only_when_the_users_last_connection_leaves(room):
    room.connect("A", "alice")
    room.connect("B1", "bob")
    room.connect("B2", "bob")
    room.events("A")
    room.unsubscribe("B1", "lobby")
    assert room.events("A") == []  # B2 is still there
    room.unsubscribe("B1", "lobby")  # not in it any more: no second leave
    room.unsubscribe("B1", "never-joined")
    assert room.events("A") == []
    room.disconnect("B2")
    assert room.events("A") == [("leave", "lobby", "bob")]


def test_disconnect_leaves_every_room_the_user_is_gone_from(room):
    room.connect("A", "alice")
    room.connect("B1", "bob")
    room.connect("B2", "bob", room_id=None)
    for room_id in ("news", "ops"):
        room.subscribe("A", room_id)
        room.subscribe("B1", room_id)
    room.subscribe("B2", "ops")  # bob stays in ops through B2
    room.events("A")
    room.disconnect("B1")
    assert room.events("A") == [("leave", "lobby", "bob"), ("leave", "news", "bob")]
    room.disconnect("B1")  # $disconnect again (idempotent): nothing more
    assert room.events("A") == []


def test_a_connection_found_gone_is_a_leave(room, table, endpoint):
    """A 410 found by a broadcast removes the connection and tells the room its user left;
    a 410 found while announcing that leave is cleaned up (and announced) the same way."""
    db, cfg = table
    for cid, user in (("A", "alice"), ("B", "bob"), ("C", "carol"), ("D", "dave")):
        room.connect(cid, user)
    for cid in "ABCD":
        room.events(cid)
    endpoint.script["C"] = [410]  # gone without $disconnect
    endpoint.script["D"] = [200, 410]  # takes the message, is gone by the leave
    event = load_event("sendmessage", connectionId="A")
    event["body"] = json.dumps({"action": "sendmessage", "data": "hi"})
    sendmessage.handle(event, db, endpoint.api(), cfg)
    assert room.events("A") == [("leave", "lobby", "carol"), ("leave", "lobby", "dave")]
    assert room.events("B") == [("leave", "lobby", "carol"), ("leave", "lobby", "dave")]
    assert {"C", "C|lobby", "D", "D|lobby"}.isdisjoint(table_items(db, cfg.table_name))


def test_rooms_over_the_cap_get_no_events(room, table, endpoint):
    db, cfg = table
    capped = type(cfg)(**{**cfg.__dict__, "presence_max_room": 2})
    for cid, user in (("A", "alice"), ("B", "bob")):
        room.connect(cid, user)
    room.events("A")
    # Two connections are within the cap of 2; three are over it.
    assert sorted(presence.audience(db, capped, "lobby") or []) == ["A", "B"]
    room.connect("C", "carol")
    room.events("A"), room.events("B")
    assert presence.audience(db, capped, "lobby") is None
    assert sorted(presence.audience(db, capped, "lobby", excluding="C") or []) == ["A", "B"]
    assert presence.join_audience(db, capped, "lobby", "dave", "D") == []
    assert room.events("A") == room.events("B") == room.events("C") == []


def test_no_events_without_a_poster(table, endpoint):
    """``presence.events: false``: the entry points pass no poster and nothing is posted."""
    db, cfg = table
    for cid, user in (("A", "alice"), ("B", "bob")):
        event = load_event("connect", connectionId=cid)
        event["requestContext"]["authorizer"].update(principalId=user, sub=user)
        connect.handle(event, db, cfg)
    disconnect.handle(load_event("disconnect", connectionId="B"), db, cfg)
    assert endpoint.posts == {}


def test_present_elsewhere_reads_memberships_not_connections(room, table):
    """Another connection of the user counts only if it is in that room and live."""
    db, cfg = table
    room.connect("B1", "bob")
    room.connect("B2", "bob", room_id="news")
    assert presence.present_elsewhere(db, cfg, "bob", "lobby", "B2")
    assert not presence.present_elsewhere(db, cfg, "bob", "lobby", "B1")
    assert not presence.present_elsewhere(db, cfg, "bob", "ops", "B1")
    assert not presence.present_elsewhere(db, cfg, "alice", "lobby", "B1")
