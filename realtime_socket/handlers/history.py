"""``history``: replay a room's stored messages after a seq, for a client that reconnected.

``{"action":"history","room":R,"since":n}`` posts every stored message of R with
``seq > n``, oldest first, each with ``"replay":true``, then
``{"type":"history","room":R,"last_seq":m,"complete":c,"more":b}``: ``m`` is the seq of the
last message replayed (the room's last seq when none was), ``complete`` is false when
messages after ``n`` have left retention, ``more`` is true when ``history.max_replay``
cut the replay short (ask again with ``since`` = ``m``). Only a connection in R may ask:
else ``not_subscribed``. Other errors: ``invalid_room``, ``invalid_since`` (not a
non-negative integer), ``invalid_frame``, ``not_connected``.

The frames go one after another on the connection's keep-alive ``@connections`` posts, in
seq order.
"""

from __future__ import annotations

from typing import Any

from realtime_socket.handlers import (
    clients,
    connections,
    events,
    expiry,
    fanout,
    messages,
    protocol,
    settings,
)
from realtime_socket.handlers.errors import BadRequest
from realtime_socket.handlers.observability import event_log

__all__ = ["handle", "handler", "parse_history"]

#: Seqs are DynamoDB numbers; anything past this is no seq the table can hold.
_MAX_SEQ = 2**63 - 1


def parse_history(body: str | None) -> tuple[str, int]:
    """The room and ``since`` of a ``history`` frame.

    Raises:
        BadRequest: ``invalid_frame``, ``invalid_room`` or ``invalid_since``.
    """
    parsed = protocol.parse_action_body(body)
    if parsed is None:
        raise BadRequest("invalid_frame", "frames must be JSON objects")
    room = protocol.frame_room(parsed)
    if room is None:
        raise BadRequest("invalid_room", 'history needs a "room" of 1-128 letters, digits and -_.:')
    since = parsed.get("since", 0)
    if isinstance(since, bool) or not isinstance(since, int) or not 0 <= since <= _MAX_SEQ:
        raise BadRequest("invalid_since", '"since" must be a seq: an integer from 0')
    return room, since


def handle(
    event: events.Event, db: Any, api: fanout.ConnectionsApi, cfg: settings.Settings
) -> dict[str, Any]:
    with event_log(event) as log:
        caller = events.connection_id(event)
        try:
            room, since = parse_history(events.body(event))
            log.set(room=room, since=since)
            conn = connections.get(db, cfg.table_name, caller)
            if conn is None:
                raise BadRequest("not_connected", "connection not registered")
            if room not in conn.rooms:
                raise BadRequest(
                    "not_subscribed", "subscribe to the room before asking its history"
                )
        except BadRequest as exc:
            log.set(outcome="rejected", reason=exc.code)
            api.post(caller, protocol.encode(protocol.error_frame(exc.code, exc.message)))
            return events.response(200)
        found = messages.replay(db, cfg.history_table, room, since, cfg.history_max_replay)
        for sent, frame in enumerate(found.frames):
            if api.post(caller, frame) != fanout.OK:
                log.set(outcome="partial", replayed=sent)
                return events.response(200)  # gone or failing: the client asks again
        closing = {
            "type": "history",
            "room": room,
            "last_seq": found.last_seq,
            "complete": found.complete,
            "more": found.more,
        }
        api.post(caller, protocol.encode(closing))
        log.set(replayed=len(found.frames), last_seq=found.last_seq, complete=found.complete)
        return events.response(200)


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    return handle(
        event,
        clients.dynamodb(),
        clients.connections_api_for(event, cfg),
        cfg,
    )
