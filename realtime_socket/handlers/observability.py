"""One structured log line per event.

Every handler wraps its work in :func:`event_log`, which prints a single JSON object
(route, connection id, room, outcome, duration) when the event ends, however it ends.
Tokens never reach it: callers add only the fields listed here and short reasons.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from realtime_socket.handlers import events

__all__ = ["EventLog", "event_log"]


class EventLog:
    """Fields for the event's log line; handlers set ``room``, ``outcome`` and extras."""

    def __init__(self, route: str, connection_id: str) -> None:
        self.fields: dict[str, Any] = {
            "route": route,
            "connectionId": connection_id,
            "room": None,
            "outcome": "ok",
        }

    def set(self, **fields: Any) -> None:
        self.fields.update(fields)


@contextmanager
def event_log(event: events.Event, stream: TextIO | None = None) -> Iterator[EventLog]:
    """Yield an :class:`EventLog`, then write it as one JSON line with ``durationMs``."""
    log = EventLog(events.route_key(event), events.connection_id(event))
    started = time.perf_counter()
    try:
        yield log
    except Exception as exc:
        if log.fields["outcome"] == "ok":  # keep a refusal the handler already recorded
            log.set(outcome="error", error=type(exc).__name__)
        raise
    finally:
        log.fields["durationMs"] = round((time.perf_counter() - started) * 1000, 3)
        print(json.dumps(log.fields, default=str), file=stream or sys.stdout, flush=True)
