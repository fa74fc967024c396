"""Small helpers for driving the local runtime with synchronous WebSocket clients."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect


def recv_json(
    ws: ClientConnection, timeout: float = 10, *, presence: bool = False
) -> dict[str, Any]:
    """The next frame, skipping presence frames unless ``presence``: they arrive whenever
    another client enters or leaves a room, and only the presence tests are about them."""
    deadline = time.monotonic() + timeout
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=max(0.0, deadline - time.monotonic())))
        if presence or frame.get("type") != "presence":
            return frame


def assert_silent(ws: ClientConnection, timeout: float = 0.5) -> None:
    """Nothing but presence frames arrives within ``timeout``."""
    with pytest.raises(TimeoutError):
        recv_json(ws, timeout)


def handshake_status(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, **kwargs)
    return refused.value.response.status_code


def send(ws: ClientConnection, frame: Any) -> None:
    ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))


def ask(ws: ClientConnection, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a frame and return the next one: for actions that answer their caller."""
    send(ws, frame)
    return recv_json(ws)
