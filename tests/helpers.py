"""Shared test helpers: events, tokens and offline evaluation of the component."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import jwt
import pulumi
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from realtime_socket import RealtimeSocket
from realtime_socket.engine import Recording, evaluate

EVENTS = Path(__file__).parent / "events"
ROOT = Path(__file__).resolve().parent.parent

ISSUER = "https://auth.example.com/"
AUDIENCE = "realtime-socket"
SECRET = "s" * 48


def load_event(name: str, **context: Any) -> dict[str, Any]:
    """An event from tests/events, with ``requestContext`` fields overridden."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    event["requestContext"].update(context)
    return copy.deepcopy(event)


class FakeContext:
    function_name = "test-fn"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def mint(
    key: Any = SECRET,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A token with valid defaults (iss, aud, sub, exp in 5 minutes); claims override them."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers=dict(headers or {}))


def jwt_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "secret": SECRET}
    args.update(overrides)
    return args


def socket_program(
    name: str = "chat", on_created: Callable[[RealtimeSocket], None] | None = None, **args: Any
) -> Callable[[], None]:
    def program() -> None:
        socket = RealtimeSocket(name, {"jwt": jwt_args(), **args})  # type: ignore[typeddict-item]
        pulumi.export("url", socket.url)
        pulumi.export("management_endpoint", socket.management_endpoint)
        pulumi.export("custom_url", socket.custom_url)
        pulumi.export("table_name", socket.table_name)
        pulumi.export("api_id", socket.api_id)
        pulumi.export("stage_name", socket.stage_name)
        if on_created:
            on_created(socket)

    return program


def evaluate_socket(name: str = "chat", **args: Any) -> Recording:
    """Evaluate one RealtimeSocket under the offline engine."""
    return evaluate(socket_program(name, **args), project="realtime-socket", stack="test")


def policy_of(recording: Recording, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(recording.named(name).inputs["policy"])
    return doc


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class FakeConnections:
    """An @connections endpoint inside botocore's own pipeline (``before-send`` hook).

    Requests are signed, parsed, mapped to modeled exceptions and retried by botocore as on
    AWS; only the HTTP hop is replaced. Answers are scripted per connection id, so results
    are deterministic whatever order concurrent posts arrive in.
    """

    def __init__(self, client: Any, script: Mapping[str, list[int]] | None = None) -> None:
        self.client = client
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.posts: dict[str, list[bytes]] = {}
        self.attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        client.meta.events.register("before-send.apigatewaymanagementapi", self._send)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        connection_id = unquote(request.url.rsplit("/@connections/", 1)[1])
        with self._lock:
            self.attempts[connection_id] = self.attempts.get(connection_id, 0) + 1
            statuses = self.script.get(connection_id)
            status = statuses.pop(0) if statuses else 200
            if status == 200:
                self.posts.setdefault(connection_id, []).append(bytes(request.body))
        codes = {410: "GoneException", 429: "LimitExceededException", 500: "InternalServerError"}
        body = b"" if status == 200 else json.dumps({"message": codes.get(status, "")}).encode()
        headers = {"x-amzn-ErrorType": codes.get(status, "")} if status != 200 else {}
        return AWSResponse(request.url, status, headers, _Body(body))

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        return [json.loads(b) for b in self.posts.get(connection_id, [])]


def management_client(total_attempts: int = 3) -> Any:
    """A real boto3 @connections client (standard retries, no backoff sleep in tests)."""
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc123.execute-api.us-east-1.amazonaws.com/live",
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": total_attempts}),
    )
    return client
