"""Running one invocation in its function's pool, and the log line it leaves.

Every path into a function (the authorizer and ``$connect`` during a handshake, a routed
message, ``$disconnect``) goes through one :class:`Invoker`, so every invocation is logged
the same way and in one place. The line is a dict (``namespace``, ``route``,
``connectionId``, ``status``, ``durationMs``, and ``cold`` or ``error`` when they apply);
:func:`print_log` renders it for ``realtime-socket dev``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from realtime_socket.local.gateway.actions import Invoke
from realtime_socket.local.lambdas import FunctionPool, Invocation

__all__ = ["Invoker", "Log", "print_log"]

#: Where log lines go: one dict per event.
Log = Callable[[dict[str, Any]], None]


class Invoker:
    """Runs an :class:`Invoke` in its function's pool and logs one line for it."""

    def __init__(self, pools: Mapping[str, FunctionPool], log: Log | None) -> None:
        self.pools = pools
        self.log = log

    def note(self, **fields: Any) -> None:
        if self.log is not None:
            self.log(fields)

    async def __call__(self, namespace: str, invoke: Invoke, cid: str) -> Invocation:
        result = await self.pools[invoke.function].invoke(invoke.event)
        status: Any = "error" if result.error else "ok"
        if isinstance(result.result, dict) and "statusCode" in result.result:
            status = result.result["statusCode"]
        self.note(
            namespace=namespace,
            route=invoke.route,
            connectionId=cid,
            status=status,
            durationMs=round(result.duration_ms, 1),
            **({"cold": True} if result.cold else {}),
            **({"error": result.error.get("errorType")} if result.error else {}),
        )
        return result


def print_log(stream: IO[str] = sys.stdout) -> Log:
    """One human-readable line per event."""

    def log(fields: dict[str, Any]) -> None:
        stamp = time.strftime("%H:%M:%S")
        ns = fields.pop("namespace", "-")
        route = fields.pop("route", "-")
        cid = fields.pop("connectionId", "-")
        status = fields.pop("status", "-")
        duration = fields.pop("durationMs", None)
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        took = f" {duration}ms" if duration is not None else ""
        print(
            f"{stamp} {ns} {route} {cid} {status}{took} {extra}".rstrip(), file=stream, flush=True
        )

    return log
