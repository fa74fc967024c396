"""Deliver one payload to many connections through the ``@connections`` API, fast.

Why not boto3's client: measured on this project's bench (bench/fanout.py, 25 ms endpoint),
``post_to_connection`` costs about 1.3 ms of CPU per call in botocore's pipeline, so a
thread pool tops out near 600 posts/s whatever its size (the GIL serialises that work).
The same posts signed by botocore's own ``SigV4Auth`` with the same credentials and sent
over keep-alive HTTP/1.1 connections on one asyncio loop cost about 0.2 ms each and scale
with the number in flight. No async HTTP client ships in the Lambda runtime, hence the
small hand-written HTTP/1.1 exchange below (one POST, one response; no redirects).

Semantics kept from botocore's standard retry mode: up to 3 attempts for 429
(LimitExceededException), 5xx and connection errors, with botocore's ``ExponentialBackoff``.
A 410 Gone hands *that target* to ``on_gone`` (never the sender); anything else that still
fails is counted in ``FanoutResult.failed`` and logged, never silently dropped. Failures are
named by the service's error types (``contract.CONNECTIONS_API_ERRORS``), else ``HTTP<status>``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS, ExponentialBackoff, RetryContext

from realtime_socket.contract import CONNECTIONS_API_ERRORS, DEFAULT_FANOUT_CONCURRENCY

__all__ = ["ConnectionsApi", "FanoutResult"]

RETRYABLE = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = DEFAULT_MAX_ATTEMPTS  # botocore's standard retry mode
OK, GONE = "ok", "gone"

_logger = logging.getLogger(__name__)


@dataclass
class FanoutResult:
    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    retries: int = 0


class _HttpError(Exception):
    """A broken connection: the request is retried on a new one."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, head: bytes, body: bytes) -> tuple[int, bool]:
        """Send one request; return (status, whether the connection stays usable)."""
        try:
            self.writer.write(head + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            parts = status_line.split(None, 2)
            if len(parts) < 2:
                raise _HttpError("no status line")
            status = int(parts[1])
            length, chunked, keep = 0, False, True
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif name == b"connection" and b"close" in value.lower():
                    keep = False
            if chunked:
                while True:
                    size = int((await self.reader.readline()).split(b";")[0], 16)
                    await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await self.reader.readexactly(length)
            return status, keep
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise _HttpError(str(exc)) from exc


class ConnectionsApi:
    """Posts to one ``@connections`` endpoint (``https://{api}.execute-api.../{stage}``).

    Keeps its event loop and keep-alive connections for the container's lifetime: Lambda
    freezes them between invocations, and a connection that died meanwhile is replaced.
    """

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Callable[[], Credentials | Any],
        concurrency: int = DEFAULT_FANOUT_CONCURRENCY,
        timeout: float = 5.0,
    ) -> None:
        parts = urlsplit(endpoint.rstrip("/"))
        self.endpoint = endpoint.rstrip("/")
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.netloc = parts.netloc
        self.base_path = parts.path
        self.tls = parts.scheme == "https"
        self.region = region
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self._credentials = credentials
        self._loop = asyncio.new_event_loop()
        self._idle: list[_Connection] = []
        self._ssl: ssl.SSLContext | None = None
        self._backoff = ExponentialBackoff()
        # Closes the sockets quietly however the container ends (tests, local runtime).
        self._finalizer = weakref.finalize(self, _shutdown, self._idle, self._loop)

    # -- public, synchronous API (handlers are synchronous) ------------------------------

    def post(self, connection_id: str, data: bytes) -> str:
        """Post to one connection; return ``"ok"``, ``"gone"`` or an error code."""
        result = self.broadcast([connection_id], data)
        if result.delivered:
            return OK
        if result.gone:
            return GONE
        return next(iter(result.failed.values()), "unknown")

    def broadcast(
        self,
        targets: Iterable[str],
        data: bytes,
        on_gone: Callable[[list[str]], object] | None = None,
    ) -> FanoutResult:
        """Post ``data`` to every target with at most ``concurrency`` requests in flight."""
        ids = list(targets)
        result = FanoutResult()
        if ids:
            signer = SigV4Auth(self._credentials(), "execute-api", self.region)
            self._loop.run_until_complete(self._broadcast(ids, data, signer, result))
        for cid, code in result.failed.items():
            _logger.warning(
                "post to %s failed: %s",
                cid,
                code,
                extra={"event": "post_failed", "connectionId": cid, "error": code},
            )
        if result.gone and on_gone is not None:
            on_gone(result.gone)
        return result

    def close(self) -> None:
        self._finalizer()

    # -- internals -----------------------------------------------------------------------

    async def _connect(self) -> _Connection:
        if self.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.host, self.port, ssl=self._ssl if self.tls else None, limit=1 << 16
            ),
            self.timeout,
        )
        return _Connection(reader, writer)

    def _request(self, connection_id: str, data: bytes, signer: SigV4Auth) -> bytes:
        quoted = quote(connection_id, safe="")
        path = f"{self.base_path}/@connections/{quoted}"
        request = AWSRequest("POST", f"{self.endpoint}/@connections/{quoted}", data=data)
        signer.add_auth(request)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.netloc}", f"Content-Length: {len(data)}"]
        lines += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "host"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send(
        self, connection: _Connection | None, connection_id: str, data: bytes, signer: SigV4Auth,
        result: FanoutResult,
    ) -> tuple[str, _Connection | None]:  # fmt: skip
        """Deliver to one connection with retries; return the outcome and a live connection."""
        outcome = "unknown"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if attempt > 1:
                result.retries += 1
                await asyncio.sleep(self._backoff.delay_amount(RetryContext(attempt - 1)))
            try:
                if connection is None:
                    connection = await self._connect()
                status, keep = await asyncio.wait_for(
                    connection.exchange(self._request(connection_id, data, signer), data),
                    self.timeout,
                )
            except (_HttpError, OSError, TimeoutError):
                if connection is not None:
                    connection.close()
                connection = None
                outcome = "ConnectionError"
                continue
            if not keep:
                connection.close()
                connection = None
            if 200 <= status < 300:
                return OK, connection
            if status == 410:
                return GONE, connection
            outcome = CONNECTIONS_API_ERRORS.get(status, f"HTTP{status}")
            if status not in RETRYABLE:
                break
        return outcome, connection

    async def _broadcast(
        self, ids: list[str], data: bytes, signer: SigV4Auth, result: FanoutResult
    ) -> None:
        pending = iter(ids)

        async def worker() -> None:
            connection = self._idle.pop() if self._idle else None
            for cid in pending:
                outcome, connection = await self._send(connection, cid, data, signer, result)
                if outcome == OK:
                    result.delivered += 1
                elif outcome == GONE:
                    result.gone.append(cid)
                else:
                    result.failed[cid] = outcome
            if connection is not None:
                self._idle.append(connection)

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(ids)))))


def _shutdown(idle: list[_Connection], loop: asyncio.AbstractEventLoop) -> None:
    for connection in idle:
        connection.writer.transport.abort()
    idle.clear()
    loop.close()
