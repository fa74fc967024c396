"""The fan-out worker: posts one share of a big room's broadcast, cleans its 410s.

Invoked only by ``sendmessage``, asynchronously (:mod:`~realtime_socket.handlers.split`).
Failed posts (after the engine's three attempts) are counted and logged, not raised: a raise
makes Lambda run the whole share again, which would repeat it to every member already
reached. What does raise (a share that is not one, the table unreachable during the clean-up)
is retried by Lambda's asynchronous retries, up to twice, with the same message ``id`` and
``seq``, which clients drop when they have it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from realtime_socket.handlers import clients, fanout, metrics, presence, settings
from realtime_socket.handlers.observability import LOGGER
from realtime_socket.handlers.split import parse_share

__all__ = ["handle", "handler"]

_LEVELS = {"ok": logging.INFO, "partial": logging.WARNING}


def handle(
    event: Any,
    db: Any,
    api_for: Any,
    cfg: settings.Settings,
) -> dict[str, Any]:
    """Post the share; return (and log) what became of it."""
    started = time.perf_counter()
    try:
        share = parse_share(event)
    except ValueError as exc:
        # Lambda would retry a raise twice with the same event: refuse it once, loudly.
        LOGGER.error(
            "fanout-worker refused an event that is not a share: %s",
            exc,
            extra={"route": "fanout-worker", "outcome": "error", "reason": "invalid_share"},
        )
        return {"targets": 0, "delivered": 0, "gone": 0, "failed": 0}
    if not cfg.management_endpoint:
        # Only the component's own endpoint is ever signed for: never a URL an event names.
        raise RuntimeError("MANAGEMENT_ENDPOINT is not set: the worker posts nowhere else")
    api: fanout.ConnectionsApi = api_for(cfg.management_endpoint)
    posting = time.perf_counter()
    result = api.broadcast(
        share.targets,
        share.frame,
        on_gone=lambda ids: presence.remove_gone(db, api, cfg, ids, room=share.room),
    )
    counts = result.counts()
    metrics.broadcast("fanout-worker", counts, seconds=time.perf_counter() - posting)
    outcome = "ok" if not result.failed else "partial"
    fields: dict[str, Any] = {
        "route": "fanout-worker",
        "room": share.room,
        "seq": share.seq,
        "targets": len(share.targets),
        **counts,
        "outcome": outcome,
        "durationMs": round((time.perf_counter() - started) * 1000, 3),
    }
    LOGGER.log(_LEVELS[outcome], "fanout-worker %s", outcome, extra=fields)
    return {k: fields[k] for k in ("targets", "delivered", "gone", "failed")}


def handler(event: Any, context: object) -> dict[str, Any]:
    return handle(event, clients.dynamodb(), clients.connections_api, settings.load())
