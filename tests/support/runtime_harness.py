"""Run the local runtime on ephemeral ports in a background thread, for sync test clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pulumi

from realtime_socket import RealtimeSocket
from realtime_socket.contract import Env
from realtime_socket.local import devtokens
from realtime_socket.local.clock import ManualClock
from realtime_socket.local.model import LocalModel, build
from realtime_socket.local.server import LocalRuntime, RuntimeOptions
from realtime_socket.tools.recording import evaluate
from tests.support.helpers import jwt_args, mint

PROBE_CODE = str(Path(__file__).parent / "probe_code")

PROBE_ROUTES = {
    "echo": {"handler": "probe.echo", "code": PROBE_CODE, "reply": True},
    "boom": {"handler": "probe.boom", "code": PROBE_CODE, "reply": True},
    "slow": {"handler": "probe.slow", "code": PROBE_CODE, "reply": True},
    "forget": {"handler": "probe.fire_and_forget", "code": PROBE_CODE, "permissions": ["publish"]},
}


def model_of(program: Callable[[], None]) -> LocalModel:
    return build(evaluate(program, project="realtime-socket", stack="test"))


def standard_program() -> None:
    """chat (with probe routes), telemetry, and proto (token in the subprotocol)."""
    RealtimeSocket(
        "chat",
        {
            "jwt": jwt_args(context_claims=["name"]),  # type: ignore[typeddict-item]
            "routes": PROBE_ROUTES,  # type: ignore[typeddict-item]
            "functions": {"timeout_seconds": 2},
        },
    )
    # Like the dev stack's device namespace: no presence events.
    RealtimeSocket("telemetry", {"jwt": jwt_args(), "presence": {"events": False}})  # type: ignore[typeddict-item]
    RealtimeSocket("proto", {"jwt": jwt_args(carriers=["protocol"])})  # type: ignore[typeddict-item]
    pulumi.export("ok", True)


class RunningRuntime:
    """A started LocalRuntime with a driven clock; ``call`` runs coroutines on its loop."""

    def __init__(self, model: LocalModel, **options: Any) -> None:
        self.clock = ManualClock()
        self.events: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = {
            "port": 0,
            "management_port": 0,
            "clock": self.clock,
            "prewarm": False,
            "reap_interval": 3600.0,  # tests call reap() themselves
            "log": self.events.append,
            **options,
        }
        self.runtime = LocalRuntime(model, RuntimeOptions(**settings))
        self.call(self.runtime.start())

    def call(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def dev_url(self, namespace: str, room: str | None = None, **mint_args: Any) -> str:
        """``namespace``'s URL, in ``room`` if given, with a token the runtime's own
        development signing mints (``devtokens.mint``: ``sub``, ``rooms``, ``ttl_seconds``)."""
        token = devtokens.mint(self.runtime.model, namespace, **mint_args)
        query = f"room_id={quote(room)}&" if room is not None else ""
        return f"{self.runtime.ws_url(namespace)}?{query}token={token}"

    def url(
        self, namespace: str = "chat", room: str | None = "lobby", token: str | None = ""
    ) -> str:
        params = []
        if room is not None:
            params.append(f"room_id={room}")
        if token == "":
            token = mint()
        if token is not None:
            params.append(f"token={token}")
        return f"{self.runtime.ws_url(namespace)}?{'&'.join(params)}"

    def management(self, namespace: str = "chat") -> Any:
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.runtime.management_url(namespace),
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def dynamodb(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.runtime.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def table_name(self, namespace: str) -> str:
        fn = self.runtime.model.functions[f"{namespace}-connect-fn"]
        return fn.environment[Env.TABLE_NAME]

    def routes_logged(self, route: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("route") == route]

    def close(self) -> None:
        self.call(self.runtime.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextmanager
def logged_runtime(
    tmp_path_factory: Any, label: str, model: LocalModel, **options: Any
) -> Iterator[RunningRuntime]:
    """A running runtime whose handlers print to ``handlers.log`` in a temporary folder of
    its own (``handler_log``), closed with the block: a module fixture's whole life."""
    with (tmp_path_factory.mktemp(label) / "handlers.log").open("w") as output:
        running = RunningRuntime(model, handler_output=output, **options)
        running.handler_log = Path(output.name)  # type: ignore[attr-defined]
        try:
            yield running
        finally:
            running.close()
