"""``reply``: a device answers a server request (:meth:`Publisher.request`).

``{"action":"reply","id":RID,"data":D}`` stores ``D`` as the answer to pending request
RID, if RID was sent to this connection and has no answer yet. Success sends nothing back
(the backend that asked gets the answer). Errors go back to the caller as error frames:
``unknown_request`` (RID is not a pending request addressed to this connection: never
sent, sent to another connection, answered already, or given up on), ``missing_data``,
``reply_too_large`` (``D`` encodes to more than ``MAX_REPLY_BYTES``), ``invalid_frame``.
"""

from __future__ import annotations

import json
from typing import Any

from realtime_socket.contract import MAX_REPLY_BYTES
from realtime_socket.handlers import (
    clients,
    events,
    expiry,
    fanout,
    protocol,
    requests,
    settings,
)
from realtime_socket.handlers.errors import BadRequest
from realtime_socket.handlers.observability import event_log

__all__ = ["handle", "handler", "parse_reply"]

_UNKNOWN = "no pending request with this id was sent to this connection"


def parse_reply(body: str | None) -> tuple[str, str]:
    """The request id and the answer's compact JSON text of a ``reply`` frame.

    Raises:
        BadRequest: ``invalid_frame``, ``unknown_request`` (no well-formed id),
            ``missing_data`` or ``reply_too_large``.
    """
    parsed = protocol.parse_action_body(body)
    if parsed is None:
        raise BadRequest("invalid_frame", "frames must be JSON objects")
    request_id = parsed.get("id")
    if not requests.is_request_id(request_id):
        raise BadRequest("unknown_request", _UNKNOWN)
    if "data" not in parsed:
        raise BadRequest("missing_data", 'reply needs a "data" field')
    data = json.dumps(parsed["data"], separators=(",", ":"), ensure_ascii=False)
    size = len(data.encode())
    if size > MAX_REPLY_BYTES:
        raise BadRequest(
            "reply_too_large", f"the reply's data is {size} bytes; the limit is {MAX_REPLY_BYTES}"
        )
    return str(request_id), data


def handle(
    event: events.Event, db: Any, api: fanout.ConnectionsApi, cfg: settings.Settings
) -> dict[str, Any]:
    with event_log(event) as log:
        caller = events.connection_id(event)
        try:
            request_id, data = parse_reply(events.body(event))
            log.set(request=request_id, bytes=len(data.encode()))
            if not requests.answer(db, cfg.table_name, request_id, caller, data):
                raise BadRequest("unknown_request", _UNKNOWN)
        except BadRequest as exc:
            log.set(outcome="rejected", reason=exc.code)
            api.post(caller, protocol.encode(protocol.error_frame(exc.code, exc.message)))
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
