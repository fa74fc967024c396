"""One structured log line per event, through the standard library's ``logging``.

Lambda's Python runtime formats stdlib log records itself: with ``log_format="JSON"`` every
record becomes one JSON object (``timestamp``, ``level``, ``message``, ``logger``,
``requestId``) with the record's ``extra`` fields beside them, and the local runtime's worker
writes the same format. So the handlers need no logging library and no formatter: they log
fields, the runtime adds the request id. Tokens never reach a log record: callers add only
the fields listed here and short reasons.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from realtime_socket.handlers import events

__all__ = ["LOGGER", "EventLog", "event_log"]

#: The parent of every handler module's logger.
LOGGER = logging.getLogger("realtime_socket.handlers")
if not os.environ.get("AWS_LAMBDA_LOG_LEVEL"):
    # Lambda sets the root logger's level only from the function's application log level
    # (JSON format); otherwise the root stays at WARNING and the per-event line would vanish.
    LOGGER.setLevel(logging.INFO)
# botocore's DEBUG lines carry request signatures, session tokens and response bodies (the
# JWT secret read from SSM among them): keep them out at any application log level.
logging.getLogger("botocore").setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))

_LEVELS = {"error": logging.ERROR, "partial": logging.WARNING}


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
def event_log(event: events.Event) -> Iterator[EventLog]:
    """Yield an :class:`EventLog`, then log it as one record with ``durationMs``.

    The level follows the outcome: ERROR for an exception, WARNING for a partial
    broadcast, INFO otherwise (refusals included: they are the client's doing).
    """
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
        outcome = log.fields["outcome"]
        LOGGER.log(
            _LEVELS.get(outcome, logging.INFO),
            "%s %s",
            log.fields["route"],
            outcome,
            extra=log.fields,
        )
