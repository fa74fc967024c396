"""``sendmessage``: broadcast ``data`` to every connection in one of the sender's rooms.

The frame's ``room`` must be a room the sender's row in the table lists (else
``not_subscribed``); it may be left out when the sender is in exactly one room (else
``missing_room``). ``from`` is the subject the authorizer verified, never the frame's. The
message gets the room's next ``seq`` and, with history on, is stored before it is posted
(:mod:`~realtime_socket.handlers.messages`). Errors go back to the sender as error frames.
A room larger than one invocation's share is split across fan-out workers
(:mod:`~realtime_socket.handlers.split`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from realtime_socket.contract import MAX_MESSAGE_BYTES
from realtime_socket.handlers import (
    clients,
    connections,
    events,
    expiry,
    fanout,
    messages,
    metrics,
    presence,
    protocol,
    settings,
)
from realtime_socket.handlers.clients import management_endpoint
from realtime_socket.handlers.errors import BadRequest, NotConnected
from realtime_socket.handlers.observability import event_log
from realtime_socket.handlers.split import Share, split_broadcast

__all__ = [
    "handle",
    "handler",
    "invoker",
    "management_endpoint",
    "parse_message",
    "sequenced",
    "target_room",
]

_logger = logging.getLogger(__name__)


def target_room(parsed: dict[str, Any], sender: connections.Connection) -> str:
    """The room a ``sendmessage`` goes to: the frame's ``room``, which the sender must be
    in, or the sender's only room when the frame names none."""
    if "room" not in parsed:
        if len(sender.rooms) != 1:
            raise BadRequest(
                "missing_room",
                f'the connection is in {len(sender.rooms)} rooms: name one in "room"',
            )
        return next(iter(sender.rooms))
    room = protocol.frame_room(parsed)
    if room is None:
        raise BadRequest("invalid_room", "room must be 1-128 letters, digits and -_.:")
    if room not in sender.rooms:
        raise BadRequest("not_subscribed", "subscribe to the room before sending to it")
    return room


def _sized(frame: dict[str, Any]) -> bytes:
    encoded = protocol.encode(frame)
    if len(encoded) > MAX_MESSAGE_BYTES:
        raise BadRequest(
            "message_too_large",
            f"the message frame is {len(encoded)} bytes; the limit is {MAX_MESSAGE_BYTES}",
        )
    return encoded


def parse_message(body: str | None, sender: connections.Connection) -> tuple[str, Any]:
    """Validate the request; return the target room and the data.

    The frame is measured without its ``seq`` here, before any write; :func:`sequenced`
    measures it again with it.
    """
    parsed = protocol.parse_action_body(body)
    if parsed is None:
        raise BadRequest("invalid_frame", "frames must be JSON objects")
    if "data" not in parsed:
        raise BadRequest("missing_data", 'sendmessage needs a "data" field')
    room = target_room(parsed, sender)
    _sized(protocol.message_frame(room, sender.user_id, parsed["data"]))
    return room, parsed["data"]


def sequenced(
    db: Any, cfg: settings.Settings, room: str, sender: str, data: Any
) -> tuple[int, bytes]:
    """Give the message the room's next seq (storing it when history is on); the frame.

    Raises:
        BadRequest: ``message_too_large``, once the seq is in (before anything is stored);
            ``room_busy`` when other senders took the next seq first on every attempt
            (nothing stored, nothing sent: the client sends again).
    """
    try:
        return messages.append(
            db,
            cfg.history_table,
            room,
            lambda seq: _sized(protocol.message_frame(room, sender, data, seq)),
            cfg.history_retention_seconds,
        )
    except messages.Contention:
        raise BadRequest(
            "room_busy", "other messages kept taking the room's next seq: send again"
        ) from None


def handle(
    event: events.Event,
    db: Any,
    api: fanout.ConnectionsApi,
    cfg: settings.Settings,
    hand_off: Callable[[bytes], bool] | None = None,
) -> dict[str, Any]:
    with event_log(event) as log:
        caller = events.connection_id(event)
        try:
            try:
                sender = connections.claim_send(
                    db, cfg.table_name, caller, cfg.messages_per_second, cfg.message_burst
                )
            except connections.RateLimited:
                window = cfg.message_burst / cfg.messages_per_second
                message = f"at most {cfg.message_burst} messages per {window:g} s; slow down"
                raise BadRequest("rate_limited", message) from None
            if sender is None:
                raise NotConnected("connection not registered")
            room, data = parse_message(events.body(event), sender)
            log.set(room=room)
            seq, frame = sequenced(db, cfg, room, sender.user_id, data)
            log.set(seq=seq)
        except (BadRequest, NotConnected) as exc:
            code = exc.code
            message = exc.message if isinstance(exc, BadRequest) else str(exc)
            log.set(outcome="rejected", reason=code)
            metrics.refused("sendmessage", code)
            api.post(caller, protocol.encode(protocol.error_frame(code, message)))
            return events.response(200)
        members = connections.room_members(db, cfg.table_name, cfg.room_index, room)
        started = time.perf_counter()
        split = split_broadcast(
            members,
            Share(room, seq, api.endpoint, frame, []),
            api=api,
            on_gone=lambda ids: presence.remove_gone(db, api, cfg, ids, room=room),
            per_invocation=cfg.fanout_share,
            hand_off=hand_off,
        )
        result = split.result
        counts = result.counts()
        seconds = time.perf_counter() - started
        metrics.broadcast("sendmessage", counts, seconds=seconds, handoffs=split.workers)
        log.set(
            **counts,
            workers=split.workers,
            handed=split.handed,
            outcome="ok" if not result.failed and not split.incomplete else "partial",
        )
        return events.response(200)


def invoker(cfg: settings.Settings, client: Callable[[], Any]) -> Callable[[bytes], bool] | None:
    """Hands an encoded share to the fan-out worker (``Event``: no wait); None without one.

    ``client`` makes Lambda's client on the first hand-off: most rooms never need one, and
    a client costs tens of milliseconds to create.
    """
    if not cfg.fanout_function:
        return None

    def hand_off(payload: bytes) -> bool:
        try:
            client().invoke(
                FunctionName=cfg.fanout_function, InvocationType="Event", Payload=payload
            )
        except (BotoCoreError, ClientError) as exc:
            _logger.error(
                "handing a share to %s failed: %s",
                cfg.fanout_function,
                type(exc).__name__,
                extra={"event": "handoff_failed", "error": type(exc).__name__},
            )
            return False
        return True

    return hand_off


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    api = clients.connections_api_for(event, cfg)
    return handle(event, clients.dynamodb(), api, cfg, invoker(cfg, clients.lambda_))
