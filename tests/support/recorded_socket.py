"""Readings of a recorded socket shared by the component tests: routes and policy statements."""

from __future__ import annotations

from typing import Any

from realtime_socket.tools.recording import Recording
from tests.support.helpers import policy_of

#: The built-in route keys, each with the name fragment of the function behind it.
ROUTES = {
    "$connect": "connect",
    "$disconnect": "disconnect",
    "$default": "default",
    "sendmessage": "sendmessage",
    "subscribe": "subscribe",
    "unsubscribe": "unsubscribe",
    "history": "history",
    "members": "members",
    "reply": "reply",
    "ping": "ping",
}


def statements_of(rec: Recording, role: str) -> dict[tuple[str, ...], Any]:
    """The statements of ``chat-<role>-policy``, as ``{actions: resources}`` (the resources
    of statements with the same actions, such as a Query on each index, in one list)."""
    merged: dict[tuple[str, ...], Any] = {}
    for statement in policy_of(rec, f"chat-{role}-policy")["Statement"]:
        merged.setdefault(tuple(statement["Action"]), []).extend(statement["Resource"])
    return merged


def arns_of(rec: Recording, role: str) -> tuple[str, str, str]:
    """The table's ARN, the API's execution ARN and the ARN of ``<role>``'s log group."""
    table = rec.named("chat-connections-table").outputs["arn"]
    execution = rec.named("chat-api").outputs["executionArn"]
    logs = rec.named(f"chat-{role}-logs").outputs["arn"]
    return table, execution, logs
