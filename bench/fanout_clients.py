"""The ways to post one payload to many connections that bench/fanout.py compares.

Each client has ``broadcast(ids, data) -> posts that got a 2xx`` and posts ``concurrency``
at a time to a ``@connections`` endpoint, every request SigV4-signed:

- ``engine``: realtime_socket.handlers.fanout (asyncio callbacks, ConnectionsSigner);
- ``engine, botocore signer``: the same transport signing with botocore's ``SigV4Auth``
  per request, to show what the shared-work signer saves;
- ``previous engine``: handlers/fanout.py as of ``PREVIOUS_ENGINE`` (botocore's signer,
  asyncio streams), loaded from git history when there is one;
- ``urllib3 + threads``: urllib3's pool (in the Lambda runtime, under botocore) driven by a
  thread pool, signing with ConnectionsSigner;
- ``awscrt``: the AWS Common Runtime's HTTP client and its C SigV4 signer (what botocore
  uses with ``botocore[crt]``);
- ``boto3``: ``post_to_connection`` from a thread pool, botocore's whole pipeline.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from bench.support import ROOT
from realtime_socket.handlers.fanout import ConnectionsApi
from realtime_socket.handlers.sigv4 import ConnectionsSigner, payload_hash

__all__ = ["CLIENTS", "PREVIOUS_ENGINE", "make_client"]

#: The engine before the signer and the callback transport (2026-11-29).
PREVIOUS_ENGINE = "9bd1608"
REGION = "us-east-1"
CREDENTIALS = Credentials("bench", "bench", "bench-session-token")


class _BotocoreSigner(ConnectionsSigner):
    """ConnectionsSigner's interface, signing each request with botocore's SigV4Auth."""

    def __init__(self, endpoint: str, region: str) -> None:
        super().__init__(endpoint, region)
        self._endpoint = endpoint.rstrip("/")
        self._origin = self._endpoint[: len(self._endpoint) - len(urlsplit(endpoint).path)]
        self.body = b""  # the broadcast's payload: botocore hashes it per request

    def sign_post(
        self, credentials: Any, connection_id: str, body_hash: str, now: float | None = None
    ) -> tuple[str, str]:
        path = self.base_path + quote(connection_id, safe="")
        request = AWSRequest("POST", self._origin + path, data=self.body)
        SigV4Auth(credentials, "execute-api", self.region).add_auth(request)
        lines = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        return path, lines


class _Urllib3Client:
    def __init__(self, endpoint: str, concurrency: int) -> None:
        import urllib3

        parts = urlsplit(endpoint)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._signer = ConnectionsSigner(endpoint, REGION)
        self._lock = threading.Lock()  # the signer caches per second: one thread at a time
        self._pool = urllib3.PoolManager(maxsize=concurrency, retries=False)
        self._threads = concurrent.futures.ThreadPoolExecutor(concurrency)

    def broadcast(self, ids: list[str], data: bytes) -> int:
        body_hash = payload_hash(data)

        def post(connection_id: str) -> bool:
            with self._lock:
                path, lines = self._signer.sign_post(CREDENTIALS, connection_id, body_hash)
            headers = dict(line.split(": ", 1) for line in lines.rstrip("\r\n").split("\r\n"))
            response = self._pool.request("POST", self._origin + path, body=data, headers=headers)
            return 200 <= response.status < 300

        return sum(self._threads.map(post, ids))


class _CrtClient:
    """awscrt's HTTP/1.1 connections, each posting its next target from its completion."""

    def __init__(self, endpoint: str, concurrency: int) -> None:
        from awscrt import auth, http
        from awscrt import io as crt_io

        self._http, self._auth = http, auth
        parts = urlsplit(endpoint)
        self._netloc, self._base = parts.netloc, parts.path
        self._signing = auth.AwsSigningConfig(
            algorithm=auth.AwsSigningAlgorithm.V4,
            signature_type=auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
            credentials_provider=auth.AwsCredentialsProvider.new_static(
                CREDENTIALS.access_key, CREDENTIALS.secret_key, CREDENTIALS.token
            ),
            region=REGION,
            service="execute-api",
        )
        loops = crt_io.EventLoopGroup(1)
        bootstrap = crt_io.ClientBootstrap(loops, crt_io.DefaultHostResolver(loops))
        self._connections = [
            http.HttpClientConnection.new(parts.hostname, parts.port, bootstrap=bootstrap).result()
            for _ in range(concurrency)
        ]

    def broadcast(self, ids: list[str], data: bytes) -> int:
        targets, lock, done = iter(ids), threading.Lock(), threading.Event()
        state = {"left": len(ids), "ok": 0}

        def issue(connection: Any) -> None:
            with lock:
                target = next(targets, None)
            if target is None:
                return
            path = f"{self._base}/@connections/{quote(target, safe='')}"
            headers = self._http.HttpHeaders(
                [("host", self._netloc), ("content-length", str(len(data)))]
            )
            request = self._http.HttpRequest("POST", path, headers, io.BytesIO(data))
            self._auth.aws_sign_request(request, self._signing).result()
            request.body_stream = io.BytesIO(data)  # signing read it
            status: list[int] = []

            def on_response(http_stream: Any, status_code: int, **_: Any) -> None:
                status.append(status_code)

            stream = connection.request(request, on_response=on_response)

            def finished(_: Any) -> None:
                with lock:
                    state["left"] -= 1
                    state["ok"] += bool(status) and 200 <= status[0] < 300
                    last = state["left"] == 0
                if last:
                    done.set()
                else:
                    issue(connection)

            stream.completion_future.add_done_callback(finished)
            stream.activate()

        for connection in self._connections[: len(ids)]:
            issue(connection)
        done.wait()
        return state["ok"]


class _Boto3Client:
    def __init__(self, endpoint: str, concurrency: int) -> None:
        self._client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS.access_key,
            aws_secret_access_key=CREDENTIALS.secret_key,
            aws_session_token=CREDENTIALS.token,
            config=Config(retries={"mode": "standard"}, max_pool_connections=concurrency),
        )
        self._threads = concurrent.futures.ThreadPoolExecutor(concurrency)

    def broadcast(self, ids: list[str], data: bytes) -> int:
        def post(connection_id: str) -> bool:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
            return True

        return sum(self._threads.map(post, ids))


class _EngineClient:
    def __init__(self, api: Any) -> None:
        self._api = api

    def broadcast(self, ids: list[str], data: bytes) -> int:
        if isinstance(getattr(self._api, "_signer", None), _BotocoreSigner):
            self._api._signer.body = data
        return int(self._api.broadcast(ids, data).delivered)


def _previous_engine_module() -> types.ModuleType | None:
    """handlers/fanout.py at PREVIOUS_ENGINE, from git; None without git or the history."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        source = subprocess.run(
            [git, "show", f"{PREVIOUS_ENGINE}:realtime_socket/handlers/fanout.py"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError:
        return None
    path = Path(tempfile.mkdtemp(prefix="previous-engine-")) / "previous_fanout.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("bench_previous_fanout", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _engine(endpoint: str, concurrency: int) -> _EngineClient:
    return _EngineClient(ConnectionsApi(endpoint, REGION, lambda: CREDENTIALS, concurrency))


def _engine_botocore_signer(endpoint: str, concurrency: int) -> _EngineClient:
    api = ConnectionsApi(endpoint, REGION, lambda: CREDENTIALS, concurrency)
    api._signer = _BotocoreSigner(endpoint, REGION)
    return _EngineClient(api)


def _previous(endpoint: str, concurrency: int) -> _EngineClient | None:
    module = _previous_engine_module()
    if module is None:
        return None
    return _EngineClient(module.ConnectionsApi(endpoint, REGION, lambda: CREDENTIALS, concurrency))


#: name -> factory(endpoint, concurrency); a factory may return None (not available here).
CLIENTS: dict[str, Callable[[str, int], Any]] = {
    "engine": _engine,
    "engine, botocore signer": _engine_botocore_signer,
    "previous engine": _previous,
    "urllib3 + threads": _Urllib3Client,
    "awscrt": _CrtClient,
    "boto3 + threads": _Boto3Client,
}


def make_client(name: str, endpoint: str, concurrency: int) -> Any:
    return CLIENTS[name](endpoint, concurrency)
