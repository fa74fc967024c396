"""The ``@connections`` management API over HTTP, as botocore's client calls it.

``POST|GET|DELETE /<namespace>/<stage>/@connections/<id>``: the handlers reach it through
``MANAGEMENT_ENDPOINT`` (``http://127.0.0.1:<port>/<namespace>/<stage>``), the same setting
they use on AWS, and outside backends can call it with boto3 or curl. Errors carry the
``x-amzn-ErrorType`` header botocore maps to its modeled exceptions. Served by aiohttp on the
runtime's own event loop, so a post reaches the WebSocket without a thread hop. Requests are
not signature-checked: the endpoint listens on loopback only.

:class:`ManagementServer` is the HTTP layer over any :class:`ConnectionsBackend`;
:class:`RuntimeConnections` is the runtime's backend, performing the answers of
``gateway.connections_api`` on the clients' sockets. Other local AWS APIs that handlers
reach over HTTP (Lambda's Invoke, ``lambda_api.py``) are mounted on the same server through
``routes``: their paths never collide with ``/<namespace>/<stage>/@connections``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from aiohttp import web
from websockets.exceptions import ConnectionClosed

from realtime_socket.contract import CONNECTIONS_API_ERRORS
from realtime_socket.local.gateway import connections_api
from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.gateway.chaos import PostChaos
from realtime_socket.local.gateway.connection import Connection

__all__ = ["ConnectionsBackend", "ManagementServer", "Peer", "RuntimeConnections"]


class ConnectionsBackend(Protocol):
    """What serves the API; each method returns an HTTP status (or a coroutine of one)."""

    def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> Any: ...

    def get_connection(self, namespace: str, stage: str, cid: str) -> Any: ...

    def delete_connection(self, namespace: str, stage: str, cid: str) -> Any: ...


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _reply(status: int, body: dict[str, Any] | None = None) -> web.Response:
    error = CONNECTIONS_API_ERRORS.get(status)
    if body is None and error is not None:
        body = {"message": error}
    headers = {"x-amzn-ErrorType": error} if error is not None else {}
    text = json.dumps(body) if body is not None else ""
    return web.Response(status=status, text=text, content_type="application/json", headers=headers)


class ManagementServer:
    """Serves a :class:`ConnectionsBackend`; ``await start()`` on a running loop."""

    def __init__(
        self,
        backend: ConnectionsBackend,
        host: str = "127.0.0.1",
        port: int = 0,
        routes: Iterable[web.AbstractRouteDef] = (),
    ):
        self.backend = backend
        self.extra_routes = list(routes)
        self.host = host
        self.requested_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        route = "/{namespace}/{stage}/@connections/{cid}"
        app.router.add_post(route, self._post)
        app.router.add_get(route, self._get)
        app.router.add_delete(route, self._delete)
        app.add_routes(self.extra_routes)
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


class Peer(Protocol):
    """A connected client as the ``@connections`` backend acts on it."""

    @property
    def connection(self) -> Connection: ...

    def buffered_bytes(self) -> int:
        """Bytes sent to the client that it has not read yet."""
        ...

    async def send(self, payload: str | bytes) -> None: ...

    async def close(self, close: Close) -> None: ...


class RuntimeConnections:
    """The runtime's backend: ``gateway.connections_api``'s answers, performed on peers."""

    def __init__(self, peers: Mapping[str, Peer], chaos: PostChaos | None = None) -> None:
        self.peers = peers
        self.chaos = chaos or PostChaos()
        self.posts_throttled = 0

    def _connection(self, cid: str) -> Connection | None:
        peer = self.peers.get(cid)
        return peer.connection if peer is not None else None

    async def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> int:
        peer = self.peers.get(cid)
        live = peer is not None and peer.connection.open
        answer = connections_api.post(
            self._connection(cid),
            namespace,
            stage,
            data,
            buffered_bytes=peer.buffered_bytes() if peer is not None and live else 0,
            injected_throttle=self.chaos.strikes(cid, data),
        )
        if isinstance(answer, connections_api.Throttled):
            self.posts_throttled += 1
        elif isinstance(answer, connections_api.Deliver) and peer is not None:
            try:
                await peer.send(answer.payload)
            except ConnectionClosed:
                return connections_api.Gone.status  # closed while the post was on its way
        return answer.status

    async def get_connection(self, namespace: str, stage: str, cid: str) -> dict[str, Any] | None:
        answer = connections_api.get(self._connection(cid), namespace, stage)
        return answer.body if isinstance(answer, connections_api.Details) else None

    async def delete_connection(self, namespace: str, stage: str, cid: str) -> int:
        peer = self.peers.get(cid)
        answer = connections_api.delete(self._connection(cid), namespace, stage)
        if isinstance(answer, connections_api.Deleted) and peer is not None:
            peer.connection.closed_by_gateway = answer.close
            await peer.close(answer.close)
        return answer.status
