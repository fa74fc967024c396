"""``$default``: anything no route matched gets an error frame naming the actions we support."""

from __future__ import annotations

from typing import Any

from realtime_socket.handlers import events, expiry, protocol
from realtime_socket.handlers.observability import event_log

__all__ = ["classify", "handler"]


def classify(body: str | None) -> tuple[str, str]:
    """Return the error code and message for an unmatched frame."""
    supported = ", ".join(protocol.SUPPORTED_ACTIONS)
    parsed = protocol.parse_action_body(body)
    if parsed is None:
        return "invalid_frame", f"frames must be JSON objects with an action ({supported})"
    action = parsed.get("action")
    if action is None:
        return "missing_action", f"frame has no action; supported actions: {supported}"
    return "unknown_action", f"unknown action; supported actions: {supported}"


@expiry.refuse_expired
def handler(event: events.Event, context: object) -> dict[str, Any]:
    with event_log(event) as log:
        code, message = classify(events.body(event))
        log.set(outcome="rejected", reason=code)
        return events.response(200, protocol.encode(protocol.error_frame(code, message)).decode())
