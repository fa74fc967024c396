"""``$disconnect``: delete the connection's row and its room memberships.

Idempotent: API Gateway delivers ``$disconnect`` on a best-effort basis, and a fan-out may
already have removed the row after a 410, so an unknown id is fine. When it is never
delivered, the next broadcast's 410 or DynamoDB's TTL removes what it would have. Each
room the user has no other connection in gets a presence ``leave`` (see ``presence.py``).
"""

from __future__ import annotations

from typing import Any

from realtime_socket.handlers import clients, connections, events, presence, settings
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.observability import event_log

__all__ = ["handle", "handler"]


def handle(
    event: events.Event, client: Any, cfg: settings.Settings, api: ConnectionsApi | None = None
) -> dict[str, Any]:
    """``api`` posts presence events (None: none are sent)."""
    with event_log(event) as log:
        ctx = event.get("requestContext") or {}
        log.set(
            disconnectStatusCode=ctx.get("disconnectStatusCode"),
            disconnectReason=ctx.get("disconnectReason"),
        )
        conn = connections.delete(client, cfg.table_name, events.connection_id(event))
        log.set(rooms=len(conn.rooms) if conn else 0)
        if conn is not None and api is not None:
            presence.left(client, api, cfg, conn.user_id, conn.rooms, conn.connection_id)
        return events.response(200)


def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    return handle(event, clients.dynamodb(), cfg, clients.presence_api(event, cfg))
