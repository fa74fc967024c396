"""``unsubscribe``: take the caller's connection out of a room.

``{"action":"unsubscribe","room":R}`` is answered through the route response with
``{"type":"unsubscribed","room":R}``, also when the connection was not in R; errors:
``invalid_room`` (not a room id), ``not_connected`` (the connection's row is gone). When
the caller's user has no other connection left in R, R's connections get a presence
``leave`` (see ``presence.py``).
"""

from __future__ import annotations

from typing import Any

from realtime_socket.handlers import (
    clients,
    connections,
    events,
    expiry,
    presence,
    protocol,
    settings,
)
from realtime_socket.handlers.errors import BadRequest
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.observability import event_log
from realtime_socket.handlers.subscribe import requested_room

__all__ = ["handle", "handler"]


def handle(
    event: events.Event, client: Any, cfg: settings.Settings, api: ConnectionsApi | None = None
) -> dict[str, Any]:
    """``api`` posts presence events (None: none are sent)."""
    with event_log(event) as log:
        try:
            room = requested_room(events.body(event), "unsubscribe")
            log.set(room=room)
            change = connections.unsubscribe(
                client, cfg.table_name, events.connection_id(event), room
            )
            if change is None:
                raise BadRequest("not_connected", "connection not registered")
        except BadRequest as exc:
            log.set(outcome="rejected", reason=exc.code)
            frame = protocol.error_frame(exc.code, exc.message)
        else:
            log.set(rooms=len(change.connection.rooms))
            if change.changed and api is not None:
                presence.left(
                    client,
                    api,
                    cfg,
                    change.connection.user_id,
                    [room],
                    change.connection.connection_id,
                )
            frame = {"type": "unsubscribed", "room": room}
        return events.response(200, protocol.encode(frame).decode())


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    return handle(event, clients.dynamodb(), cfg, clients.presence_api(event, cfg))
