"""The local runtime's lifecycle: every WebSocket API the program declares, on localhost.

:class:`LocalRuntime` owns what lives as long as the runtime and wires the parts together:
the AWS emulation (moto's server, seeded with the declared tables and parameters), the
``@connections`` HTTP API (``management.py``) with Lambda's Invoke API on the same port
(``lambda_api.py``), the WebSocket endpoint
(``websocket_endpoint.py``), one pool of Lambda environments per function (``lambdas.py``)
behind the :class:`~realtime_socket.local.invoker.Invoker`, and the reaper that closes
timed-out connections. It also decides what the handlers see: their declared environment
with AWS's endpoints swapped for the local ones. :class:`RuntimeOptions` is how it behaves.

API Gateway's decisions are not here: they live sans-I/O in ``local.gateway``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import boto3

from realtime_socket.contract import (
    DEFAULT_HISTORY_RETENTION_SECONDS,
    IDLE_TIMEOUT_SECONDS,
    MAX_CONNECTION_SECONDS,
    Env,
)
from realtime_socket.local.clock import Clock
from realtime_socket.local.gateway.chaos import PostChaos
from realtime_socket.local.gateway.timeouts import Timeouts
from realtime_socket.local.invoker import Invoker, Log, print_log
from realtime_socket.local.lambda_api import DEFAULT_RETRY_DELAYS, LambdaApi
from realtime_socket.local.lambdas import FunctionPool
from realtime_socket.local.management import ManagementServer, RuntimeConnections
from realtime_socket.local.model import LocalModel
from realtime_socket.local.moto_server import AwsApis
from realtime_socket.local.tables import seed
from realtime_socket.local.websocket_endpoint import Session, WebSocketEndpoint
from realtime_socket.tools.recorded import DEFAULT_ACCOUNT, DEFAULT_REGION

# print_log lives in invoker.py; it is re-exported because ``realtime-socket dev`` imports it
# from here.
__all__ = ["LocalRuntime", "RuntimeOptions", "print_log"]

_LOCAL_REGION = "us-east-1"
_LOCAL_KEY = "local"  # the AWS emulation's placeholder credentials


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
    #: Start one environment per function at start-up, so first events skip the cold start.
    prewarm: bool = True
    #: Whether :meth:`LocalRuntime.start` waits for all of that. ``realtime-socket dev`` does
    #: not: it serves once its ports listen and its tables are seeded, and warms the functions
    #: in the background, those a handshake runs (authorizers, ``$connect``) first. An event
    #: that comes before its function is warm waits for a cold start, as on Lambda.
    wait_for_prewarm: bool = True
    #: API Gateway delivers $disconnect on a best-effort basis; tests turn it off to prove
    #: that stale rows are still cleaned up (by a broadcast's 410).
    deliver_disconnect: bool = True
    handler_output: IO[str] | int | None = None
    log: Log | None = None
    #: Chaos for tests: answer every Nth @connections post with a transient 429 (0: never),
    #: as API Gateway does when the account is throttled; a retry of it goes through.
    inject_post_throttle_every: int = 0
    #: Seconds before each retry of a failed ``Event`` invocation (Lambda: about 1 and 2
    #: minutes); tests shorten them.
    async_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS


def _report_prewarm_failure(done: asyncio.Future[Any]) -> None:
    """A background warm-up that failed is said, not left to the garbage collector: its
    function still starts on first use (or reports its own error then)."""
    if not done.cancelled() and done.exception() is not None:
        error = done.exception()
        line = {"event": "prewarm failed", "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(line), file=sys.stderr, flush=True)


class LocalRuntime:
    """Serve a :class:`LocalModel`; ``await start()``, then ``await stop()``."""

    def __init__(
        self, model: LocalModel, options: RuntimeOptions | None = None, aws: AwsApis | None = None
    ) -> None:
        """``aws``: an emulation already launched (``AwsApis.launch``), to overlap its start
        with the caller's work; the runtime owns and stops it from then on."""
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
        region, account = self._program_region_and_account()
        self.lambda_api = LambdaApi(
            model.functions,
            self.pools,
            region=region,
            account=account,
            log=self.options.log,
            retry_delays=self.options.async_retry_delays,
        )
        self._management: ManagementServer | None = None
        self._moto: AwsApis | None = aws
        self._starting_aws: asyncio.Future[None] | None = None
        self._stopping = False
        self._reaper: asyncio.Task[None] | None = None
        self._prewarming: asyncio.Future[Any] | None = None
        self.aws_endpoint = ""
        self.dev_parameters: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        # Kept: stop() joins it, so a runtime stopped while moto boots leaves no thread
        # waiting on a process it killed.
        self._starting_aws = asyncio.ensure_future(asyncio.to_thread(self._start_moto))
        await self._starting_aws
        self._management = ManagementServer(
            self.connections_api,
            self.options.host,
            self.options.management_port,
            routes=self.lambda_api.routes(),
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
            if self.options.wait_for_prewarm:
                self._prewarming = asyncio.gather(*(p.prewarm() for p in self.pools.values()))
                await self._prewarming
            else:
                handshake, rest = self._handshake_pools()
                queue = handshake + rest
                self._prewarming = asyncio.ensure_future(self._prewarm_in_background(queue))
                self._prewarming.add_done_callback(_report_prewarm_failure)
        self._reaper = asyncio.create_task(self._reap_forever())

    def _handshake_pools(self) -> tuple[list[FunctionPool], list[FunctionPool]]:
        """The pools every handshake runs (authorizers and ``$connect``), and the others."""
        first: list[str] = []
        for api in self.model.apis.values():
            if api.connect_authorizer is not None:
                first.append(api.connect_authorizer.function.name)
            if "$connect" in api.routes:
                first.append(api.routes["$connect"].function.name)
        handshake = [self.pools[name] for name in dict.fromkeys(first) if name in self.pools]
        rest = [pool for name, pool in self.pools.items() if name not in first]
        return handshake, rest

    async def _prewarm_in_background(self, queue: list[FunctionPool], at_once: int = 2) -> None:
        """Warm ``queue`` after :meth:`start` returned, ``at_once`` at a time (one per core
        here): a burst of 20 interpreters importing boto3 would hold up the very requests it
        is meant to speed up."""

        async def warm() -> None:
            while queue:
                await queue.pop(0).prewarm()

        await asyncio.gather(*(warm() for _ in range(at_once)))

    async def stop(self) -> None:
        """Close every connection, stop every function and the local AWS APIs; idempotent."""
        self._stopping = True
        if self._reaper:
            self._reaper.cancel()
        if self._prewarming is not None and not self._prewarming.done():
            self._prewarming.cancel()
            await asyncio.gather(self._prewarming, return_exceptions=True)
        await self.websocket.stop()
        await self.lambda_api.close()  # before the pools its invocations run in
        await asyncio.gather(*(pool.close() for pool in self.pools.values()))
        if self._management:
            await self._management.stop()
            self._management = None
        if self._moto is not None:
            self._moto.stop()  # a start still waiting for it gives up
            self._moto = None
        if self._starting_aws is not None:
            await asyncio.gather(self._starting_aws, return_exceptions=True)

    def _program_region_and_account(self) -> tuple[str, str]:
        """Where the program's ARNs say its resources live (its APIs' execution ARNs), so an
        ARN a handler builds from them names a declared function."""
        for api in self.model.apis.values():
            parts = api.execution_arn.split(":")
            if len(parts) >= 5 and parts[3] and parts[4]:
                return parts[3], parts[4]
        return DEFAULT_REGION, DEFAULT_ACCOUNT

    def _start_moto(self) -> None:
        """DynamoDB and SSM as the program declares them, in moto's server on loopback.

        The seeding's clients are made while moto boots (a quarter of a second here).
        """
        if self._stopping:
            raise RuntimeError("the runtime was stopped before the AWS emulation started")
        moto = self._moto
        if moto is None:
            moto = self._moto = AwsApis(self.options.host)
        if not moto.endpoint:
            moto.launch()
        session = boto3.session.Session(
            aws_access_key_id=_LOCAL_KEY,
            aws_secret_access_key=_LOCAL_KEY,
            region_name=_LOCAL_REGION,
        )

        def clients(endpoint: str) -> tuple[Any, Any]:
            return (
                session.client("dynamodb", endpoint_url=endpoint),
                session.client("ssm", endpoint_url=endpoint),
            )

        launched = moto.endpoint
        dynamodb, ssm = clients(launched)
        moto.start()  # raises if stop() came first
        self.aws_endpoint = moto.endpoint
        if self.aws_endpoint != launched:  # relaunched on another port (it was taken)
            dynamodb, ssm = clients(self.aws_endpoint)
        self.dev_parameters = seed(dynamodb, ssm, self.model)

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
        call goes to the embedded emulation (``AWS_ENDPOINT_URL``), never to AWS, except
        Lambda's Invoke, which the runtime serves itself (``AWS_ENDPOINT_URL_LAMBDA``; botocore
        prefers a service's own variable to the general one).
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
            AWS_ENDPOINT_URL_LAMBDA=self.lambda_endpoint,
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
    def connections(self) -> Mapping[str, Session]:
        """Open connections by id."""
        return self.websocket.sessions

    @property
    def posts_throttled(self) -> int:
        """``@connections`` posts answered 429 (injected or for a full client buffer)."""
        return self.connections_api.posts_throttled

    @property
    def lambda_endpoint(self) -> str:
        """Lambda's Invoke API for the declared functions (the management server's port)."""
        return f"http://{self.options.host}:{self.management_port}"

    def ws_url(self, namespace: str) -> str:
        return f"ws://{self.options.host}:{self.port}/{namespace}"

    def management_url(self, namespace: str) -> str:
        stage = self.model.apis[namespace].stage
        return f"http://{self.options.host}:{self.management_port}/{namespace}/{stage}"

    def table_name(self, namespace: str) -> str:
        """The namespace's connections table: the one its ``$connect`` function writes."""
        routes = sorted(
            self.model.apis[namespace].routes.values(), key=lambda r: (r.key != "$connect", r.key)
        )
        names = (r.function.environment.get(Env.TABLE_NAME) for r in routes)
        return next((name for name in names if name), "")

    def history(self, namespace: str) -> tuple[str, int]:
        """The namespace's history table and retention, as its route functions are told
        (``""`` for an API whose functions have none)."""
        for route in self.model.apis[namespace].routes.values():
            env = route.function.environment
            if env.get(Env.HISTORY_TABLE_NAME):
                retention = env.get(Env.HISTORY_RETENTION_SECONDS)
                return env[Env.HISTORY_TABLE_NAME], int(
                    retention or DEFAULT_HISTORY_RETENTION_SECONDS
                )
        return "", DEFAULT_HISTORY_RETENTION_SECONDS

    def endpoints(self) -> dict[str, Any]:
        """Where a running runtime is reached, as JSON: ``realtime-socket dev`` announces it.

        ``namespaces`` has the shape of the stack's outputs (``pulumi stack output --json``):
        namespace -> ``url``, ``management_endpoint``, ``table_name``, ``history_table_name``,
        ``history_retention_seconds``. ``aws_endpoint`` and
        ``region`` are the AWS emulation's, where those tables live; ``lambda_endpoint``
        invokes the program's functions (Lambda's Invoke API).
        """
        return {
            "host": self.options.host,
            "port": self.port,
            "aws_endpoint": self.aws_endpoint,
            "lambda_endpoint": self.lambda_endpoint,
            "region": _LOCAL_REGION,
            "namespaces": {
                ns: {
                    "url": self.ws_url(ns),
                    "management_endpoint": self.management_url(ns),
                    "table_name": self.table_name(ns),
                    "history_table_name": self.history(ns)[0],
                    "history_retention_seconds": self.history(ns)[1],
                }
                for ns in self.model.apis
            },
        }
