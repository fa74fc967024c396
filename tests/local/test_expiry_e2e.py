"""Token expiry end to end: the dev stack served by the local runtime, real WebSocket clients
whose tokens expire a few seconds after they connect."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from realtime_socket.local import devtokens
from realtime_socket.local.model import build
from tests.support.helpers import eventually, table_items
from tests.support.runtime_harness import RunningRuntime, logged_runtime
from tests.support.stack_project import run_stack
from tests.support.ws_client import assert_silent, recv_json, send

#: Long enough to connect and see a message, short enough to wait for.
LIFETIME = 8


@pytest.fixture(scope="module")
def dev_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    with logged_runtime(tmp_path_factory, "expiry", build(run_stack())) as running:
        yield running


def _url(rt: RunningRuntime, sub: str, ttl_seconds: int) -> str:
    token = devtokens.mint(rt.runtime.model, "chat", sub=sub, ttl_seconds=ttl_seconds)
    return f"{rt.runtime.ws_url('chat')}?room_id=expiry&token={token}"


def test_an_expired_connection_gets_no_messages_and_its_next_frame_closes_it(
    dev_rt: RunningRuntime,
) -> None:
    """Before exp the short-lived client receives the room's messages; after it, a broadcast
    skips it (its rows ended at exp), and its next frame gets token_expired and a close."""
    with (
        connect(_url(dev_rt, "brief", LIFETIME)) as brief,
        connect(_url(dev_rt, "steady", 3600)) as steady,
    ):
        expires = time.time() + LIFETIME
        send(steady, {"action": "sendmessage", "data": "before"})
        assert recv_json(brief)["data"] == "before"
        assert recv_json(steady)["data"] == "before"
        time.sleep(max(0.0, expires - time.time()) + 1)
        send(steady, {"action": "sendmessage", "data": "after"})
        assert recv_json(steady)["data"] == "after"
        assert_silent(brief, 0.5)
        send(brief, {"action": "ping"})
        frame = recv_json(brief)
        assert (frame["type"], frame["code"]) == ("error", "token_expired")
        with pytest.raises(ConnectionClosed):
            brief.recv(timeout=5)
        # $disconnect followed the DELETE: the expired connection's rows are gone
        assert eventually(
            lambda: (
                not any(
                    item.get("userId", {}).get("S") == "brief"
                    for item in table_items(dev_rt.dynamodb(), dev_rt.table_name("chat")).values()
                )
            )
        )
