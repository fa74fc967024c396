"""One WebSocket connection and the answers it waits for.

The protocol has no request ids: ``subscribed``, ``unsubscribed``, ``members`` and
``history`` name their room, and an error frame names only its code. A :class:`Link`
therefore correlates an answer by type and room, and an error frame with the oldest call
waiting on that connection that can receive that code; anything else goes to the client's
``on_frame``. The client keeps one link, two while a proactive reconnect overlaps them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from realtime_socket.client.auth import Handshake
from realtime_socket.client.errors import (
    AuthenticationError,
    ConnectionLost,
    HandshakeRefused,
    ServerError,
)

__all__ = ["Link", "Waiter", "answer_to"]

logger = logging.getLogger("realtime_socket.client")

Frame = dict[str, Any]
#: Calls every frame that no waiter consumed.
OnFrame = Callable[["Link", Frame], None]


def answer_to(kind: str, room: str) -> Callable[[Frame], bool]:
    """Matches the answer ``{"type": kind, "room": room, …}``."""
    return lambda frame: frame.get("type") == kind and frame.get("room") == room


def _never(frame: Frame) -> bool:
    return False


@dataclass(eq=False)
class Waiter:
    """A call waiting on one link: for the frame ``match`` accepts, or an error whose code
    is in ``codes``."""

    match: Callable[[Frame], bool]
    codes: frozenset[str]
    future: asyncio.Future[Frame] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Link:
    """An open connection: a reader task feeds frames to waiters, then to ``on_frame``."""

    def __init__(
        self,
        ws: ClientConnection,
        on_frame: OnFrame,
        on_close: Callable[[Link], None],
        token: str = "",
    ) -> None:
        self.ws = ws
        self.token = token
        self.opened_at = asyncio.get_running_loop().time()
        #: Epoch seconds, to compare with the token's ``exp``.
        self.opened_wall = time.time()
        self.closed = asyncio.Event()
        #: Rooms this connection was subscribed to (by the client).
        self.rooms: set[str] = set()
        self._on_frame = on_frame
        self._on_close = on_close
        self._waiters: list[Waiter] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        handshake: Handshake,
        on_frame: OnFrame,
        on_close: Callable[[Link], None],
        *,
        open_timeout: float,
        keepalive: float | None,
    ) -> Link:
        """Connect. Raises :class:`HandshakeRefused` (:class:`AuthenticationError` for 401
        and 403) when the server answers with a status, ``OSError``, ``TimeoutError`` or a
        ``websockets`` exception when the network fails."""
        subprotocols = [Subprotocol(p) for p in handshake.subprotocols or []] or None
        try:
            ws = await connect(
                handshake.url,
                additional_headers=handshake.headers or None,
                subprotocols=subprotocols,
                open_timeout=open_timeout,
                ping_interval=keepalive,
                ping_timeout=keepalive,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            reason = exc.response.body.decode(errors="replace").strip() if exc.response.body else ""
            refused = AuthenticationError if status in (401, 403) else HandshakeRefused
            raise refused(status, reason) from exc
        return cls(ws, on_frame, on_close, handshake.token)

    @property
    def is_closed(self) -> bool:
        return self.closed.is_set()

    def age(self) -> float:
        return asyncio.get_running_loop().time() - self.opened_at

    # -- calls ------------------------------------------------------------------------------

    def expect(self, match: Callable[[Frame], bool] | None, codes: frozenset[str]) -> Waiter:
        """Register a waiter before sending, so an answer cannot slip past it."""
        waiter = Waiter(match or _never, codes)
        if self.is_closed:
            waiter.future.set_exception(ConnectionLost("the connection is closed"))
        self._waiters.append(waiter)
        return waiter

    def forget(self, waiter: Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if waiter.future.done() and not waiter.future.cancelled():
            waiter.future.exception()  # retrieved: no "exception never retrieved" warning

    async def send(self, frame: Frame) -> None:
        """Send one frame. Raises :class:`ConnectionLost` when the connection is gone."""
        if self.is_closed:
            raise ConnectionLost("the connection is closed")
        try:
            await self.ws.send(json.dumps(frame, separators=(",", ":")))
        except ConnectionClosed as exc:
            raise ConnectionLost(str(exc)) from exc

    async def call(
        self, frame: Frame, match: Callable[[Frame], bool], codes: frozenset[str], timeout: float
    ) -> Frame:
        """Send ``frame`` and return its answer. Raises :class:`ServerError` for an error
        frame, :class:`ConnectionLost`, or ``TimeoutError`` after ``timeout`` seconds."""
        waiter = self.expect(match, codes)
        try:
            await self.send(frame)
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        finally:
            self.forget(waiter)

    # -- reading ----------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    logger.warning("ignoring a frame that is not JSON: %.80r", raw)
                    continue
                if not isinstance(frame, dict):
                    continue
                if self._resolve(frame):
                    continue
                try:
                    self._on_frame(self, frame)
                except Exception:
                    logger.exception("handling frame %.200r failed", frame)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self._on_close(self)
            for waiter in self._waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(ConnectionLost("the connection closed"))

    def _resolve(self, frame: Frame) -> bool:
        """Hand ``frame`` to the first waiter that takes it; whether it was consumed
        (message frames never are: they are delivered too)."""
        if frame.get("type") == "error":
            code = str(frame.get("code", ""))
            for waiter in self._waiters:
                if code in waiter.codes and not waiter.future.done():
                    waiter.future.set_exception(ServerError(code, str(frame.get("message", ""))))
                    return True
            return False
        for waiter in self._waiters:
            if not waiter.future.done() and waiter.match(frame):
                waiter.future.set_result(frame)
                return frame.get("type") != "message"
        return False

    async def close(self) -> None:
        """Close with a close frame and wait for the reader to finish."""
        await self.ws.close()
        _, running = await asyncio.wait({self._reader}, timeout=5)
        for task in running:
            task.cancel()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (as a network failure would)."""
        transport = cast(Any, self.ws.transport)
        transport.abort()
