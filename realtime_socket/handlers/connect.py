"""``$connect``: validate the room (if any), check the token grants it, record the
connection, echo the subprotocol.

Runs after the authorizer allowed the token. ``?room_id=`` is optional: without it the
connection joins no room (it subscribes later); with it the connection joins that room
here, and when the room is new to the user its connections get a presence ``join`` (see
``presence.py``). A non-2xx answer makes API Gateway refuse the handshake with that status,
so a bad ``room_id`` is a 400, a room the token does not grant (when ``jwt.rooms_claim`` is
set) a 403, and nothing is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from realtime_socket.contract import ROOM_GRANTS_CONTEXT_KEY, SUBPROTOCOL, Env
from realtime_socket.handlers import (
    clients,
    connections,
    events,
    expiry,
    metrics,
    presence,
    protocol,
    rooms,
    settings,
)
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.observability import event_log

__all__ = ["handle", "handler", "rooms_required", "selected_subprotocol"]

_ROUTE = "$connect"


def selected_subprotocol(offered: str | None) -> str | None:
    """The subprotocol to answer with: ours if the client offered it.

    API Gateway returns ``Sec-WebSocket-Protocol`` only when ``$connect`` sets it, and a
    browser that offered protocols drops a handshake that selects none. The token offered
    beside it is never echoed.
    """
    if not offered:
        return None
    names = [part.strip() for part in offered.split(",")]
    return SUBPROTOCOL if SUBPROTOCOL in names else None


def rooms_required(environ: Mapping[str, str]) -> bool:
    """Whether tokens must grant the room (``jwt.rooms_claim`` is set): fails closed, so a
    connection whose authorizer context carries no grants then joins no room."""
    return bool(environ.get(Env.JWT_ROOMS_CLAIM))


def handle(
    event: events.Event,
    client: Any,
    cfg: settings.Settings,
    api: ConnectionsApi | None = None,
    *,
    check_rooms: bool = False,
) -> dict[str, Any]:
    """``api`` posts presence events (None: none are sent)."""
    with event_log(event) as log:
        room = events.query_param(event, "room_id")
        log.set(room=room)
        if room is not None:
            try:
                protocol.validate_room_id(room)
            except ValueError as exc:
                log.set(outcome="rejected", reason=str(exc))
                metrics.refused(_ROUTE, "invalid_room")
                return events.response(400, str(exc))
        origin = events.header(event, "Origin")
        if cfg.allowed_origins and origin is not None and origin not in cfg.allowed_origins:
            # Cross-site WebSocket hijacking: a page on another site opened this socket.
            log.set(outcome="rejected", reason="origin not allowed", origin=origin[:200])
            metrics.refused(_ROUTE, "origin_not_allowed")
            return events.response(403, "Origin not allowed")
        user = events.sender_sub(event)
        if not user:
            # Only reachable if the route is deployed without the authorizer.
            log.set(outcome="rejected", reason="no verified subject")
            metrics.refused(_ROUTE, "no_subject")
            return events.response(401, "Unauthorized")
        if check_rooms and room is not None:
            grants = rooms.decode(events.authorizer_context(event).get(ROOM_GRANTS_CONTEXT_KEY))
            if not rooms.allowed(room, grants):
                log.set(outcome="rejected", reason="room not granted by the token")
                metrics.refused(_ROUTE, "room_not_granted")
                return events.response(403, "room not granted by the token")
        if cfg.max_connections_per_user:
            live = connections.user_connection_count(client, cfg.table_name, cfg.user_index, user)
            if live >= cfg.max_connections_per_user:
                log.set(outcome="rejected", reason="too many connections for this user")
                metrics.refused(_ROUTE, "too_many_connections")
                return events.response(
                    429, f"at most {cfg.max_connections_per_user} connections per user"
                )
        caller = events.connection_id(event)
        # The join goes out before the row is written: a post that reaches a connection whose
        # $connect has written its row but not yet returned gets 410, and the clean-up would
        # delete the row of a connection about to open. Announcing first keeps that short.
        if api is not None and room is not None:
            targets = presence.join_audience(client, cfg, room, user, caller)
            presence.tell(client, api, cfg, targets, room, presence.JOIN, user)
        conn = connections.Connection(
            connection_id=caller,
            user_id=user,
            connected_at=int(time.time() * 1000),
            rooms=frozenset() if room is None else frozenset({room}),
        )
        connections.put(client, cfg.table_name, conn, cfg.ttl_seconds, expiry.token_expires(event))
        metrics.connected(_ROUTE)
        subprotocol = selected_subprotocol(events.header(event, "Sec-WebSocket-Protocol"))
        headers = {"Sec-WebSocket-Protocol": subprotocol} if subprotocol else None
        return events.response(200, headers=headers)


def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    return handle(
        event,
        clients.dynamodb(),
        cfg,
        clients.presence_api(event, cfg),
        check_rooms=rooms_required(os.environ),
    )
