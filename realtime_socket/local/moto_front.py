"""The emulation's HTTP front: aiohttp in front of moto's own request processor.

moto's server (werkzeug's development server, Flask, and a per-request search for the
service a host belongs to) spent three quarters of a GetItem's time before moto's DynamoDB
saw the request: 8 ms a GetItem against 2 ms for the same call through ``mock_aws``
(``bench/emulation.py`` prints both servers side by side). This front hands each request
to :class:`moto.core.botocore_stubber.BotocoreStubber`, the processor ``mock_aws`` and
moto's ``responses`` integration use, so the answers are moto's own.

The service comes from the request's SigV4 credential scope, as moto's server reads it
(``X-Amz-Target`` for an unsigned request). Handlers run on the event loop's one thread, so
requests are answered one at a time by construction: each is atomic, as on DynamoDB (see
``moto_server``).
"""

from __future__ import annotations

import re

from aiohttp import web
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders
from moto.core.botocore_stubber import BotocoreStubber

from realtime_socket.local.moto_server import READY_PATH

__all__ = ["WARM_SERVICES", "app", "serve", "service_of", "warm"]

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
#: Unsigned requests name their API in ``X-Amz-Target``: its prefix says whose it is.
_TARGETS = {"DynamoDB_": "dynamodb", "AmazonSSM": "ssm"}
_DEFAULT_REGION = "us-east-1"
#: Framing headers describe moto's body as moto wrote it; aiohttp frames its own.
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "status"})


def service_of(headers: dict[str, str] | HTTPHeaders) -> tuple[str, str] | None:
    """``(service, region)`` a request is for, or None when nothing says."""
    scope = _SCOPE.search(headers.get("Authorization") or "")
    if scope is not None:
        return scope.group(2), scope.group(1)
    target = headers.get("X-Amz-Target") or ""
    for prefix, service in _TARGETS.items():
        if target.startswith(prefix):
            return service, _DEFAULT_REGION
    return None


def app() -> web.Application:
    stubber = BotocoreStubber()

    async def ready(_: web.Request) -> web.Response:
        return web.Response(text="ready")

    async def answer(request: web.Request) -> web.Response:
        body = await request.read()
        headers = HTTPHeaders()
        for key, value in request.headers.items():
            headers[key] = value
        target = service_of(headers)
        if target is None:
            return web.json_response(
                {"message": "no SigV4 credential scope or X-Amz-Target: which AWS API?"},
                status=400,
            )
        service, region = target
        url = f"https://{service}.{region}.amazonaws.com{request.path_qs}"
        prepared = AWSPreparedRequest(request.method, url, headers, body, stream_output=False)
        # moto's processor is synchronous: called on the loop, one request at a time
        try:
            result = stubber.process_request(prepared)
        except NotImplementedError as exc:  # an action moto does not emulate
            return web.json_response({"message": f"not emulated by moto: {exc}"}, status=501)
        if result is None:
            return web.json_response({"message": f"{service} is not emulated"}, status=404)
        status, moto_headers, payload = result
        reply = web.Response(
            status=int(status),
            body=payload.encode() if isinstance(payload, str) else payload,
        )
        for key, value in moto_headers.items():
            if key.lower() not in _FRAMING:
                reply.headers[key] = str(value)
        return reply

    application = web.Application(client_max_size=16 * 1024 * 1024)
    application.router.add_get(READY_PATH, ready)
    application.router.add_route("*", "/{tail:.*}", answer)
    return application


#: The APIs the handlers and the runtime's seeding call, in the region the runtime gives them.
WARM_SERVICES = ("dynamodb", "ssm")


def warm(region: str = _DEFAULT_REGION) -> None:
    """Create moto's backends before the first request needs them: SSM's loads AWS's public
    parameters, 1.5 s that would otherwise land on the runtime's first PutParameter."""
    from moto import backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from realtime_socket.local.moto_speedups import shared_botocore_data

    with shared_botocore_data():
        for service in WARM_SERVICES:
            backends.get_backend(service)[DEFAULT_ACCOUNT_ID][region]  # type: ignore[call-overload]


def serve(host: str, port: int) -> None:
    """Warm the backends, then serve until the process ends."""
    warm()
    web.run_app(app(), host=host, port=port, access_log=None, print=None, handle_signals=False)
