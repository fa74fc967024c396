"""Running one invocation in its function's pool, and the log line it leaves.

Every path into a function (the authorizer and ``$connect`` during a handshake, a routed
message, ``$disconnect``) goes through one :class:`Invoker`, so every invocation is logged
the same way and in one place. The line is a dict (``namespace``, ``route``,
``connectionId``, ``status``, ``durationMs``, and ``cold`` or ``error`` when they apply);
:func:`print_log` renders it for ``realtime-socket dev``.

What the functions themselves print and log goes to the runtime's ``handler_output``. For a
terminal, :func:`readable_output` gives a descriptor whose lines are copied as they are,
except the handlers' metrics (an EMF document each, see
:mod:`realtime_socket.handlers.metrics`), which read as one line in :func:`print_log`'s style:
``12:00:01 chat sendmessage metrics Delivered=14 Gone=0 Failed=0 Retries=0 ...``. A file
given as ``handler_output`` gets the documents untouched, as CloudWatch Logs would.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import IO, Any

from realtime_socket.contract import Metrics
from realtime_socket.local.gateway.actions import Invoke
from realtime_socket.local.lambdas import FunctionPool, Invocation

__all__ = ["Invoker", "Log", "metrics_line", "print_log", "readable_output"]

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


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def metrics_line(line: str) -> str | None:
    """The readable form of one EMF document (its metrics, then its dimensions other than
    the namespace, which leads the line); None for any other line."""
    if '"_aws"' not in line:  # the cheap test first: most lines are log records
        return None
    try:
        doc = json.loads(line)
        aws = doc["_aws"]
        stamp = time.strftime("%H:%M:%S", time.localtime(aws["Timestamp"] / 1000))
        directives = aws["CloudWatchMetrics"]
        names = [m["Name"] for d in directives for m in d["Metrics"]]
        dims = dict.fromkeys(n for d in directives for s in d["Dimensions"] for n in s)
    except (ValueError, TypeError, KeyError):
        return None
    dims.pop(Metrics.DIMENSION, None)
    fields = [f"{n}={_number(doc.get(n))}" for n in names] + [f"{d}={doc.get(d)}" for d in dims]
    ns, route = doc.get(Metrics.DIMENSION, "-"), doc.get("route", "-")
    return f"{stamp} {ns} {route} metrics {' '.join(fields)}"


def readable_output(stream: IO[str] | None = None) -> int:
    """A descriptor to pass as ``handler_output``: a thread copies every line written to it
    to ``stream`` (stderr by default), each EMF document as its :func:`metrics_line`.

    Every function process writes to it, so it stays open as long as the runtime; the
    thread is a daemon and ends when the last writer closes.
    """
    read_end, write_end = os.pipe()

    def copy() -> None:
        target = sys.stderr if stream is None else stream
        with open(read_end, encoding="utf-8", errors="replace") as source:
            for line in source:
                readable = metrics_line(line)
                target.write(line if readable is None else readable + "\n")
                target.flush()

    threading.Thread(target=copy, name="handler-output", daemon=True).start()
    return write_end
