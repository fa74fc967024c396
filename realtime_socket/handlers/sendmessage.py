"""``sendmessage``: broadcast ``data`` to every connection in the sender's room.

The room comes from the sender's row in the table, never from the message, and ``from``
is the subject the authorizer verified. Errors go back to the sender as error frames.
"""

from __future__ import annotations

from typing import Any

from realtime_socket.contract import MAX_MESSAGE_BYTES
from realtime_socket.handlers import clients, connections, events, fanout, protocol, settings
from realtime_socket.handlers.errors import BadRequest, NotConnected
from realtime_socket.handlers.observability import event_log

__all__ = ["build_frame", "handle", "handler", "management_endpoint"]


def management_endpoint(event: events.Event, cfg: settings.Settings) -> str:
    """The @connections endpoint: configured by the component, else the event's own host."""
    if cfg.management_endpoint:
        return cfg.management_endpoint
    ctx = event.get("requestContext") or {}
    return f"https://{ctx.get('domainName')}/{ctx.get('stage')}"


def build_frame(body: str | None, sender: connections.Connection) -> bytes:
    """Validate the request and return the encoded broadcast frame."""
    parsed = protocol.parse_action_body(body)
    if parsed is None:
        raise BadRequest("invalid_frame", "frames must be JSON objects")
    if "data" not in parsed:
        raise BadRequest("missing_data", 'sendmessage needs a "data" field')
    frame = protocol.encode(protocol.message_frame(sender.room_id, sender.user_id, parsed["data"]))
    if len(frame) > MAX_MESSAGE_BYTES:
        raise BadRequest(
            "message_too_large",
            f"the message frame is {len(frame)} bytes; the limit is {MAX_MESSAGE_BYTES}",
        )
    return frame


def handle(
    event: events.Event,
    db: Any,
    api: fanout.ConnectionsApi,
    cfg: settings.Settings,
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
            log.set(room=sender.room_id)
            frame = build_frame(events.body(event), sender)
        except (BadRequest, NotConnected) as exc:
            code = exc.code
            message = exc.message if isinstance(exc, BadRequest) else str(exc)
            log.set(outcome="rejected", reason=code)
            api.post(caller, protocol.encode(protocol.error_frame(code, message)))
            return events.response(200)
        members = connections.room_members(db, cfg.table_name, cfg.room_index, sender.room_id)
        result = api.broadcast(
            members, frame, on_gone=lambda ids: connections.delete_many(db, cfg.table_name, ids)
        )
        log.set(
            delivered=result.delivered,
            gone=len(result.gone),
            failed=len(result.failed),
            retries=result.retries,
            outcome="ok" if not result.failed else "partial",
        )
        return events.response(200)


def handler(event: events.Event, context: object) -> dict[str, Any]:
    cfg = settings.load()
    return handle(
        event, clients.dynamodb(), clients.connections_api(management_endpoint(event, cfg)), cfg
    )
