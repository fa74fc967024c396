"""Token expiry: a connection lives no longer than the token it was opened with.

API Gateway verifies the token once, at ``$connect``, and keeps the connection for up to 2
hours whatever the token's ``exp``. The authorizer hands ``exp`` to every later event of
the connection (:data:`~realtime_socket.contract.TOKEN_EXPIRES_CONTEXT_KEY`), so:

- ``$connect`` ends the connection's rows at ``exp`` when that comes before the 2-hour cap;
  reads ignore expired rows, so an expired connection receives no more messages;
- every route's Lambda entry point is wrapped in :func:`refuse_expired`: a frame from an
  expired connection gets ``{"type":"error","code":"token_expired"}`` and the connection is
  closed with ``DELETE @connections`` (``$disconnect`` then removes its rows).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

from realtime_socket.contract import TOKEN_EXPIRES_CONTEXT_KEY
from realtime_socket.handlers import events, metrics, protocol, settings
from realtime_socket.handlers.observability import event_log

__all__ = ["close_expired", "refuse_expired", "token_expired", "token_expires"]

Handler = Callable[[events.Event, object], dict[str, Any]]


def token_expires(event: events.Event) -> int | None:
    """The connection's token ``exp`` (epoch seconds), or None when the context has none
    (a connection opened before this rule, or through a custom authorizer)."""
    value = events.authorizer_context(event).get(TOKEN_EXPIRES_CONTEXT_KEY)
    try:
        return None if value is None or isinstance(value, bool) else int(str(value))
    except ValueError:
        return None


def token_expired(event: events.Event, now: float | None = None) -> bool:
    """Whether the connection's token has expired."""
    expires = token_expires(event)
    return expires is not None and expires <= (time.time() if now is None else now)


def close_expired(event: events.Event, api: Any, management: Any) -> None:
    """Tell the connection its token expired, then close it (``DELETE @connections``)."""
    caller = events.connection_id(event)
    frame = protocol.error_frame("token_expired", "the token has expired: connect again")
    api.post(caller, protocol.encode(frame))
    with contextlib.suppress(management.exceptions.GoneException):  # already gone
        management.delete_connection(ConnectionId=caller)


def refuse_expired(handler: Handler) -> Handler:
    """Wrap a route's Lambda entry point: an expired connection's frame is refused and the
    connection closed, without running the route."""

    @functools.wraps(handler)
    def checked(event: events.Event, context: object) -> dict[str, Any]:
        if not token_expired(event):
            return handler(event, context)
        # Imported here, on the rare expired path: ping and $default stay free of boto3's
        # import time on a cold start (bench/coldstart.py).
        from realtime_socket.handlers import clients

        with event_log(event) as log:
            log.set(outcome="rejected", reason="token_expired")
            metrics.refused(events.route_key(event), "token_expired")
            cfg = settings.load()
            endpoint = clients.management_endpoint(event, cfg)
            close_expired(
                event, clients.connections_api_for(event, cfg), clients.management(endpoint)
            )
            return events.response(200)

    return checked
