"""realtime-socket: room-based, JWT-authenticated WebSocket services on AWS, as a Pulumi component.

Usage::

    from realtime_socket import RealtimeSocket

    chat = RealtimeSocket("chat", {"jwt": {"issuer": "...", "audience": "...",
                                            "secret": config.require_secret("jwtSecret")}})
    pulumi.export("url", chat.url)

The package is layered; each layer is a subpackage:

- :mod:`realtime_socket.contract`: names and limits shared across every boundary;
- :mod:`realtime_socket.component`: the Pulumi component that ``pulumi up`` deploys;
- :mod:`realtime_socket.handlers`: the Lambda code (never imports pulumi);
- :mod:`realtime_socket.local`: ``realtime-socket dev``, API Gateway on localhost;
- :mod:`realtime_socket.tools`: the CLI, ``plan``, ``cost`` and the offline recorder.

The component's names below are imported on first use, so that importing
``realtime_socket.handlers`` inside Lambda (where pulumi is not installed) never loads pulumi.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Public name -> the module that defines it, imported on first use.
_HOMES = {
    "AccountLogging": "realtime_socket.component.account",
    "RealtimeSocket": "realtime_socket.component.socket",
}

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


def __getattr__(name: str) -> Any:
    """Load the component layer only when one of its names is asked for (PEP 562)."""
    if name in __all__:
        home = _HOMES.get(name, "realtime_socket.component.args")
        return getattr(importlib.import_module(home), name)
    raise AttributeError(f"module 'realtime_socket' has no attribute {name!r}")
