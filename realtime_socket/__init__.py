"""realtime-socket: room-based, JWT-authenticated WebSocket services on AWS, as a Pulumi component.

Usage::

    from realtime_socket import RealtimeSocket

    chat = RealtimeSocket("chat", {"jwt": {"issuer": "...", "audience": "...",
                                            "secret": config.require_secret("jwtSecret")}})
    pulumi.export("url", chat.url)
"""

from __future__ import annotations

from realtime_socket.account import AccountLogging
from realtime_socket.args import (
    DomainArgs,
    FunctionArgs,
    JwtArgs,
    MappingArgs,
    RealtimeSocketArgs,
    RouteArgs,
    TableArgs,
    ThrottlingArgs,
)
from realtime_socket.component import RealtimeSocket

__all__ = [
    "AccountLogging",
    "DomainArgs",
    "FunctionArgs",
    "JwtArgs",
    "MappingArgs",
    "RealtimeSocket",
    "RealtimeSocketArgs",
    "RouteArgs",
    "TableArgs",
    "ThrottlingArgs",
]
