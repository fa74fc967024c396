"""Fakes of the local runtime's I/O edges, shared by its unit tests."""

from __future__ import annotations

from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.gateway.connection import Connection


class FakePeer:
    """A client as the backend sees it: what it was sent, how it was closed."""

    def __init__(self, conn: Connection, buffered: int = 0) -> None:
        self.connection = conn
        self.buffered = buffered
        self.sent: list[str | bytes] = []
        self.closed: Close | None = None

    def buffered_bytes(self) -> int:
        return self.buffered

    async def send(self, payload: str | bytes) -> None:
        self.sent.append(payload)

    async def close(self, close: Close) -> None:
        self.closed = close
