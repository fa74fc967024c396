"""What API Gateway knows about one connection, and the ids it makes up.

A connection id is 12 base64 characters ending in ``=``; handlers and backends treat it as
opaque, but a realistic shape catches code that assumes otherwise.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.model import LocalApi

__all__ = ["Connection", "ConnectionInfo", "new_connection_id"]


def new_connection_id() -> str:
    """An id shaped like API Gateway's (12 base64 characters ending in ``=``)."""
    return base64.b64encode(secrets.token_bytes(9)).decode()[:11] + "="


@dataclass
class ConnectionInfo:
    """The connection as events and ``@connections`` GET describe it."""

    connection_id: str
    api_id: str
    stage: str
    domain_name: str
    source_ip: str
    user_agent: str
    connected_at_ms: int
    last_active_ms: int
    #: The authorizer's context and ``principalId``, given to every later event.
    authorizer: dict[str, Any] = field(default_factory=dict)


@dataclass
class Connection:
    """One admitted connection: its description, its API, and its state."""

    info: ConnectionInfo
    api: LocalApi
    #: What ``$connect`` answered in ``Sec-WebSocket-Protocol``, if anything.
    subprotocol: str | None = None
    #: True from the handshake's completion until the socket is gone.
    open: bool = False
    #: Set when the gateway itself closes it (a timeout, a DELETE): ``$disconnect`` then
    #: reports this code and reason rather than the socket's.
    closed_by_gateway: Close | None = None

    @property
    def connection_id(self) -> str:
        return self.info.connection_id
