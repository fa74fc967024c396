"""The demo page and the development HTTP routes, served on the WebSocket port.

``realtime-socket dev`` answers plain HTTP requests (no ``Upgrade: websocket``) on the port
its WebSocket APIs listen on, so a browser opens ``http://127.0.0.1:<port>/`` and connects to
``ws://127.0.0.1:<port>/<namespace>`` from the same origin:

- ``GET /``, ``/demo.css``, ``/demo.js``: the demo chat page (``realtime_socket/web/demo``);
- ``GET /realtime-socket.js``: the browser client (``realtime_socket/web``);
- ``GET /_dev/namespaces``: each namespace's path, token carriers and whether it checks rooms;
- ``GET /_dev/token?namespace=<ns>&sub=<user>``: a development token (``devtokens.mint``;
  with ``rooms: ["*"]`` where the namespace checks a rooms claim);
- ``POST /_dev/drop?namespace=<ns>&user=<sub>&connection=<id>``: close the matching open
  connections (every filter optional) as API Gateway does at the 2-hour cap (1001, ``Going
  away``), to watch clients reconnect and resume.

The ``/_dev/`` routes answer only loopback clients naming a loopback host (no DNS
rebinding), and refuse a browser's cross-origin ``Origin``. Any other path is not this
module's: :meth:`DemoSite.respond` returns None and the handshake goes on as before.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from realtime_socket.contract import DEFAULT_CARRIERS, DEFAULT_QUERY_PARAMETER, Env
from realtime_socket.local import devtokens
from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.gateway.timeouts import GOING_AWAY
from realtime_socket.local.management import Peer
from realtime_socket.local.model import LocalModel

__all__ = ["STATIC", "DemoSite", "Selection", "namespaces", "select"]

#: Path -> (file under ``realtime_socket/web``, content type).
STATIC: Mapping[str, tuple[str, str]] = {
    "/": ("demo/index.html", "text/html; charset=utf-8"),
    "/demo.css": ("demo/demo.css", "text/css; charset=utf-8"),
    "/demo.js": ("demo/demo.js", "text/javascript; charset=utf-8"),
    "/realtime-socket.js": ("realtime-socket.js", "text/javascript; charset=utf-8"),
}
_DEV_ROUTES = {"/_dev/namespaces": "GET", "/_dev/token": "GET", "/_dev/drop": "POST"}
_LOOPBACK_NAMES = {"localhost"}

P = TypeVar("P", bound=Peer)


def _response(status: int, body: bytes, content_type: str, **extra: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *extra.items(),
        ]
    )
    return Response(status, HTTPStatus(status).phrase, headers, body)


def _json(status: int, value: Any, **extra: str) -> Response:
    return _response(status, json.dumps(value).encode(), "application/json", **extra)


def _error(status: int, message: str, **extra: str) -> Response:
    return _json(status, {"error": message}, **extra)


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """``Host``'s name without the port (``[::1]:8080`` -> ``::1``)."""
    return urlsplit(f"//{host_header}").hostname or ""


def namespaces(model: LocalModel) -> list[dict[str, Any]]:
    """What the demo page needs to connect to each namespace."""
    found = []
    for ns, api in model.apis.items():
        authorizer = api.connect_authorizer
        env = authorizer.function.environment if authorizer else {}
        carriers = env.get(Env.JWT_CARRIERS, ",".join(DEFAULT_CARRIERS)).split(",")
        found.append(
            {
                "namespace": ns,
                "path": f"/{ns}",
                "token": authorizer is not None and not env.get(Env.JWT_JWKS_URL),
                "carriers": [c for c in carriers if c] if authorizer else [],
                "query_parameter": env.get(Env.JWT_QUERY_PARAMETER, DEFAULT_QUERY_PARAMETER),
                "checks_rooms": bool(env.get(Env.JWT_ROOMS_CLAIM)),
            }
        )
    return found


@dataclass(frozen=True)
class Selection:
    """Which open connections a drop closes; an empty field matches any."""

    namespace: str = ""
    user: str = ""
    connection: str = ""

    def matches(self, peer: Peer) -> bool:
        conn = peer.connection
        auth = conn.info.authorizer
        user = str(auth.get("sub") or auth.get("principalId") or "")
        return (
            (not self.namespace or conn.api.namespace == self.namespace)
            and (not self.user or user == self.user)
            and (not self.connection or conn.connection_id == self.connection)
        )


def select(sessions: Mapping[str, P], selection: Selection) -> list[P]:
    """The open connections ``selection`` names, oldest first."""
    return [peer for peer in sessions.values() if selection.matches(peer)]


class DemoSite(Generic[P]):
    """Answers the plain HTTP requests of the WebSocket port; see the module docstring.

    Args:
        model: the APIs served (namespaces, authorizers, for tokens).
        sessions: the open connections by id, as the endpoint keeps them.
        close: closes one connection with the given close (the endpoint's own close, so
            ``$disconnect`` reports it as the gateway's); called, not awaited.
    """

    def __init__(
        self, model: LocalModel, sessions: Mapping[str, P], close: Callable[[P, Close], None]
    ) -> None:
        self.model = model
        self.sessions = sessions
        self.close = close

    def respond(self, request: Request, peer: str) -> Response | None:
        """The response to ``request`` from address ``peer``; None for a WebSocket upgrade
        or a path this site does not serve."""
        if "websocket" in request.headers.get("Upgrade", "").lower():
            return None
        parts = urlsplit(request.path)
        method = request.method
        if parts.path in STATIC:
            if method != "GET":
                return _error(405, "use GET", Allow="GET")
            name, content_type = STATIC[parts.path]
            body = resources.files("realtime_socket").joinpath("web", name).read_bytes()
            return _response(200, body, content_type)
        allowed = _DEV_ROUTES.get(parts.path)
        if allowed is None:
            return None
        refusal = self._refusal(request, peer)
        if refusal is not None:
            return refusal
        if method != allowed:
            return _error(405, f"use {allowed}", Allow=allowed)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/_dev/namespaces":
            return _json(200, {"namespaces": namespaces(self.model)})
        if parts.path == "/_dev/token":
            return self._token(query)
        return self._drop(query)

    def _refusal(self, request: Request, peer: str) -> Response | None:
        """403 unless a loopback client asked for a loopback host, from the same origin."""
        host = request.headers.get("Host", "")
        if not _is_loopback(peer) or not _is_loopback(_host_name(host)):
            return _error(403, "development routes answer loopback clients only")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != host:
            return _error(403, f"cross-origin request from {origin} refused")
        return None

    def _token(self, query: Mapping[str, str]) -> Response:
        namespace = query.get("namespace") or None
        sub = query.get("sub", "").strip()
        if not sub:
            return _error(400, "sub (the user name) is required")
        rooms = None
        info = next((n for n in namespaces(self.model) if n["namespace"] == namespace), None)
        if info is not None and info["checks_rooms"]:
            rooms = ["*"]  # a demo user may join any room
        try:
            token = devtokens.mint(self.model, namespace, sub=sub, rooms=rooms)
        except devtokens.TokenError as exc:
            return _error(400, str(exc))
        return _json(200, {"token": token, "sub": sub})

    def _drop(self, query: Mapping[str, str]) -> Response:
        selection = Selection(
            query.get("namespace", ""), query.get("user", ""), query.get("connection", "")
        )
        if selection.namespace and selection.namespace not in self.model.apis:
            return _error(404, f"no namespace {selection.namespace!r}")
        dropped = select(self.sessions, selection)
        for peer in dropped:
            self.close(peer, GOING_AWAY)
        ids = [peer.connection.connection_id for peer in dropped]
        return _json(200, {"dropped": ids, "code": GOING_AWAY.code, "reason": GOING_AWAY.reason})
