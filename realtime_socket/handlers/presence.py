"""Presence events: a room's connections hear when a user enters it and when the user leaves.

``{"type":"presence","room":R,"event":"join","user":U}`` goes to R's other connections when
U's first connection enters R (``?room_id=`` at ``$connect``, or ``subscribe``), and
``"event":"leave"`` when U's last one leaves it (``unsubscribe``, ``$disconnect``, or the
clean-up of a connection that answered 410 Gone).

Whether U has another connection in R is read, never counted: the user index lists U's
connections and consistent BatchGetItems read their memberships of R, so a lost
``$disconnect`` cannot leave a counter wrong. A join is decided before the joining
membership is written, a leave after the leaving one is deleted: when two connections of one
user race, both may announce (a duplicate), never neither. Clients apply events as set
operations and treat ``members`` as the authority. The user index is eventually consistent:
a connection opened a moment before may not be listed yet.

A room with more than ``presence.max_room_for_events`` connections gets no events: each event
is one POST per connection, made inside the request that caused it. The room is read first:
an empty room, or one over the cap, needs no look at the user's other connections (a device
alone in its room, one of many connections of one service identity, costs one Query).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from realtime_socket.handlers import connections, protocol
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "JOIN",
    "LEAVE",
    "audience",
    "join_audience",
    "left",
    "present_elsewhere",
    "remove_gone",
    "tell",
]

JOIN, LEAVE = "join", "leave"

_logger = logging.getLogger(__name__)


def present_elsewhere(
    db: DynamoDBClient, cfg: Settings, user: str, room: str, connection_id: str | None
) -> bool:
    """Whether a live connection of ``user`` other than ``connection_id`` is in ``room``.

    Reads stop at the first live membership found, 100 at a time.
    """
    others = [
        cid
        for cid in connections.user_connections(db, cfg.table_name, cfg.user_index, user)
        if cid != connection_id
    ]
    keys = [connections.membership_key(cid, room) for cid in others]
    return any(connections.live_items(db, cfg.table_name, keys, (), consistent=True))


def audience(
    db: DynamoDBClient, cfg: Settings, room: str, excluding: str | None = None
) -> list[str] | None:
    """The connections in ``room`` but ``excluding``; None when they are more than
    ``presence_max_room`` (the room gets no events, and its index is read no further)."""
    targets: list[str] = []
    for cid in connections.room_members(db, cfg.table_name, cfg.room_index, room):
        if cid == excluding:
            continue
        if len(targets) == cfg.presence_max_room:
            _logger.info(
                "presence events skipped: room over %d connections",
                cfg.presence_max_room,
                extra={"event": "presence_skipped", "room": room},
            )
            return None
        targets.append(cid)
    return targets


def join_audience(
    db: DynamoDBClient, cfg: Settings, room: str, user: str, connection_id: str
) -> list[str]:
    """Who is to hear that ``user`` joined ``room`` with ``connection_id``: the room's other
    connections, or nobody when the user is there already (or the room is empty or over the
    cap: then the user's other connections are not even read). Call it before the joining
    membership is written."""
    targets = audience(db, cfg, room, excluding=connection_id)
    if not targets or present_elsewhere(db, cfg, user, room, connection_id):
        return []
    return targets


def tell(
    db: DynamoDBClient,
    api: ConnectionsApi,
    cfg: Settings,
    targets: list[str],
    room: str,
    event: str,
    user: str,
) -> int:
    """Post ``event`` about ``user`` in ``room`` to ``targets``; return the posts delivered.
    Those gone (410) are removed, and their own leaves told, by :func:`remove_gone`."""
    if not targets:
        return 0
    frame = protocol.encode({"type": "presence", "room": room, "event": event, "user": user})
    result = api.broadcast(
        targets, frame, on_gone=lambda gone: remove_gone(db, api, cfg, gone, room=room)
    )
    return result.delivered


def left(
    db: DynamoDBClient,
    api: ConnectionsApi,
    cfg: Settings,
    user: str,
    rooms: Iterable[str],
    connection_id: str | None = None,
) -> None:
    """Tell each of ``rooms`` (already left by ``connection_id``, or by connections already
    deleted) that ``user`` left, where no other connection of theirs remains."""
    for room in sorted(set(rooms)):
        targets = audience(db, cfg, room, excluding=connection_id)
        if targets and not present_elsewhere(db, cfg, user, room, connection_id):
            tell(db, api, cfg, targets, room, LEAVE, user)


def remove_gone(
    db: DynamoDBClient,
    api: ConnectionsApi | None,
    cfg: Settings,
    connection_ids: list[str],
    *,
    room: str | None = None,
) -> list[connections.Connection]:
    """Delete connections that answered 410 (rows and memberships) and, with presence on,
    announce their users' leaves; return the rows deleted.

    The leaves' own posts can find more 410s: those are removed the same way, each row once,
    since a deleted row is not deleted again.
    """
    deleted = connections.delete_many(db, cfg.table_name, connection_ids, room=room)
    if api is not None and cfg.presence_max_room:
        # One look per (user, room): a broadcast often finds several dead tabs of one user.
        rooms_by_user: dict[str, set[str]] = {}
        for conn in deleted:
            rooms_by_user.setdefault(conn.user_id, set()).update(conn.rooms)
        for user in sorted(rooms_by_user):
            left(db, api, cfg, user, rooms_by_user[user])
    return deleted
