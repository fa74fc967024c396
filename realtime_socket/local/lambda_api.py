"""Lambda's Invoke API over HTTP, for the functions the program declares.

``POST /2015-03-31/functions/{FunctionName}/invocations``, the request botocore's
``lambda`` client sends for ``invoke``. Function processes reach it through
``AWS_ENDPOINT_URL_LAMBDA`` (botocore prefers it to ``AWS_ENDPOINT_URL``), so a handler that
hands work to another function (``InvocationType="Event"``) runs unchanged. Served on the
``@connections`` server's port and loop; like that API, requests are not signature-checked
(loopback only).

What it answers, as Lambda does
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html):

- ``RequestResponse``: 200 and the handler's result as JSON; a handler error is still 200,
  with ``X-Amz-Function-Error: Unhandled`` and Lambda's error object as the body.
- ``Event``: 202 at once; the invocation runs in the background and a failure is retried
  twice (Lambda waits about 1 and 2 minutes; here ``retry_delays``, 1 and 2 seconds by
  default), then logged as one line and counted in :attr:`LambdaApi.counters`.
- ``DryRun``: 204.
- A function the program does not declare: 404 ``ResourceNotFoundException``. Only the
  declared physical names (and their ARNs, qualified with ``$LATEST`` at most) resolve,
  so the runtime never runs code the stack would not deploy.

Not emulated: versions and aliases (any qualifier but ``$LATEST`` is not found), the
client context (ignored), ``X-Amz-Log-Type: Tail`` (no ``LogResult``), reserved
concurrency and throttling (the function's pool queues instead), dead-letter queues and
destinations, the 6-hour maximum event age, and recursive-loop detection.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from realtime_socket.contract import ASYNC_INVOKE_PAYLOAD_BYTES
from realtime_socket.local.invoker import Log
from realtime_socket.local.lambdas import Invocation
from realtime_socket.local.model import LocalFunction

__all__ = [
    "ASYNC_PAYLOAD_LIMIT",
    "DEFAULT_RETRY_DELAYS",
    "INVOKE_PATH",
    "SYNC_PAYLOAD_LIMIT",
    "FunctionRef",
    "Invocable",
    "InvokeCounters",
    "LambdaApi",
    "parse_function_name",
]

#: The path botocore's ``Invoke`` operation posts to (service model ``lambda/2015-03-31``).
INVOKE_PATH = "/2015-03-31/functions/{FunctionName}/invocations"

#: Invocation payload quotas, request side
#: (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
#: 6 MB for a synchronous invocation (and for its response). Asynchronous: 256 KB, the
#: long-standing quota the handlers' shares are cut to (``contract``). Lambda's Invoke
#: reference and botocore's service model now give 1 MB; the stricter value is kept so that
#: what passes here passes on AWS whichever applies.
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = ASYNC_INVOKE_PAYLOAD_BYTES

#: Seconds before each retry of a failed asynchronous invocation. Lambda retries twice,
#: about 1 and 2 minutes apart; locally the same count, in seconds, so failures show soon.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 2.0)

_INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
#: Errors whose modeled message field is ``Message``; the others' is ``message``.
_CAPITALIZED = frozenset({"ResourceNotFoundException", "ServiceException"})
_READ_CHUNK = 64 * 1024

# The FunctionName forms Lambda accepts: name, partial ARN (account:function:name), full ARN,
# each optionally qualified (":$LATEST", ":alias", ":version").
_FUNCTION_NAME = re.compile(
    r"(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]{1,64})"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?"
)


@dataclass(frozen=True)
class FunctionRef:
    """A ``FunctionName`` taken apart; ``region`` and ``account`` are ``""`` when not given."""

    name: str
    region: str = ""
    account: str = ""
    qualifier: str = ""


def parse_function_name(value: str) -> FunctionRef | None:
    """Split a name, partial ARN or ARN as Lambda reads it; ``None`` when it is neither."""
    match = _FUNCTION_NAME.fullmatch(value)
    if match is None:
        return None
    return FunctionRef(
        match["name"], match["region"] or "", match["account"] or "", match["qualifier"] or ""
    )


class Invocable(Protocol):
    """What runs a function: :class:`~realtime_socket.local.lambdas.FunctionPool`."""

    def invoke(self, event: Mapping[str, Any]) -> Awaitable[Invocation]: ...


@dataclass
class InvokeCounters:
    """What the API did, for tests and benchmarks (asynchronous attempts include retries)."""

    sync: int = 0
    accepted: int = 0
    attempts: int = 0
    retries: int = 0
    succeeded: int = 0
    failures: int = 0


def _error(status: int, error_type: str, message: str, kind: str = "User") -> web.Response:
    """An error as botocore maps it: ``x-amzn-ErrorType`` names the modeled exception, and
    the message field is spelled as that exception's shape spells it."""
    field = "Message" if error_type in _CAPITALIZED else "message"
    return web.json_response(
        {"Type": kind, field: message},
        status=status,
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
    )


async def _read_within(request: web.Request, limit: int) -> bytes | None:
    """The body, or ``None`` when it is over ``limit``. An oversized body is still read to
    its end (and dropped), so the client reads the 413 instead of a reset connection."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    return b"".join(chunks) if size <= limit else None


class LambdaApi:
    """Serves Invoke for ``functions`` (logical name -> function), run by ``pools``.

    ``pools`` is read at each request, so it may be filled after the routes are mounted (the
    runtime creates pools once the server's port is known).
    """

    def __init__(
        self,
        functions: Mapping[str, LocalFunction],
        pools: Mapping[str, Invocable],
        *,
        region: str,
        account: str,
        log: Log | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self.by_physical_name = {fn.physical_name: fn for fn in functions.values()}
        self.pools = pools
        self.region = region
        self.account = account
        self.log = log
        self.retry_delays = tuple(retry_delays)
        self.counters = InvokeCounters()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def routes(self) -> list[web.RouteDef]:
        return [web.post(INVOKE_PATH, self._invoke)]

    @property
    def pending(self) -> int:
        """Asynchronous invocations accepted and not finished (retries included)."""
        return len(self._tasks)

    async def close(self) -> None:
        """Cancel the asynchronous invocations still running or waiting to retry, and wait
        for them: nothing is left pending when the runtime's pools stop."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the request -------------------------------------------------------------------

    def _arn(self, ref: FunctionRef) -> str:
        arn = (
            f"arn:aws:lambda:{ref.region or self.region}:{ref.account or self.account}"
            f":function:{ref.name}"
        )
        return f"{arn}:{ref.qualifier}" if ref.qualifier else arn

    def _resolve(self, request: web.Request) -> LocalFunction | web.Response:
        """The declared function the request names, or the error Lambda answers."""
        raw = request.match_info["FunctionName"]
        ref = parse_function_name(raw)
        if ref is None:
            return _error(404, "ResourceNotFoundException", f"Function not found: {raw}")
        qualifier = request.query.get("Qualifier", "")
        if qualifier and ref.qualifier and qualifier != ref.qualifier:
            return _error(
                400,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified "
                "qualifier.",
            )
        ref = FunctionRef(ref.name, ref.region, ref.account, ref.qualifier or qualifier)
        function = self.by_physical_name.get(ref.name)
        here = ref.region in ("", self.region) and ref.account in ("", self.account)
        if function is None or not here or ref.qualifier not in ("", "$LATEST"):
            return _error(404, "ResourceNotFoundException", f"Function not found: {self._arn(ref)}")
        return function

    async def _invoke(self, request: web.Request) -> web.Response:
        if self._closed:
            return _error(500, "ServiceException", "The local runtime is stopping.", "Service")
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in _INVOCATION_TYPES:
            return _error(
                400,
                "InvalidParameterValueException",
                f"Unsupported invocation type {kind!r}: expected one of "
                f"{', '.join(_INVOCATION_TYPES)}.",
            )
        limit = ASYNC_PAYLOAD_LIMIT if kind == "Event" else SYNC_PAYLOAD_LIMIT
        body = await _read_within(request, limit)
        if body is None:
            return _error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the {kind} invocation type",
            )
        function = self._resolve(request)
        if isinstance(function, web.Response):
            return function
        try:
            event: Any = json.loads(body) if body.strip() else {}
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            return _error(
                400,
                "InvalidRequestContentException",
                f"Could not parse request body into json: {type(exc).__name__}",
            )
        if function.name not in self.pools:  # only between the server's start and the pools'
            return _error(502, "ResourceNotReadyException", "The function is starting.", "Service")
        if self._closed:  # close() ran while the body was read: start nothing it cannot stop
            return _error(500, "ServiceException", "The local runtime is stopping.", "Service")
        if kind == "DryRun":
            return web.Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        if kind == "Event":
            self._start(function, event)
            return web.Response(status=202, headers={"x-amzn-RequestId": str(uuid.uuid4())})
        return await self._run_sync(function, event)

    async def _run_sync(self, function: LocalFunction, event: Any) -> web.Response:
        self.counters.sync += 1
        outcome = await self._attempt(function, event)
        headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": str(uuid.uuid4())}
        self._note(function, "RequestResponse", outcome, attempts=1)
        if outcome.error is not None:
            headers["X-Amz-Function-Error"] = "Unhandled"
            payload = json.dumps(outcome.error)
        else:
            payload = json.dumps(outcome.result)
            if len(payload.encode()) > SYNC_PAYLOAD_LIMIT:
                headers["X-Amz-Function-Error"] = "Unhandled"
                payload = json.dumps(
                    {
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": "Response payload size exceeded maximum allowed "
                        f"payload size ({SYNC_PAYLOAD_LIMIT} bytes).",
                    }
                )
        return web.Response(
            status=200, text=payload, content_type="application/json", headers=headers
        )

    # -- asynchronous invocations --------------------------------------------------------

    def _start(self, function: LocalFunction, event: Any) -> None:
        self.counters.accepted += 1
        task = asyncio.get_running_loop().create_task(self._run_async(function, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_async(self, function: LocalFunction, event: Any) -> None:
        """One attempt, then one per retry delay while the function fails (an error or a
        timeout), as Lambda's asynchronous invocation does."""
        outcome = Invocation()
        attempts = 0
        for delay in (None, *self.retry_delays):
            if delay is not None:
                await asyncio.sleep(delay)
                self.counters.retries += 1
            attempts += 1
            self.counters.attempts += 1
            outcome = await self._attempt(function, event)
            if outcome.error is None:
                self.counters.succeeded += 1
                self._note(function, "Event", outcome, attempts)
                return
        self.counters.failures += 1
        self._note(function, "Event", outcome, attempts, failed=True)

    async def _attempt(self, function: LocalFunction, event: Any) -> Invocation:
        """One invocation; a failure to start it at all (no process) is its error, as an
        environment that fails to start is on Lambda."""
        try:
            return await self.pools[function.name].invoke(event)
        except Exception as exc:  # the task must end with a log line, not a lost exception
            return Invocation(error={"errorType": type(exc).__name__, "errorMessage": str(exc)})

    def _note(
        self,
        function: LocalFunction,
        kind: str,
        outcome: Invocation,
        attempts: int,
        *,
        failed: bool = False,
    ) -> None:
        """One log line per invocation, in the runtime's log shape. Never the payload or the
        error message: both can carry message data or tokens."""
        if self.log is None:
            return
        status = "failed" if failed else ("error" if outcome.error else "ok")
        fields: dict[str, Any] = {
            "namespace": "lambda",
            "route": function.physical_name,
            "connectionId": "-",
            "status": status,
            "durationMs": round(outcome.duration_ms, 1),
            "invocationType": kind,
        }
        if kind == "Event":
            fields["attempts"] = attempts
        if outcome.cold:
            fields["cold"] = True
        if outcome.error:
            fields["error"] = outcome.error.get("errorType")
        self.log(fields)
