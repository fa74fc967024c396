"""The local runtime: every WebSocket API the program declares, served on localhost.

API Gateway's decisions live in ``local.gateway`` (sans-I/O); this module performs them:

- :class:`WebSocketEndpoint` serves the clients with ``websockets``: it feeds handshakes,
  frames and closes to the gateway core and carries out the actions it returns;
- :class:`Invoker` runs an invocation in the function's pool and logs it;
- :class:`LocalRuntime` is the lifecycle: the AWS emulation (moto's server, seeded with the
  declared tables and parameters), the ``@connections`` HTTP API (``management.py``), the
  WebSocket endpoint, one pool of Lambda environments per function, and the reaper.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import IO, Any

import boto3
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime_socket.contract import (
    IDLE_TIMEOUT_SECONDS,
    MAX_CONNECTION_SECONDS,
    MAX_FRAME_BYTES,
    MAX_MESSAGE_BYTES,
)
from realtime_socket.local.clock import Clock
from realtime_socket.local.gateway import handshake, routing
from realtime_socket.local.gateway.actions import Close, Invoke, Reject
from realtime_socket.local.gateway.chaos import PostChaos
from realtime_socket.local.gateway.connection import Connection
from realtime_socket.local.gateway.connections_api import CLIENT_BUFFER_BYTES
from realtime_socket.local.gateway.throttling import TokenBucket, stage_buckets
from realtime_socket.local.gateway.timeouts import Timeouts
from realtime_socket.local.lambdas import FunctionPool, Invocation
from realtime_socket.local.management import ManagementServer, RuntimeConnections
from realtime_socket.local.model import LocalModel
from realtime_socket.local.moto_server import AwsApis
from realtime_socket.local.tables import seed

__all__ = ["Invoker", "LocalRuntime", "RuntimeOptions", "WebSocketEndpoint", "print_log"]

_LOCAL_REGION = "us-east-1"
_LOCAL_KEY = "local"  # the AWS emulation's placeholder credentials
Log = Callable[[dict[str, Any]], None]


@dataclass
class RuntimeOptions:
    """How the runtime behaves; the defaults are API Gateway's."""

    host: str = "127.0.0.1"
    port: int = 8080
    management_port: int = 0
    idle_timeout: float = IDLE_TIMEOUT_SECONDS
    max_duration: float = MAX_CONNECTION_SECONDS
    reap_interval: float = 1.0
    clock: Clock = field(default_factory=Clock)
    max_workers: int = 4
    freeze: bool = True
    prewarm: bool = True
    #: API Gateway delivers $disconnect on a best-effort basis; tests turn it off to prove
    #: that stale rows are still cleaned up (by a broadcast's 410).
    deliver_disconnect: bool = True
    handler_output: IO[str] | int | None = None
    log: Log | None = None
    #: Chaos for tests: answer every Nth @connections post with a transient 429 (0: never),
    #: as API Gateway does when the account is throttled; a retry of it goes through.
    inject_post_throttle_every: int = 0


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


class _Session:
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
        self.sessions: dict[str, _Session] = {}
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
        socket.rs_session = _Session(connection, socket)  # type: ignore[attr-defined]
        return None

    def _select_subprotocol(self, socket: ServerConnection, offered: Any) -> Any:
        """Return ``Sec-WebSocket-Protocol`` only when ``$connect`` set it (and it was offered)."""
        session: _Session | None = getattr(socket, "rs_session", None)
        if session is not None and session.connection.subprotocol in offered:
            return session.connection.subprotocol
        return None

    # -- the connection ----------------------------------------------------------------

    async def _serve_connection(self, socket: ServerConnection) -> None:
        session: _Session = socket.rs_session  # type: ignore[attr-defined]
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

    async def _on_message(self, session: _Session, message: str | bytes) -> None:
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

    async def _close(self, session: _Session, close: Close) -> None:
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


class LocalRuntime:
    """Serve a :class:`LocalModel`; ``await start()``, then ``await stop()``."""

    def __init__(self, model: LocalModel, options: RuntimeOptions | None = None) -> None:
        self.model = model
        self.options = options or RuntimeOptions()
        self.clock = self.options.clock
        self.pools: dict[str, FunctionPool] = {}
        self.invoker = Invoker(self.pools, self.options.log)
        self.websocket = WebSocketEndpoint(
            model,
            self.invoker,
            clock=self.clock,
            timeouts=Timeouts(self.options.idle_timeout, self.options.max_duration),
            deliver_disconnect=self.options.deliver_disconnect,
        )
        self.connections_api = RuntimeConnections(
            self.websocket.sessions, PostChaos(self.options.inject_post_throttle_every)
        )
        self._management: ManagementServer | None = None
        self._moto: AwsApis | None = None
        self._reaper: asyncio.Task[None] | None = None
        self.aws_endpoint = ""
        self.dev_parameters: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await asyncio.to_thread(self._start_moto)
        self._management = ManagementServer(
            self.connections_api, self.options.host, self.options.management_port
        )
        await self._management.start()
        await self.websocket.start(self.options.host, self.options.port)
        for fn in self.model.functions.values():
            self.pools[fn.name] = FunctionPool(
                fn,
                self._function_environment(fn.environment),
                max_workers=self.options.max_workers,
                handler_output=self.options.handler_output,
                freeze=self.options.freeze,
            )
        if self.options.prewarm:
            await asyncio.gather(*(pool.prewarm() for pool in self.pools.values()))
        self._reaper = asyncio.create_task(self._reap_forever())

    async def stop(self) -> None:
        """Close every connection, stop every function and the local AWS APIs; idempotent."""
        if self._reaper:
            self._reaper.cancel()
        await self.websocket.stop()
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))
        if self._management:
            await self._management.stop()
            self._management = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def _start_moto(self) -> None:
        """DynamoDB and SSM as the program declares them, in moto's server on loopback."""
        self._moto = AwsApis(self.options.host)
        self._moto.start()
        self.aws_endpoint = self._moto.endpoint
        session = boto3.session.Session(
            aws_access_key_id=_LOCAL_KEY,
            aws_secret_access_key=_LOCAL_KEY,
            region_name=_LOCAL_REGION,
        )
        self.dev_parameters = seed(
            session.client("dynamodb", endpoint_url=self.aws_endpoint),
            session.client("ssm", endpoint_url=self.aws_endpoint),
            self.model,
        )

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.reap_interval)
            self.websocket.reap()

    async def reap(self) -> int:
        """Close connections past the idle timeout or the maximum duration; return how many."""
        return self.websocket.reap()

    # -- what the handlers see ---------------------------------------------------------

    def _function_environment(self, declared: Mapping[str, str]) -> dict[str, str]:
        """The function's own variables with AWS endpoints swapped for local ones.

        Handlers read the same settings as on AWS; only the values differ. Every AWS SDK
        call goes to the embedded emulation (``AWS_ENDPOINT_URL``), never to AWS.
        """
        env = {k: self._localize(v) for k, v in declared.items()}
        env.update(
            PATH="/usr/bin:/bin",
            PYTHONDONTWRITEBYTECODE="1",
            AWS_ACCESS_KEY_ID=_LOCAL_KEY,
            AWS_SECRET_ACCESS_KEY=_LOCAL_KEY,
            AWS_DEFAULT_REGION=_LOCAL_REGION,
            AWS_REGION=_LOCAL_REGION,
            AWS_ENDPOINT_URL=self.aws_endpoint,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_LAMBDA_RUNTIME_API="local",
        )
        return env

    def _localize(self, value: str) -> str:
        """Point API Gateway URLs of this program's APIs at the local endpoints."""
        for ns, api in self.model.apis.items():
            value = re.sub(
                rf"https://{re.escape(api.api_id)}\.execute-api\.[a-z0-9-]+\.amazonaws\.com",
                f"http://{self.options.host}:{self.management_port}/{ns}",
                value,
            )
            value = re.sub(
                rf"wss://{re.escape(api.api_id)}\.execute-api\.[a-z0-9-]+\.amazonaws\.com/[^/]+",
                self.ws_url(ns),
                value,
            )
        return value

    # -- addresses and counters ----------------------------------------------------------

    @property
    def port(self) -> int:
        return self.websocket.port or self.options.port

    @property
    def management_port(self) -> int:
        assert self._management is not None
        return self._management.port

    @property
    def connections(self) -> Mapping[str, _Session]:
        """Open connections by id."""
        return self.websocket.sessions

    @property
    def posts_throttled(self) -> int:
        """``@connections`` posts answered 429 (injected or for a full client buffer)."""
        return self.connections_api.posts_throttled

    def ws_url(self, namespace: str) -> str:
        return f"ws://{self.options.host}:{self.port}/{namespace}"

    def management_url(self, namespace: str) -> str:
        stage = self.model.apis[namespace].stage
        return f"http://{self.options.host}:{self.management_port}/{namespace}/{stage}"


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
