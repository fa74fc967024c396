"""The ``@connections`` management API's answers: POST, GET and DELETE on a connection id.

A connection exists for an API only while it is open, and only on that API and stage:
an unknown, closed or other API's id is 410 ``GoneException``. A POST body over 128 KB is
413; a client that leaves more than 1 MB unread gets 429 ``LimitExceededException`` rather
than more data. GET describes the connection; DELETE closes it (1000) and answers 204.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from realtime_socket.contract import MAX_MESSAGE_BYTES
from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.gateway.connection import Connection

__all__ = [
    "CLIENT_BUFFER_BYTES",
    "DELETED",
    "Deleted",
    "Deliver",
    "Details",
    "Gone",
    "Throttled",
    "TooLarge",
    "delete",
    "get",
    "post",
    "reachable",
]

#: Data queued for a client that is not reading; past it, posts answer 429.
CLIENT_BUFFER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Deliver:
    """Send ``payload`` to the client (text when the body is UTF-8), then answer 200."""

    payload: str | bytes
    status: ClassVar[int] = 200


@dataclass(frozen=True)
class Details:
    """GET's answer: the connection's ``connectedAt``, ``lastActiveAt`` and identity."""

    body: dict[str, Any]
    status: ClassVar[int] = 200


@dataclass(frozen=True)
class Deleted:
    """Close the connection with ``close``, then answer 204."""

    close: Close
    status: ClassVar[int] = 204


@dataclass(frozen=True)
class Gone:
    status: ClassVar[int] = 410


@dataclass(frozen=True)
class TooLarge:
    status: ClassVar[int] = 413


@dataclass(frozen=True)
class Throttled:
    status: ClassVar[int] = 429


DELETED = Deleted(Close(1000, "Connection deleted"))


def reachable(connection: Connection | None, namespace: str, stage: str) -> Connection | None:
    """``connection`` if it is open on this API and stage; another API's does not exist."""
    if connection is None or not connection.open:
        return None
    if connection.api.namespace != namespace or connection.api.stage != stage:
        return None
    return connection


def post(
    connection: Connection | None,
    namespace: str,
    stage: str,
    body: bytes,
    *,
    buffered_bytes: int = 0,
    injected_throttle: bool = False,
) -> Deliver | Gone | TooLarge | Throttled:
    """POST ``body`` to ``connection``; ``buffered_bytes`` is what its client has not read."""
    if injected_throttle:
        return Throttled()
    if len(body) > MAX_MESSAGE_BYTES:
        return TooLarge()
    if reachable(connection, namespace, stage) is None:
        return Gone()
    if buffered_bytes > CLIENT_BUFFER_BYTES:
        return Throttled()  # the client is not reading: API Gateway's "buffer is full"
    try:
        return Deliver(body.decode("utf-8"))
    except UnicodeDecodeError:
        return Deliver(body)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def get(connection: Connection | None, namespace: str, stage: str) -> Details | Gone:
    """GET: the connection as API Gateway describes it."""
    found = reachable(connection, namespace, stage)
    if found is None:
        return Gone()
    info = found.info
    return Details(
        {
            "connectedAt": _iso(info.connected_at_ms),
            "lastActiveAt": _iso(info.last_active_ms),
            "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
        }
    )


def delete(connection: Connection | None, namespace: str, stage: str) -> Deleted | Gone:
    """DELETE: close the connection (1000)."""
    return DELETED if reachable(connection, namespace, stage) is not None else Gone()
