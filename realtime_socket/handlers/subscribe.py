"""``subscribe``: put the caller's connection in one more room.

``{"action":"subscribe","room":R}`` is answered through the route response with
``{"type":"subscribed","room":R,"seq":n}`` (n: the room's last seq, so the client knows
where its messages start, 0 before the first), or an error frame: ``invalid_room`` (not a room id),
``forbidden`` (``jwt.rooms_claim`` is set and the token's grants do not cover R),
``too_many_rooms`` (already in ``limits.max_rooms_per_connection`` other rooms),
``not_connected`` (the connection's row is gone). Subscribing to a room the connection is
already in succeeds again and changes nothing. When the room is new to the caller's user, R's
other connections get a presence ``join`` first (see ``presence.py``).
"""

from __future__ import annotations

import os
from typing import Any

from realtime_socket.contract import ROOM_GRANTS_CONTEXT_KEY
from realtime_socket.handlers import (
    clients,
    connections,
    events,
    expiry,
    messages,
    presence,
    protocol,
    rooms,
    settings,
)
from realtime_socket.handlers.connect import rooms_required
from realtime_socket.handlers.errors import BadRequest
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.observability import event_log

__all__ = ["handle", "handler", "requested_room"]


def requested_room(body: str | None, action: str) -> str:
    """The valid room id a ``subscribe``/``unsubscribe`` frame names.

    Raises:
        BadRequest: ``invalid_frame`` (not a JSON object) or ``invalid_room``.
    """
    parsed = protocol.parse_action_body(body)
    if parsed is None:
        raise BadRequest("invalid_frame", "frames must be JSON objects")
    room = protocol.frame_room(parsed)
    if room is None:
        raise BadRequest(
            "invalid_room", f'{action} needs a "room" of 1-128 letters, digits and -_.:'
        )
    return room


def _answer(frame: dict[str, Any]) -> dict[str, Any]:
    return events.response(200, protocol.encode(frame).decode())


def handle(
    event: events.Event,
    client: Any,
    cfg: settings.Settings,
    api: ConnectionsApi | None = None,
    *,
    check_rooms: bool = False,
) -> dict[str, Any]:
    """``api`` posts presence events (None: none are sent)."""
    caller = events.connection_id(event)
    told: list[str] = []  # who is to hear of the join, decided before the membership exists

    def decide_join(change: connections.RoomChange) -> None:
        if api is not None and change.changed:
            user = change.connection.user_id
            told.extend(presence.join_audience(client, cfg, change.room, user, caller))

    with event_log(event) as log:
        try:
            room = requested_room(events.body(event), "subscribe")
            log.set(room=room)
            if check_rooms:
                grants = rooms.decode(events.authorizer_context(event).get(ROOM_GRANTS_CONTEXT_KEY))
                if not rooms.allowed(room, grants):
                    raise BadRequest("forbidden", "the token does not grant this room")
            try:
                change = connections.subscribe(
                    client,
                    cfg.table_name,
                    caller,
                    room,
                    cfg.max_rooms_per_connection,
                    before_membership=decide_join,
                )
            except connections.TooManyRooms:
                raise BadRequest(
                    "too_many_rooms",
                    f"a connection may be in at most {cfg.max_rooms_per_connection} rooms; "
                    "unsubscribe from one first",
                ) from None
            if change is None:
                raise BadRequest("not_connected", "connection not registered")
        except BadRequest as exc:
            log.set(outcome="rejected", reason=exc.code)
            return _answer(protocol.error_frame(exc.code, exc.message))
        log.set(rooms=len(change.connection.rooms))
        if told and api is not None:
            user = change.connection.user_id
            presence.tell(client, api, cfg, told, room, presence.JOIN, user)
        seq = messages.last_seq(client, cfg.history_table, room)
        return _answer({"type": "subscribed", "room": room, "seq": seq})


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    return handle(
        event,
        clients.dynamodb(),
        cfg,
        clients.presence_api(event, cfg),
        check_rooms=rooms_required(os.environ),
    )
