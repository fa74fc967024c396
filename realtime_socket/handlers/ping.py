"""``ping``: answer ``{"type":"pong"}`` to the caller through the route response.

Clients ping to stay inside API Gateway's 10-minute idle timeout; the answer needs no
@connections call and no table access.
"""

from __future__ import annotations

from typing import Any

from realtime_socket.handlers import events, expiry, protocol
from realtime_socket.handlers.observability import event_log

__all__ = ["handler"]


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    with event_log(event):
        return events.response(200, protocol.encode({"type": "pong"}).decode())
