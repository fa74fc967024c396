"""The ``@connections`` management API over HTTP, as botocore's client calls it.

``POST|GET|DELETE /<namespace>/<stage>/@connections/<id>``: the handlers reach it through
``MANAGEMENT_ENDPOINT`` (``http://127.0.0.1:<port>/<namespace>/<stage>``), the same setting
they use on AWS, and outside backends can call it with boto3 or curl. Errors carry the
``x-amzn-ErrorType`` header botocore maps to its modeled exceptions. Requests are not
signature-checked: the endpoint listens on loopback only.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import unquote

__all__ = ["ConnectionsBackend", "ManagementServer"]


class ConnectionsBackend(Protocol):
    """What the runtime provides; each call is thread-safe and returns an HTTP status."""

    def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> int: ...

    def get_connection(self, namespace: str, stage: str, cid: str) -> dict[str, Any] | None: ...

    def delete_connection(self, namespace: str, stage: str, cid: str) -> int: ...


_ERRORS = {
    400: "BadRequestException",
    403: "ForbiddenException",
    404: "NotFoundException",
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
}


def _handler_class(backend: ConnectionsBackend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _target(self) -> tuple[str, str, str] | None:
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if len(parts) == 4 and parts[2] == "@connections":
                return parts[0], parts[1], unquote(parts[3])
            return None

        def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
            payload = b""
            if body is None and status in _ERRORS:
                body = {"message": _ERRORS[status]}
            if body is not None:
                payload = json.dumps(body).encode()
            self.send_response(status)
            if status in _ERRORS:
                self.send_header("x-amzn-ErrorType", _ERRORS[status])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_POST(self) -> None:
            data = self._read_body()
            target = self._target()
            if target is None:
                self._reply(404)
                return
            self._reply(backend.post_to_connection(*target, data))

        def do_GET(self) -> None:
            target = self._target()
            info = backend.get_connection(*target) if target else None
            if target is None:
                self._reply(404)
            elif info is None:
                self._reply(410)
            else:
                self._reply(200, info)

        def do_DELETE(self) -> None:
            target = self._target()
            self._reply(404 if target is None else backend.delete_connection(*target))

    return Handler


class ManagementServer:
    """A threaded HTTP server on loopback for the ``@connections`` API."""

    def __init__(self, backend: ConnectionsBackend, host: str = "127.0.0.1", port: int = 0):
        self._server = ThreadingHTTPServer((host, port), _handler_class(backend))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
