"""The local runtime: every WebSocket API the program declares, served on localhost.

Wires the pieces together: a WebSocket server (``websockets``) for the clients, the
``@connections`` HTTP API for the handlers and outside backends, an embedded DynamoDB/SSM
(moto's server) holding the tables and parameters as declared, and one pool of Lambda
execution environments per function. API Gateway's rules live in ``apigw`` (sans-I/O);
this module only moves bytes and keeps the connection registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import boto3
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime_socket.local import apigw
from realtime_socket.local.clock import Clock
from realtime_socket.local.lambdas import FunctionPool, Invocation
from realtime_socket.local.management import ManagementServer
from realtime_socket.local.model import LocalApi, LocalModel, LocalRoute, unsecret
from realtime_socket.local.moto_server import AwsApis
from realtime_socket.local.tables import create_table
from realtime_socket.local.throttle import TokenBucket
from realtime_socket.tools.stack_files import DEV_JWT_SECRET

__all__ = ["LocalRuntime", "RuntimeOptions"]

_LOCAL_REGION = "us-east-1"


@dataclass
class RuntimeOptions:
    """How the runtime behaves; the defaults are API Gateway's."""

    host: str = "127.0.0.1"
    port: int = 8080
    management_port: int = 0
    idle_timeout: float = 600.0
    max_duration: float = 7200.0
    reap_interval: float = 1.0
    clock: Clock = field(default_factory=Clock)
    max_workers: int = 4
    freeze: bool = True
    prewarm: bool = True
    #: API Gateway delivers $disconnect on a best-effort basis; tests turn it off to prove
    #: that stale rows are still cleaned up (by a broadcast's 410).
    deliver_disconnect: bool = True
    handler_output: IO[str] | int | None = None
    log: Callable[[dict[str, Any]], None] | None = None
    #: Chaos for tests: answer every Nth @connections post with a transient 429 (0: never),
    #: as API Gateway does when the account is throttled; a retry of it goes through.
    inject_post_throttle_every: int = 0


@dataclass
class _Connection:
    info: apigw.ConnectionInfo
    api: LocalApi
    socket: ServerConnection
    subprotocol: str | None = None
    open: bool = False
    close_code: int | None = None
    close_reason: str = ""


class LocalRuntime:
    """Serve a :class:`LocalModel`; ``await start()``, then ``await stop()``."""

    def __init__(self, model: LocalModel, options: RuntimeOptions | None = None) -> None:
        self.model = model
        self.options = options or RuntimeOptions()
        self.clock = self.options.clock
        self.connections: dict[str, _Connection] = {}
        self.pools: dict[str, FunctionPool] = {}
        self.buckets = {
            ns: TokenBucket(rate=api.rate_limit, burst=api.burst_limit, clock=self.clock)
            for ns, api in model.apis.items()
        }
        self._server: Server | None = None
        self._management: ManagementServer | None = None
        self._moto: AwsApis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = self.options.port
        self.aws_endpoint = ""
        self.dev_parameters: list[str] = []
        self.posts_attempted = 0
        self.posts_throttled = 0
        self._chaos_throttled: set[tuple[str, int]] = set()

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._start_moto)
        self._management = ManagementServer(self, self.options.host, self.options.management_port)
        await self._management.start()
        self._server = await serve(
            self._serve_connection,
            self.options.host,
            self.options.port,
            process_request=self._process_request,
            select_subprotocol=self._select_subprotocol,
            max_size=(apigw.MAX_MESSAGE_BYTES, apigw.MAX_FRAME_BYTES),
            write_limit=apigw.CLIENT_BUFFER_BYTES,
            ping_interval=None,  # API Gateway does not ping clients; its idle timeout applies
            logger=_quiet_logger(),
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
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
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
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
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local emulation's placeholder
            region_name=_LOCAL_REGION,
        )
        dynamodb = session.client("dynamodb", endpoint_url=self.aws_endpoint)
        for table in self.model.tables:
            create_table(dynamodb, table)
        ssm = session.client("ssm", endpoint_url=self.aws_endpoint)
        declared = set()
        for parameter in self.model.parameters:
            name = str(parameter.outputs.get("name"))
            declared.add(name)
            ssm.put_parameter(
                Name=name,
                Value=str(unsecret(parameter.inputs.get("value"))),
                Type="SecureString" if parameter.inputs.get("type") == "SecureString" else "String",
                Overwrite=True,
            )
        # An authorizer pointing at a parameter the program does not create (an existing
        # one on AWS) gets the development secret locally.
        for fn in self.model.functions.values():
            wanted = fn.environment.get("JWT_SECRET_PARAMETER")
            if wanted and wanted not in declared:
                name = wanted
                ssm.put_parameter(
                    Name=name, Value=DEV_JWT_SECRET, Type="SecureString", Overwrite=True
                )
                declared.add(name)
                self.dev_parameters.append(name)

    def _function_environment(self, declared: dict[str, str]) -> dict[str, str]:
        """The function's own variables with AWS endpoints swapped for local ones.

        Handlers read the same settings as on AWS; only the values differ. Every AWS SDK
        call goes to the embedded emulation (``AWS_ENDPOINT_URL``), never to AWS.
        """
        env = {k: self._localize(v) for k, v in declared.items()}
        env.update(
            PATH="/usr/bin:/bin",
            PYTHONDONTWRITEBYTECODE="1",
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - the local emulation's placeholder
            AWS_DEFAULT_REGION=_LOCAL_REGION,
            AWS_REGION=_LOCAL_REGION,
            AWS_ENDPOINT_URL=self.aws_endpoint,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_LAMBDA_RUNTIME_API="local",
        )
        return env

    def _localize(self, value: str) -> str:
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

    @property
    def management_port(self) -> int:
        assert self._management is not None
        return self._management.port

    def ws_url(self, namespace: str) -> str:
        return f"ws://{self.options.host}:{self.port}/{namespace}"

    def management_url(self, namespace: str) -> str:
        stage = self.model.apis[namespace].stage
        return f"http://{self.options.host}:{self.management_port}/{namespace}/{stage}"

    # -- logging -----------------------------------------------------------------------

    def _log(self, **fields: Any) -> None:
        if self.options.log is not None:
            self.options.log(fields)

    async def _invoke(
        self, api: LocalApi, function_name: str, route: str, event: dict[str, Any], cid: str
    ) -> Invocation:
        result = await self.pools[function_name].invoke(event)
        status: Any = "error" if result.error else "ok"
        if isinstance(result.result, dict) and "statusCode" in result.result:
            status = result.result["statusCode"]
        self._log(
            namespace=api.namespace,
            route=route,
            connectionId=cid,
            status=status,
            durationMs=round(result.duration_ms, 1),
            **({"cold": True} if result.cold else {}),
            **({"error": result.error.get("errorType")} if result.error else {}),
        )
        return result

    # -- the handshake -----------------------------------------------------------------

    async def _process_request(self, socket: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        segments = [s for s in parts.path.split("/") if s]
        api = self.model.apis.get(segments[0]) if segments else None
        if api is None or len(segments) > 2 or (len(segments) == 2 and segments[1] != api.stage):
            return _response(HTTPStatus.NOT_FOUND, "no WebSocket API at this path")
        if not self.buckets[api.namespace].take():
            return _response(HTTPStatus.TOO_MANY_REQUESTS, "Too Many Requests")
        headers = list(request.headers.raw_items())
        query = parse_qsl(parts.query, keep_blank_values=True)
        now_ms = self.clock.now_ms()
        peer = socket.remote_address[0] if socket.remote_address else "127.0.0.1"
        info = apigw.ConnectionInfo(
            connection_id=apigw.new_connection_id(),
            api_id=api.api_id,
            stage=api.stage,
            domain_name=f"{self.options.host}:{self.port}",
            source_ip=str(peer),
            user_agent=request.headers.get("User-Agent", ""),
            connected_at_ms=now_ms,
            last_active_ms=now_ms,
        )
        route = api.routes.get("$connect")
        authorizer = route.authorizer if route else None
        if authorizer is not None:
            missing = apigw.missing_identity_source(authorizer.identity_sources, headers, query)
            if missing:
                self._log(namespace=api.namespace, route="$connect", status=401,
                          reason=f"identity source {missing} missing")  # fmt: skip
                return _response(HTTPStatus.UNAUTHORIZED, "Unauthorized")
            method_arn = f"{api.execution_arn}/{api.stage}/$connect"
            event = apigw.authorizer_event(info, headers, query, now_ms, method_arn)
            outcome = await self._invoke(
                api, authorizer.function.name, "$connect(authorizer)", event, info.connection_id
            )
            decision = apigw.authorizer_decision(outcome.result, outcome.error, method_arn)
            if decision.status != 200:
                return _response(HTTPStatus(decision.status), HTTPStatus(decision.status).phrase)
            info.authorizer = {**(decision.context or {}), "principalId": decision.principal_id}
        connection = _Connection(info=info, api=api, socket=socket)
        if route is not None:
            event = apigw.connect_event(info, headers, query, now_ms)
            outcome = await self._invoke(
                api, route.function.name, "$connect", event, info.connection_id
            )
            if outcome.error is not None or not isinstance(outcome.result, dict):
                return _response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error")
            status = int(outcome.result.get("statusCode", 200))
            if not 200 <= status < 300:
                body = outcome.result.get("body") or HTTPStatus(status).phrase
                return _response(HTTPStatus(status), str(body))
            answer_headers = outcome.result.get("headers") or {}
            for key, value in answer_headers.items():
                if key.lower() == "sec-websocket-protocol":
                    connection.subprotocol = str(value)
        socket.rs_connection = connection  # type: ignore[attr-defined]
        return None

    def _select_subprotocol(self, socket: ServerConnection, offered: Any) -> Any:
        """Return ``Sec-WebSocket-Protocol`` only when ``$connect`` set it (and it was offered)."""
        connection: _Connection | None = getattr(socket, "rs_connection", None)
        if connection is not None and connection.subprotocol in offered:
            return connection.subprotocol
        return None

    # -- the connection ----------------------------------------------------------------

    async def _serve_connection(self, socket: ServerConnection) -> None:
        connection: _Connection = socket.rs_connection  # type: ignore[attr-defined]
        cid = connection.info.connection_id
        connection.open = True
        self.connections[cid] = connection
        try:
            async for message in socket:
                await self._on_message(connection, message)
        except ConnectionClosed:
            pass
        finally:
            connection.open = False
            self.connections.pop(cid, None)
            code = socket.close_code if socket.close_code is not None else 1006
            reason = connection.close_reason or (socket.close_reason or "")
            if self.options.deliver_disconnect:
                self._spawn(self._disconnect(connection, connection.close_code or code, reason))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _disconnect(self, connection: _Connection, code: int, reason: str) -> None:
        route = connection.api.routes.get("$disconnect")
        if route is None:
            return
        event = apigw.disconnect_event(connection.info, code, reason, self.clock.now_ms())
        await self._invoke(
            connection.api, route.function.name, "$disconnect", event,
            connection.info.connection_id,
        )  # fmt: skip

    async def _on_message(self, connection: _Connection, message: str | bytes) -> None:
        api, info = connection.api, connection.info
        info.last_active_ms = self.clock.now_ms()
        if not self.buckets[api.namespace].take():
            await connection.socket.send(apigw.throttled_frame(info))
            return
        key = apigw.select_route(api.route_selection_expression, message, list(api.routes))
        route: LocalRoute | None = api.routes.get(key) or api.routes.get("$default")
        if route is None:
            await connection.socket.send(
                json.dumps({"message": "Forbidden", "connectionId": info.connection_id})
            )
            return
        event = apigw.message_event(info, route.key, message, info.last_active_ms)
        outcome = await self._invoke(api, route.function.name, route.key, event, info.connection_id)
        with contextlib.suppress(ConnectionClosed):
            if outcome.error is not None:
                await connection.socket.send(apigw.internal_error_frame(info))
            elif route.reply and isinstance(outcome.result, dict) and "body" in outcome.result:
                await connection.socket.send(str(outcome.result["body"]))

    # -- timeouts ----------------------------------------------------------------------

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.reap_interval)
            await self.reap()

    async def reap(self) -> int:
        """Close connections past the idle timeout or the maximum duration; return how many."""
        now_ms = self.clock.now_ms()
        closed = 0
        for connection in list(self.connections.values()):
            idle = (now_ms - connection.info.last_active_ms) / 1000
            age = (now_ms - connection.info.connected_at_ms) / 1000
            if idle >= self.options.idle_timeout or age >= self.options.max_duration:
                connection.close_code = 1001
                connection.close_reason = "Going away"
                self._spawn(connection.socket.close(1001, "Going away"))
                closed += 1
        return closed

    # -- @connections (the management server calls these on the runtime's loop) ---------

    def _find(self, namespace: str, stage: str, cid: str) -> _Connection | None:
        connection = self.connections.get(cid)
        if connection is None or not connection.open:
            return None
        if connection.api.namespace != namespace or connection.api.stage != stage:
            return None  # another API's connection does not exist for this one
        return connection

    async def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> int:
        self.posts_attempted += 1
        every = self.options.inject_post_throttle_every
        if every and self.posts_attempted % every == 0:
            post = (cid, hash(data))
            if post not in self._chaos_throttled:  # transient: never the same post twice
                self._chaos_throttled.add(post)
                self.posts_throttled += 1
                return 429
        if len(data) > apigw.MAX_MESSAGE_BYTES:
            return 413
        connection = self._find(namespace, stage, cid)
        if connection is None:
            return 410
        if connection.socket.transport.get_write_buffer_size() > apigw.CLIENT_BUFFER_BYTES:
            self.posts_throttled += 1
            return 429  # the client is not reading: API Gateway's "buffer is full"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            await connection.socket.send(data)
        else:
            await connection.socket.send(text)
        return 200

    async def get_connection(self, namespace: str, stage: str, cid: str) -> dict[str, Any] | None:
        connection = self._find(namespace, stage, cid)
        if connection is None:
            return None
        info = connection.info
        return {
            "connectedAt": _iso(info.connected_at_ms),
            "lastActiveAt": _iso(info.last_active_ms),
            "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
        }

    async def delete_connection(self, namespace: str, stage: str, cid: str) -> int:
        connection = self._find(namespace, stage, cid)
        if connection is None:
            return 410
        connection.close_code = 1000
        connection.close_reason = "Connection deleted"
        await connection.socket.close(1000, "Connection deleted")
        return 204


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def _response(status: HTTPStatus, body: str) -> Response:
    payload = body.encode()
    headers = Headers(
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))]
    )
    return Response(status.value, status.phrase, headers, payload)


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("realtime_socket.local.websockets")
    logger.setLevel(logging.CRITICAL)
    return logger


def print_log(stream: IO[str] = sys.stdout) -> Callable[[dict[str, Any]], None]:
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
