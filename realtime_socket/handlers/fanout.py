"""Deliver one payload to many connections through the ``@connections`` API, fast.

Why not boto3's client: ``post_to_connection`` costs about 1.3 ms of CPU per call in
botocore's pipeline (bench/fanout.py), so a thread pool tops out near 700 posts/s whatever
its size: the GIL serialises that work. On Lambda, where a 256 MB function gets a seventh of
a vCPU, that is about 100 posts/s. This engine keeps ``concurrency`` keep-alive HTTP/1.1
connections on one asyncio loop, each posting its next target as soon as the previous answer
arrives, driven by protocol callbacks (no task or future per post), and signs with
:mod:`realtime_socket.handlers.sigv4` (botocore's SigV4, its shared work done once). The
README's "Performance" section compares it with urllib3 and awscrt on the same bench; no
async HTTP client ships in the Lambda runtime, hence the small HTTP/1.1 exchange below (one
POST, one response; no redirects, no pipelining).

Semantics kept from botocore's standard retry mode: up to 3 attempts for 429
(LimitExceededException), 5xx, connection errors and timeouts, with botocore's
``ExponentialBackoff``. A 410 Gone hands *that target* to ``on_gone`` (never the sender);
anything else that still fails is counted in ``FanoutResult.failed`` and logged, never
silently dropped. Failures are named by the service's error types
(``contract.CONNECTIONS_API_ERRORS``), else ``HTTP<status>``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS, ExponentialBackoff, RetryContext

from realtime_socket.contract import CONNECTIONS_API_ERRORS, DEFAULT_FANOUT_CONCURRENCY
from realtime_socket.handlers.sigv4 import ConnectionsSigner, FrozenCredentials, payload_hash

__all__ = ["ConnectionsApi", "FanoutResult"]

RETRYABLE = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = DEFAULT_MAX_ATTEMPTS  # botocore's standard retry mode
OK, GONE = "ok", "gone"
CONNECTION_ERROR = "ConnectionError"
#: A bug of ours while posting to the target (logged with its traceback), not the service's.
INTERNAL_ERROR = "InternalError"
#: A response head larger than this is not API Gateway's: the connection is dropped.
MAX_HEAD_BYTES = 1 << 16

_logger = logging.getLogger(__name__)


@dataclass
class FanoutResult:
    delivered: int = 0
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    retries: int = 0

    def counts(self) -> dict[str, int]:
        """What a broadcast reports, in its log line and its metrics."""
        return {
            "delivered": self.delivered,
            "gone": len(self.gone),
            "failed": len(self.failed),
            "retries": self.retries,
        }


class _Link(asyncio.BufferedProtocol):
    """One keep-alive HTTP/1.1 connection: sends a request, parses its one response.

    A buffered protocol: asyncio then reads into our buffer (``recv_into``) instead of
    allocating 256 KiB per read, which cost about 25 µs per response here.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._lane: _Lane | None = None
        self._buffer = bytearray()
        self._incoming = memoryview(bytearray(1 << 16))
        self._status = 0  # of the response being read; 0 while reading its head
        self._length = 0
        self._chunked = False
        self._keep = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._incoming

    def buffer_updated(self, nbytes: int) -> None:
        self._buffer += self._incoming[:nbytes]
        try:
            status = self._parse()
        except ValueError:
            status = 0
            self.abort()  # not HTTP/1.1 as API Gateway speaks it: connection_lost follows
        if status:
            lane, self._lane = self._lane, None
            if not self._keep:
                self.close()
            if lane is not None:
                lane.answered(self, status)

    def eof_received(self) -> bool:
        self.closed = True
        return False  # let the transport close; connection_lost tells the lane

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        lane, self._lane = self._lane, None
        if lane is not None:
            lane.lost(self)

    # the lane's side
    def send(self, lane: _Lane, request: bytes) -> None:
        assert self.transport is not None
        self._lane = lane
        self.transport.write(request)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _parse(self) -> int:
        """The status of the response completed by the buffer, else 0 (more to read)."""
        buffer = self._buffer
        if not self._status:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ValueError("response head too large")
                return 0
            head = bytes(buffer[: end + 2]).lower()  # every header line ends with CRLF
            del buffer[: end + 4]
            if not head.startswith(b"http/1.") or head[8:9] != b" ":
                raise ValueError("not an HTTP/1.1 response")
            status = int(head[9:12])
            self._length = int(_header(head, b"content-length") or 0)
            if self._length < 0:
                raise ValueError("negative Content-Length")
            self._chunked = b"chunked" in _header(head, b"transfer-encoding")
            connection = _header(head, b"connection")
            # HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
            if head.startswith(b"http/1.0"):
                self._keep = b"keep-alive" in connection
            else:
                self._keep = b"close" not in connection
            if status < 200:  # 1xx: an interim answer; the real one follows
                return 0 if not buffer else self._parse()
            self._status = status
        if self._chunked:
            if not self._skip_chunks():
                return 0
        elif len(buffer) < self._length:
            return 0
        else:
            del buffer[: self._length]
        status, self._status = self._status, 0
        return status

    def _skip_chunks(self) -> bool:
        """Consume whole chunks; True once the last one (and its trailers) is in."""
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return False
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                end = buffer.find(b"\r\n\r\n", line_end)
                if end < 0:
                    return False
                del buffer[: end + 4]
                return True
            if len(buffer) < line_end + size + 4:
                return False
            del buffer[: line_end + size + 4]


def _header(head: bytes, name: bytes) -> bytes:
    """A header's value in a lower-cased response head, else ``b""``."""
    start = head.find(b"\r\n" + name + b":")
    if start < 0:
        return b""
    start += len(name) + 3
    return head[start : head.index(b"\r\n", start)].strip()


class _Lane:
    """Posts a broadcast's targets one after another over one link, retrying as botocore."""

    def __init__(self, run: _Broadcast, link: _Link | None) -> None:
        self.run = run
        self.link = link
        self.target = ""
        self.attempt = 0
        self.deadline = math.inf  # while a request is in flight
        self._connecting: asyncio.Task[None] | None = None

    def guarded(self, step: Callable[..., None], *args: Any) -> None:
        """Run one step of the lane. An unexpected error fails the target in hand (and the
        next, should it recur) instead of leaving the lane, and so the broadcast, hanging
        until the function's timeout."""
        try:
            step(*args)
        except Exception:
            self._recover()

    def _recover(self) -> None:
        _logger.exception("fan-out lane error", extra={"event": "fanout_error"})
        while True:
            if self.link is not None:
                self.link.abort()
                self.link = None
            self.deadline = math.inf
            if self.target:
                self.run.result.failed[self.target] = INTERNAL_ERROR
                self.target = ""
            try:
                self.start()
                return
            except Exception:  # noqa: S112 - recorded as the target's failure above
                continue

    def start(self) -> None:
        target = next(self.run.targets, None)
        if target is None:
            self.run.lane_done(self)
            return
        self.target, self.attempt = target, 1
        self._send()

    def answered(self, link: _Link, status: int) -> None:
        try:  # guarded() inlined: this runs once per post
            self._answered(link, status)
        except Exception:
            self._recover()

    def _answered(self, link: _Link, status: int) -> None:
        if link is not self.link:
            return
        self.deadline = math.inf
        if link.closed:
            self.link = None
        run = self.run
        if 200 <= status < 300:
            run.result.delivered += 1
        elif status == 410:
            run.result.gone.append(self.target)
        else:
            outcome = CONNECTIONS_API_ERRORS.get(status, f"HTTP{status}")
            if status in RETRYABLE:
                self._retry(outcome)
                return
            run.result.failed[self.target] = outcome
        self.start()

    def lost(self, link: _Link) -> None:
        if link is self.link:
            self.link = None
            self.deadline = math.inf
            self.guarded(self._retry, CONNECTION_ERROR)

    def time_out(self) -> None:
        if self.link is not None:
            self.link.abort()  # connection_lost follows, then a retry on a new link

    def _send(self) -> None:
        link = self.link
        if link is None or link.closed or link.transport is None or link.transport.is_closing():
            self.link = None
            self._connecting = self.run.loop.create_task(self._connect_and_send())
            return
        request = self.run.request(self.target)
        self.deadline = self.run.loop.time() + self.run.api.timeout
        link.send(self, request)

    async def _connect_and_send(self) -> None:
        try:
            self.link = await self.run.api._open()
        except Exception:  # refused, unreachable, timed out, TLS: botocore retries them all
            self.guarded(self._retry, CONNECTION_ERROR)
            return
        self.guarded(self._send)

    def _retry(self, outcome: str) -> None:
        if self.attempt >= MAX_ATTEMPTS:
            self.run.result.failed[self.target] = outcome
            self.start()
            return
        self.run.result.retries += 1
        delay = self.run.api._backoff.delay_amount(RetryContext(self.attempt))
        self.attempt += 1
        self.run.loop.call_later(delay, self.guarded, self._send)


class _Broadcast:
    """One payload to many targets: each lane takes the next target until none is left."""

    def __init__(
        self, api: ConnectionsApi, ids: list[str], data: bytes, credentials: FrozenCredentials
    ) -> None:
        self.api = api
        self.loop = api._loop
        self.targets: Iterator[str] = iter(ids)
        self.result = FanoutResult()
        self._data = data
        self._hash = payload_hash(data)
        self._credentials = credentials
        self._lanes = [
            _Lane(self, api._idle.pop() if api._idle else None)
            for _ in range(min(api.concurrency, len(ids)))
        ]
        self._running = len(self._lanes)
        self._done: asyncio.Future[None] = self.loop.create_future()

    def request(self, target: str) -> bytes:
        api = self.api
        path, signed = api._signer.sign_post(self._credentials, target, self._hash)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {api._signer.host}\r\n"
            f"Content-Length: {len(self._data)}\r\n{signed}\r\n"
        )
        return head.encode("latin-1") + self._data

    def lane_done(self, lane: _Lane) -> None:
        if lane.link is not None and not lane.link.closed:
            self.api._idle.append(lane.link)
        lane.link = None
        self._running -= 1
        if not self._running and not self._done.done():
            self._done.set_result(None)

    async def run(self) -> FanoutResult:
        # One pass of the loop first: idle connections that died while the container was
        # frozen show their EOF now, and are replaced rather than costing an attempt.
        await asyncio.sleep(0)
        for lane in self._lanes:
            lane.guarded(lane.start)
        self._watch()
        try:
            await self._done
        finally:
            self._watchdog.cancel()
        return self.result

    def abandon(self) -> None:
        for lane in self._lanes:
            if lane.link is not None:
                lane.link.abort()
                lane.link = None

    def _watch(self) -> None:
        """Time out requests past their deadline: one timer for the whole broadcast."""
        now = self.loop.time()
        for lane in self._lanes:
            if lane.deadline < now:
                lane.time_out()
        self._watchdog = self.loop.call_later(min(1.0, self.api.timeout / 4), self._watch)


class ConnectionsApi:
    """Posts to one ``@connections`` endpoint (``https://{api}.execute-api.../{stage}``).

    Keeps its event loop and keep-alive connections for the container's lifetime: Lambda
    freezes them between invocations, and a connection that died meanwhile is replaced.
    """

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: Callable[[], FrozenCredentials | Any],
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
        self._signer = ConnectionsSigner(self.endpoint, region)
        self._loop = asyncio.new_event_loop()
        self._idle: list[_Link] = []
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
        if not ids:
            return FanoutResult()
        run = _Broadcast(self, ids, data, self._credentials())
        try:
            result = self._loop.run_until_complete(run.run())
        except BaseException:
            run.abandon()  # no link may answer into this broadcast once it is gone
            raise
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

    async def _open(self) -> _Link:
        if self.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        _, link = await asyncio.wait_for(
            self._loop.create_connection(
                _Link, self.host, self.port, ssl=self._ssl if self.tls else None
            ),
            self.timeout,
        )
        return link


def _shutdown(idle: list[_Link], loop: asyncio.AbstractEventLoop) -> None:
    for link in idle:
        link.abort()
    idle.clear()
    loop.close()
