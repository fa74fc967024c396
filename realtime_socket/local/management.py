"""The ``@connections`` management API over HTTP, as botocore's client calls it.

``POST|GET|DELETE /<namespace>/<stage>/@connections/<id>``: the handlers reach it through
``MANAGEMENT_ENDPOINT`` (``http://127.0.0.1:<port>/<namespace>/<stage>``), the same setting
they use on AWS, and outside backends can call it with boto3 or curl. Errors carry the
``x-amzn-ErrorType`` header botocore maps to its modeled exceptions. Served by aiohttp on the
runtime's own event loop, so a post reaches the WebSocket without a thread hop. Requests are
not signature-checked: the endpoint listens on loopback only.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from typing import Any, Protocol

from aiohttp import web

__all__ = ["ConnectionsBackend", "ManagementServer"]


class ConnectionsBackend(Protocol):
    """What serves the API; each method returns an HTTP status (or a coroutine of one)."""

    def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> Any: ...

    def get_connection(self, namespace: str, stage: str, cid: str) -> Any: ...

    def delete_connection(self, namespace: str, stage: str, cid: str) -> Any: ...


_ERRORS = {
    400: "BadRequestException",
    403: "ForbiddenException",
    404: "NotFoundException",
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
}


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _reply(status: int, body: dict[str, Any] | None = None) -> web.Response:
    if body is None and status in _ERRORS:
        body = {"message": _ERRORS[status]}
    headers = {"x-amzn-ErrorType": _ERRORS[status]} if status in _ERRORS else {}
    text = json.dumps(body) if body is not None else ""
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)


class ManagementServer:
    """Serves a :class:`ConnectionsBackend`; ``await start()`` on a running loop, or
    ``start_in_thread()`` for synchronous callers (tests)."""

    def __init__(self, backend: ConnectionsBackend, host: str = "127.0.0.1", port: int = 0):
        self.backend = backend
        self.host = host
        self.requested_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        route = "/{namespace}/{stage}/@connections/{cid}"
        app.router.add_post(route, self._post)
        app.router.add_get(route, self._get)
        app.router.add_delete(route, self._delete)
        return app

    @staticmethod
    def _target(request: web.Request) -> tuple[str, str, str]:
        info = request.match_info
        return info["namespace"], info["stage"], info["cid"]

    async def _post(self, request: web.Request) -> web.Response:
        data = await request.read()
        return _reply(await _resolve(self.backend.post_to_connection(*self._target(request), data)))

    async def _get(self, request: web.Request) -> web.Response:
        info = await _resolve(self.backend.get_connection(*self._target(request)))
        return _reply(410) if info is None else _reply(200, info)

    async def _delete(self, request: web.Request) -> web.Response:
        return _reply(await _resolve(self.backend.delete_connection(*self._target(request))))

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.start(), self._loop).result(10)

    def stop_in_thread(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop.close()
        self._loop = None
