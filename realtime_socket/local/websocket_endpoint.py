"""The clients' side of the local gateway: WebSocket connections served by ``websockets``.

API Gateway's decisions are sans-I/O in ``local.gateway``; this module is the I/O that performs
them, as python-websockets' ``asyncio/`` performs its ``protocol.py``. It feeds the core each
handshake (``gateway.handshake``), frame (``gateway.routing``) and close, runs the invocations
the core asks for through the :class:`~realtime_socket.local.invoker.Invoker`, and carries out
the answers: an HTTP response for a refused handshake, a frame back, a close. It also keeps the
open connections, which the ``@connections`` API acts on, and closes the ones past the core's
timeouts (``gateway.timeouts``) when asked to :meth:`~WebSocketEndpoint.reap`. Plain HTTP
requests on its port (the demo page, the development routes) are ``demo_site``'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime_socket.contract import MAX_FRAME_BYTES, MAX_MESSAGE_BYTES
from realtime_socket.local.clock import Clock
from realtime_socket.local.demo_site import DemoSite
from realtime_socket.local.gateway import handshake, routing
from realtime_socket.local.gateway.actions import Close, Invoke, Reject
from realtime_socket.local.gateway.connection import Connection
from realtime_socket.local.gateway.connections_api import CLIENT_BUFFER_BYTES
from realtime_socket.local.gateway.throttling import TokenBucket, stage_buckets
from realtime_socket.local.gateway.timeouts import Timeouts
from realtime_socket.local.invoker import Invoker
from realtime_socket.local.model import LocalModel

__all__ = ["Session", "WebSocketEndpoint"]


class Session:
    """One client: its socket and the gateway's record of it (a ``management.Peer``)."""

    def __init__(self, connection: Connection, socket: ServerConnection) -> None:
        self.connection = connection
        self.socket = socket

    def buffered_bytes(self) -> int:
        return self.socket.transport.get_write_buffer_size()

    async def send(self, payload: str | bytes) -> None:
        await self.socket.send(payload)

    async def close(self, close: Close) -> None:
        await self.socket.close(close.code, close.reason)


def _response(reject: Reject) -> Response:
    payload = reject.body.encode()
    headers = Headers(
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))]
    )
    try:
        phrase = HTTPStatus(reject.status).phrase
    except ValueError:
        phrase = ""
    return Response(reject.status, phrase, headers, payload)


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("realtime_socket.local.websockets")
    logger.setLevel(logging.CRITICAL)
    return logger


class WebSocketEndpoint:
    """The clients' side of the gateway, served by ``websockets``."""

    def __init__(
        self,
        model: LocalModel,
        invoker: Invoker,
        *,
        clock: Clock,
        timeouts: Timeouts,
        deliver_disconnect: bool = True,
    ) -> None:
        self.model = model
        self.invoker = invoker
        self.clock = clock
        self.timeouts = timeouts
        self.deliver_disconnect = deliver_disconnect
        self.buckets: dict[str, TokenBucket] = stage_buckets(model.apis, clock)
        self.sessions: dict[str, Session] = {}
        #: The demo page and development routes, for plain HTTP requests on this port.
        self.site = DemoSite(model, self.sessions, lambda s, c: self._spawn(self._close(s, c)))
        self.host = ""
        self.port = 0
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, host: str, port: int) -> None:
        self._server = await serve(
            self._serve_connection,
            host,
            port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            max_size=(MAX_MESSAGE_BYTES, MAX_FRAME_BYTES),
            write_limit=CLIENT_BUFFER_BYTES,
            ping_interval=None,  # API Gateway does not ping clients; its idle timeout applies
            logger=_quiet_logger(),
        )
        self.host = host
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        """Close every connection and wait for their ``$disconnect``; idempotent."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the handshake -----------------------------------------------------------------

    async def _process_request(self, socket: ServerConnection, request: Request) -> Response | None:
        peer = socket.remote_address[0] if socket.remote_address else "127.0.0.1"
        page = self.site.respond(request, str(peer))
        if page is not None:
            return page
        admitted = handshake.admit(
            handshake.HandshakeRequest(request.path, list(request.headers.raw_items()), str(peer)),
            self.model.apis,
            self.buckets,
            domain_name=f"{self.host}:{self.port}",
            now_ms=self.clock.now_ms(),
        )
        if isinstance(admitted, Reject):
            return _response(admitted)
        connection = admitted.connection
        action = admitted.start()
        while isinstance(action, Invoke):
            outcome = await self.invoker(connection.api.namespace, action, connection.connection_id)
            action = admitted.receive(outcome)
        if isinstance(action, Reject):
            if action.reason:
                self.invoker.note(namespace=connection.api.namespace, route="$connect",
                                  status=action.status, reason=action.reason)  # fmt: skip
            return _response(action)
        socket.rs_session = Session(connection, socket)  # type: ignore[attr-defined]
        return None

    def _select_subprotocol(self, socket: ServerConnection, offered: Any) -> Any:
        """Return ``Sec-WebSocket-Protocol`` only when ``$connect`` set it (and it was offered)."""
        session: Session | None = getattr(socket, "rs_session", None)
        if session is not None and session.connection.subprotocol in offered:
            return session.connection.subprotocol
        return None

    # -- the connection ----------------------------------------------------------------

    async def _serve_connection(self, socket: ServerConnection) -> None:
        session: Session = socket.rs_session  # type: ignore[attr-defined]
        connection = session.connection
        connection.open = True
        self.sessions[connection.connection_id] = session
        try:
            async for message in socket:
                await self._on_message(session, message)
        except ConnectionClosed:
            pass
        finally:
            connection.open = False
            self.sessions.pop(connection.connection_id, None)
            if self.deliver_disconnect:
                code = socket.close_code if socket.close_code is not None else 1006
                self._spawn(self._disconnect(connection, code, socket.close_reason or ""))

    async def _disconnect(self, connection: Connection, code: int, reason: str) -> None:
        action = routing.disconnect(connection, code, reason, self.clock.now_ms())
        if action is not None:
            await self.invoker(connection.api.namespace, action, connection.connection_id)

    async def _on_message(self, session: Session, message: str | bytes) -> None:
        connection = session.connection
        bucket = self.buckets[connection.api.namespace]
        action = routing.route(connection, message, self.clock.now_ms(), bucket)
        if isinstance(action, Close):
            await self._close(session, action)
            return
        if isinstance(action, Invoke):
            outcome = await self.invoker(connection.api.namespace, action, connection.connection_id)
            reply = routing.integration_response(connection, action, outcome)
            if reply is None:
                return
            action = reply
        with contextlib.suppress(ConnectionClosed):
            await session.send(action.frame)

    async def _close(self, session: Session, close: Close) -> None:
        session.connection.closed_by_gateway = close
        await session.close(close)

    # -- timeouts ----------------------------------------------------------------------

    def reap(self) -> int:
        """Close connections past the idle timeout or the maximum duration; return how many."""
        now_ms = self.clock.now_ms()
        closed = 0
        for session in list(self.sessions.values()):
            info = session.connection.info
            close = self.timeouts.expired(info.connected_at_ms, info.last_active_ms, now_ms)
            if close is not None:
                self._spawn(self._close(session, close))
                closed += 1
        return closed
