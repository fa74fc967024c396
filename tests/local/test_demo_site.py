"""The demo page and the development routes on the WebSocket port (``local/demo_site.py``):
static files from the package, tokens, the namespaces list, the drop admin call and the
loopback / same-origin guard; then the same routes on a running runtime."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import jwt
import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.client import connect

from realtime_socket.local.clock import ManualClock
from realtime_socket.local.demo_site import STATIC, DemoSite, Selection, namespaces, select
from realtime_socket.local.gateway.actions import Close
from realtime_socket.local.gateway.connection import new_connection_id
from realtime_socket.local.gateway.timeouts import GOING_AWAY, Timeouts
from realtime_socket.local.model import build
from realtime_socket.local.websocket_endpoint import WebSocketEndpoint
from tests.local.gateway.factories import api, connection
from tests.support.fakes import FakePeer
from tests.support.runtime_harness import RunningRuntime
from tests.support.stack_project import run_stack
from tests.support.ws_client import recv_json

LOOPBACK = "127.0.0.1"


def _request(path: str, method: str = "GET", **headers: str) -> Request:
    fields = {"Host": "127.0.0.1:8080", **headers}
    return Request(path, Headers(list(fields.items())), method)


def _json(response: Response | None) -> Any:
    assert response is not None
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def _peer(namespace: str, user: str) -> FakePeer:
    peer = FakePeer(connection(api(namespace=namespace)))
    peer.connection.info.authorizer = {"principalId": user}
    peer.connection.info.connection_id = new_connection_id()
    return peer


class Site:
    """A DemoSite over fake peers, recording what it closes."""

    def __init__(self, model: Any, peers: list[FakePeer] | None = None) -> None:
        self.closed: list[tuple[str, Close]] = []
        self.peers = {p.connection.connection_id: p for p in peers or []}
        self.site = DemoSite(model, self.peers, self._close)

    def _close(self, peer: FakePeer, close: Close) -> None:
        self.closed.append((peer.connection.connection_id, close))

    def get(self, path: str, method: str = "GET", peer: str = LOOPBACK, **headers: str):
        return self.site.respond(_request(path, method, **headers), peer)


@pytest.fixture(scope="module")
def dev_model():
    """The repository's dev stack: chat (open rooms), telemetry (checks a rooms claim)."""
    return build(run_stack())


@pytest.mark.parametrize("path", sorted(STATIC))
def test_static_files_come_from_the_package(standard_model, path):
    """Every page file ships in realtime_socket/web and is served with its type, uncached."""
    response = Site(standard_model).get(path)
    assert response is not None and response.status_code == 200
    assert response.headers["Content-Type"] == STATIC[path][1]
    assert response.headers["Cache-Control"] == "no-store"
    assert int(response.headers["Content-Length"]) == len(response.body) > 500


def test_the_page_loads_the_client_module_from_this_origin(standard_model):
    """index.html loads demo.js, which imports the client at /realtime-socket.js."""
    site = Site(standard_model)
    page, script = site.get("/"), site.get("/demo.js")
    assert page is not None and script is not None
    assert b'src="/demo.js"' in page.body and b'href="/demo.css"' in page.body
    assert b'from "/realtime-socket.js"' in script.body


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", {"Upgrade": "websocket", "Connection": "Upgrade"}),  # a handshake, not a page
        ("/chat", {}),  # a namespace: the handshake decides, as before
        ("/nothing/here", {}),
        ("/_dev", {}),
    ],
)
def test_upgrades_and_other_paths_are_not_the_sites(standard_model, path, headers):
    """None: the request goes on to the gateway's handshake unchanged."""
    assert Site(standard_model).get(path, **headers) is None


def test_namespaces_list_what_a_browser_needs(standard_model):
    """Each namespace's path and carriers: proto takes the token only as a subprotocol."""
    listed = {
        n["namespace"]: n for n in _json(Site(standard_model).get("/_dev/namespaces"))["namespaces"]
    }
    assert set(listed) == {"chat", "telemetry", "proto"}
    assert listed["chat"]["path"] == "/chat" and listed["chat"]["carriers"] == ["query"]
    assert listed["proto"]["carriers"] == ["protocol"]
    assert listed["chat"]["query_parameter"] == "token" and listed["chat"]["token"] is True


def test_a_token_for_the_user_named(standard_model):
    """The token is signed for the namespace, for ``sub``, without a rooms claim."""
    body = _json(Site(standard_model).get("/_dev/token?namespace=chat&sub=alice"))
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert body["sub"] == claims["sub"] == "alice"
    assert "rooms" not in claims


def test_a_namespace_checking_rooms_gets_every_room(dev_model):
    """telemetry sets jwt.rooms_claim: the demo's token grants ["*"]."""
    listed = {n["namespace"]: n for n in namespaces(dev_model)}
    assert listed["telemetry"]["checks_rooms"] and not listed["chat"]["checks_rooms"]
    body = _json(Site(dev_model).get("/_dev/token?namespace=telemetry&sub=dev"))
    assert jwt.decode(body["token"], options={"verify_signature": False})["rooms"] == ["*"]


@pytest.mark.parametrize(
    ("query", "error"),
    [("namespace=chat", "sub"), ("namespace=nope&sub=a", "no namespace 'nope'")],
)
def test_token_errors_are_400_with_the_reason(standard_model, query, error):
    response = Site(standard_model).get(f"/_dev/token?{query}")
    assert response is not None and response.status_code == 400
    assert error in _json(response)["error"]


def test_drop_closes_the_selected_connections_as_the_cap_does(standard_model):
    """POST /_dev/drop?namespace&user: only bob's chat connections, with 1001 Going away."""
    bob_chat, bob_proto, ann_chat = (
        _peer("chat", "bob"),
        _peer("proto", "bob"),
        _peer("chat", "ann"),
    )
    site = Site(standard_model, [bob_chat, bob_proto, ann_chat])
    body = _json(site.get("/_dev/drop?namespace=chat&user=bob", "POST"))
    assert body == {"dropped": [bob_chat.connection.connection_id], "code": 1001,
                    "reason": "Going away"}  # fmt: skip
    assert site.closed == [(bob_chat.connection.connection_id, GOING_AWAY)]


def test_drop_filters(standard_model):
    """Every filter is optional; a connection id picks one; no filter picks all."""
    peers = {p.connection.connection_id: p for p in (_peer("chat", "a"), _peer("proto", "b"))}
    first = next(iter(peers))
    assert select(peers, Selection(connection=first)) == [peers[first]]
    assert select(peers, Selection(user="b")) == [list(peers.values())[1]]
    assert select(peers, Selection()) == list(peers.values())
    assert select(peers, Selection(namespace="telemetry")) == []


def test_drop_of_an_unknown_namespace_is_404(standard_model):
    response = Site(standard_model).get("/_dev/drop?namespace=nope", "POST")
    assert response is not None and response.status_code == 404


@pytest.mark.parametrize(
    ("path", "method", "allow"),
    [
        ("/_dev/drop", "GET", "POST"),
        ("/_dev/token?sub=a", "POST", "GET"),
        ("/", "POST", "GET"),
    ],
)
def test_wrong_methods_are_405(standard_model, path, method, allow):
    response = Site(standard_model).get(path, method)
    assert response is not None and response.status_code == 405
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize(
    ("peer", "headers"),
    [
        ("10.0.0.7", {}),  # another machine
        (LOOPBACK, {"Host": "attacker.example:8080"}),  # DNS rebinding
        (LOOPBACK, {"Origin": "http://attacker.example"}),  # a cross-origin page
    ],
)
def test_dev_routes_refuse_other_machines_and_origins(standard_model, peer, headers):
    """403 for the token and drop routes; nothing is closed."""
    site = Site(standard_model, [_peer("chat", "bob")])
    for path, method in (("/_dev/token?sub=x", "GET"), ("/_dev/drop", "POST")):
        response = site.get(path, method, peer=peer, **headers)
        assert response is not None and response.status_code == 403, path
    assert site.closed == []


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"])
def test_same_origin_loopback_requests_are_answered(standard_model, host):
    response = Site(standard_model).get(
        "/_dev/namespaces", Host=host, Origin=f"http://{host}", peer="::1"
    )
    assert response is not None and response.status_code == 200


def test_the_endpoint_answers_pages_before_the_handshake(standard_model):
    """WebSocketEndpoint's process_request returns the site's page for a plain GET /."""

    class Socket:
        remote_address = (LOOPBACK, 5555)

    endpoint = WebSocketEndpoint(standard_model, None, clock=ManualClock(), timeouts=Timeouts())  # type: ignore[arg-type]
    response = asyncio.run(endpoint._process_request(Socket(), _request("/")))  # type: ignore[arg-type]
    assert response is not None and response.status_code == 200
    assert b"<title>realtime-socket demo</title>" in response.body


# -- on a running runtime ---------------------------------------------------------------------


def _http(rt: RunningRuntime, path: str, method: str = "GET") -> tuple[int, bytes]:
    url = f"http://127.0.0.1:{rt.runtime.port}{path}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_runtime_serves_the_page_and_keeps_its_404(rt):
    """On the WebSocket port: the page and the client; any other path is still the
    gateway's 404."""
    assert _http(rt, "/")[0] == 200
    status, body = _http(rt, "/realtime-socket.js")
    assert status == 200 and b"export function connect" in body
    assert _http(rt, "/nothing") == (404, b"no WebSocket API at this path")


def test_a_token_from_the_page_route_connects_and_a_drop_closes_it_with_1001(rt):
    """GET /_dev/token, connect with it; POST /_dev/drop closes that connection (1001) and
    its $disconnect reports the cap's close."""
    token = json.loads(_http(rt, "/_dev/token?namespace=chat&sub=dropme")[1])["token"]
    with connect(f"{rt.runtime.ws_url('chat')}?room_id=drop-room&token={token}") as ws:
        ws.send(json.dumps({"action": "ping"}))
        assert recv_json(ws) == {"type": "pong"}
        status, body = _http(rt, "/_dev/drop?namespace=chat&user=dropme", "POST")
        assert status == 200 and len(json.loads(body)["dropped"]) == 1
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
