"""The deployable layer: the ``RealtimeSocket`` Pulumi component and what it is built from."""

from __future__ import annotations

from realtime_socket.component.account import AccountLogging
from realtime_socket.component.args import (
    DomainArgs,
    FunctionArgs,
    JwtArgs,
    LimitsArgs,
    MappingArgs,
    RealtimeSocketArgs,
    RouteArgs,
    TableArgs,
    ThrottlingArgs,
)
from realtime_socket.component.socket import RealtimeSocket

__all__ = [
    "AccountLogging",
    "DomainArgs",
    "FunctionArgs",
    "JwtArgs",
    "LimitsArgs",
    "MappingArgs",
    "RealtimeSocket",
    "RealtimeSocketArgs",
    "RouteArgs",
    "TableArgs",
    "ThrottlingArgs",
]
