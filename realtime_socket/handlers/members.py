"""``members``: who is in a room, by verified user, with how many connections each.

``{"action":"members","room":R}`` is answered through the route response with
``{"type":"members","room":R,"members":[{"user":U,"connections":k},…]}``, sorted by user.
Only a connection in R may ask (else ``not_subscribed``); other errors: ``invalid_room``,
``invalid_frame``, ``not_connected``. A room whose list would not fit one 128 KB message
answers the users that fit, in order, with ``"truncated":true``.

The room index lists the room's memberships; their connection rows (BatchGetItem, eventually
consistent, 100 at a time) name the users. The cost grows with the room: a read unit per
eight rows.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from realtime_socket.contract import MAX_MESSAGE_BYTES, Table
from realtime_socket.handlers import clients, connections, events, expiry, protocol, settings
from realtime_socket.handlers.errors import BadRequest
from realtime_socket.handlers.observability import event_log
from realtime_socket.handlers.subscribe import requested_room

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["handle", "handler", "room_users"]


def room_users(client: DynamoDBClient, table: str, index: str, room: str) -> Counter[str]:
    """Live connections per user in ``room``: the room index, then the members' rows."""
    ids = connections.room_members(client, table, index, room)
    rows = connections.live_items(client, table, ids, [Table.USER_ID])
    return Counter(item[Table.USER_ID]["S"] for item in rows)


def _frame(room: str, users: Counter[str]) -> dict[str, Any]:
    """The members frame, cut to the users that fit one message."""
    members = [{"user": user, "connections": users[user]} for user in sorted(users)]
    frame: dict[str, Any] = {"type": "members", "room": room, "members": members}
    size = len(protocol.encode(frame))
    if size <= MAX_MESSAGE_BYTES:
        return frame
    kept: list[dict[str, Any]] = []
    budget = MAX_MESSAGE_BYTES - len(protocol.encode({**frame, "members": [], "truncated": True}))
    budget += 1  # each member is charged a separating comma, which the first has not
    for member in members:
        budget -= len(protocol.encode(member)) + 1
        if budget < 0:
            break
        kept.append(member)
    return {**frame, "members": kept, "truncated": True}


def handle(event: events.Event, client: Any, cfg: settings.Settings) -> dict[str, Any]:
    with event_log(event) as log:
        try:
            room = requested_room(events.body(event), "members")
            log.set(room=room)
            conn = connections.get(client, cfg.table_name, events.connection_id(event))
            if conn is None:
                raise BadRequest("not_connected", "connection not registered")
            if room not in conn.rooms:
                raise BadRequest("not_subscribed", "subscribe to the room to see its members")
        except BadRequest as exc:
            log.set(outcome="rejected", reason=exc.code)
            frame = protocol.error_frame(exc.code, exc.message)
        else:
            users = room_users(client, cfg.table_name, cfg.room_index, room)
            frame = _frame(room, users)
            log.set(users=len(users), connections=sum(users.values()))
        return events.response(200, protocol.encode(frame).decode())


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    return handle(event, clients.dynamodb(), settings.load())
