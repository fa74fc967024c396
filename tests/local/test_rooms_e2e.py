"""Room authorization end to end: the dev stack (``telemetry`` sets ``jwt.rooms_claim: rooms``,
``chat`` leaves rooms open) served by the local runtime, real WebSocket clients, tokens from
``realtime-socket token``'s minting code."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from realtime_socket.local import devtokens
from realtime_socket.local.model import build
from tests.support.runtime_harness import RunningRuntime, logged_runtime
from tests.support.stack_project import run_stack
from tests.support.ws_client import handshake_status, recv_json, send


@pytest.fixture(scope="module")
def dev_rt(tmp_path_factory) -> Iterator[RunningRuntime]:
    """The repository's own dev stack, as ``make run`` serves it; handler logs to a file."""
    with logged_runtime(tmp_path_factory, "rooms", build(run_stack())) as running:
        yield running


def _joined(url: str, room: str) -> None:
    """Connect, send, and get the message back from ``room``: the connection is in it."""
    with connect(url) as ws:
        send(ws, {"action": "sendmessage", "data": "hi"})
        frame = recv_json(ws)
        assert (frame["type"], frame["room"], frame["data"]) == ("message", room, "hi")


def test_a_room_the_token_names_is_joined(dev_rt):
    """telemetry: a token whose rooms claim lists the room exactly connects and talks."""
    _joined(dev_rt.dev_url("telemetry", "device-42", sub="d42", rooms=["device-42"]), "device-42")


def test_a_room_matching_a_pattern_is_joined(dev_rt):
    """telemetry: ``team-7*`` admits ``team-7:ops``."""
    url = dev_rt.dev_url("telemetry", "team-7:ops", sub="ann", rooms=["lobby", "team-7*"])
    _joined(url, "team-7:ops")


@pytest.mark.parametrize(
    ("room", "claims"),
    [
        ("team-8", {"rooms": ["lobby", "team-7*"]}),  # not granted
        ("lobby2", {"rooms": ["lobby"]}),  # no partial match
        ("lobby", {}),  # no rooms claim while telemetry requires one
        ("lobby", {"rooms": 42}),  # malformed claim
    ],
)
def test_a_room_the_token_does_not_grant_is_refused_with_403(dev_rt, room, claims):
    """telemetry: not granted, no claim, or a malformed claim: the handshake is 403."""
    url = dev_rt.dev_url("telemetry", room, sub="mallory", claims=claims)
    assert handshake_status(url) == 403


def test_an_invalid_room_id_is_still_400(dev_rt):
    """The room id is checked before the grants: 400, even for a token granting every room."""
    assert handshake_status(dev_rt.dev_url("telemetry", "a/b", rooms=["*"])) == 400


def test_chat_rooms_stay_open(dev_rt):
    """chat sets no rooms_claim: a token without one joins any room, as the quick start does."""
    with connect(dev_rt.dev_url("chat", "any-room-at-all", sub="alice")) as ws:
        assert ws.response is not None and ws.response.status_code == 101


def test_refusals_are_logged_with_the_reason_but_never_the_token_or_rooms(dev_rt):
    """The authorizer logs why the grants are empty, $connect why it refused; neither logs
    the token or the rooms the claim lists."""
    token = devtokens.mint(dev_rt.runtime.model, "telemetry", sub="eve", claims={"rooms": 7})
    url = f"{dev_rt.runtime.ws_url('telemetry')}?room_id=secret-room-x&token={token}"
    assert handshake_status(url) == 403
    listed = dev_rt.dev_url("telemetry", "elsewhere", sub="eve", rooms=["hidden-room-y"])
    assert handshake_status(listed) == 403
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [
            json.loads(line)
            for line in dev_rt.handler_log.read_text().splitlines()
            if line.startswith("{") and '"route"' in line
        ]
        reasons = {(r["route"], r.get("roomsProblem") or r.get("reason")) for r in lines}
        if ("$connect", "room not granted by the token") in reasons:
            break
        time.sleep(0.1)
    assert ("$connect", "rooms claim is a int, not a list or a string") in reasons
    assert ("$connect", "room not granted by the token") in reasons
    text = dev_rt.handler_log.read_text()
    assert token not in text
    assert token.split(".")[2] not in text
    assert "hidden-room-y" not in text
