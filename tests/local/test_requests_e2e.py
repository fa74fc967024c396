"""Server push to a user and request/reply end to end: the dev stack (``telemetry`` with its
rooms claim, ``chat`` open) served by the local runtime, real WebSocket clients as devices,
and a :class:`~realtime_socket.publish.Publisher` pointed at the runtime's AWS endpoint."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from websockets.asyncio.client import connect as connect_async
from websockets.sync.client import ClientConnection, connect

from realtime_socket.contract import MAX_FRAME_BYTES, MAX_REPLY_BYTES, Table
from realtime_socket.handlers import connections
from realtime_socket.local.model import build
from realtime_socket.publish import NotConnected, Publisher, PublishResult
from tests.support.helpers import eventually, memberships, table_items
from tests.support.runtime_harness import RunningRuntime, logged_runtime
from tests.support.stack_project import run_stack
from tests.support.ws_client import assert_silent, recv_json, send

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def dev_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    """The repository's own dev stack, as ``make run`` serves it, shared by the module."""
    with logged_runtime(tmp_path_factory, "requests", build(run_stack())) as running:
        yield running


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    """Runs the blocking ``request`` while the test drives the devices."""
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


@pytest.fixture
def publisher(dev_rt: RunningRuntime, monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    """A publisher for ``telemetry``, talking to the runtime's DynamoDB and @connections."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", dev_rt.runtime.aws_endpoint)
    with Publisher(
        table_name=dev_rt.table_name("telemetry"),
        management_endpoint=dev_rt.runtime.management_url("telemetry"),
    ) as made:
        yield made


def _device(rt: RunningRuntime, sub: str, room: str | None = None) -> ClientConnection:
    """A telemetry connection of ``sub``, in ``room`` (granted by its token) or in none."""
    rooms = [room] if room is not None else None
    return connect(rt.dev_url("telemetry", room, sub=sub, rooms=rooms))


def _request_frame(ws: ClientConnection) -> dict[str, Any]:
    frame = recv_json(ws)
    assert frame.get("type") == "request", frame
    return frame


def _reply(ws: ClientConnection, request_id: str, data: Any) -> None:
    send(ws, {"action": "reply", "id": request_id, "data": data})


def _error_code(ws: ClientConnection) -> str:
    frame = recv_json(ws)
    assert frame.get("type") == "error", frame
    return str(frame["code"])


def _pending_requests(rt: RunningRuntime) -> list[str]:
    items = table_items(rt.dynamodb(), rt.table_name("telemetry"))
    return [key for key in items if key.startswith(Table.REQUEST_PREFIX)]


def _user_rows(rt: RunningRuntime, user: str) -> list[str]:
    items = table_items(rt.dynamodb(), rt.table_name("telemetry"))
    return [k for k, item in items.items() if item.get(Table.USER_ID, {}).get("S") == user]


# -- send_to_user -----------------------------------------------------------------------------


def test_send_to_user_reaches_every_connection_of_that_user_and_nobody_else(
    dev_rt: RunningRuntime, publisher: Publisher
) -> None:
    """Both of device-42's connections get room null/from server; its room-mate, its namesake
    in chat and everyone else get nothing."""
    with (
        _device(dev_rt, "device-42", "device-42") as in_room,
        _device(dev_rt, "device-42") as no_room,
        _device(dev_rt, "device-43", "device-42") as room_mate,
        connect(dev_rt.dev_url("chat", sub="device-42")) as chat_namesake,
    ):
        result = publisher.send_to_user("device-42", {"cmd": "reboot"})
        assert result == PublishResult(delivered=2, gone=0, failed=0)
        frames = [recv_json(in_room), recv_json(no_room)]
        for frame in frames:
            assert set(frame) == {"type", "room", "from", "data", "id", "ts"}
            assert (frame["type"], frame["room"], frame["from"], frame["data"]) == (
                "message",
                None,
                "server",
                {"cmd": "reboot"},
            )
            assert HEX32.fullmatch(frame["id"])
        assert frames[0]["id"] == frames[1]["id"]  # one message, posted to each connection
        assert_silent(room_mate, 0.3)
        assert_silent(chat_namesake, 0.3)
        assert publisher.send_to_user("nobody-here", "x") == PublishResult()


# -- request / reply --------------------------------------------------------------------------


def test_request_returns_the_first_reply_and_only_once(
    dev_rt: RunningRuntime, publisher: Publisher, pool: ThreadPoolExecutor
) -> None:
    """Both connections get the request (32-hex id); the first reply is returned, the
    answerer hears nothing back, the second connection's reply is unknown_request."""
    with (
        _device(dev_rt, "sensor-1", "sensor-1") as first,
        _device(dev_rt, "sensor-1") as second,
    ):
        asked: Future[Any] = pool.submit(publisher.request, "sensor-1", {"read": "temp"}, 10.0)
        frame = _request_frame(first)
        assert set(frame) == {"type", "id", "data"} and frame["data"] == {"read": "temp"}
        assert HEX32.fullmatch(frame["id"])
        assert _request_frame(second) == frame
        _reply(first, frame["id"], {"temp": 21.5})
        assert asked.result(10) == {"temp": 21.5}
        assert_silent(first, 0.3)  # a reply that is taken sends nothing back
        _reply(second, frame["id"], {"temp": 99})
        assert _error_code(second) == "unknown_request"
        assert _pending_requests(dev_rt) == []  # the request's item is deleted


def test_a_reply_from_another_connection_is_refused_and_the_device_still_answers(
    dev_rt: RunningRuntime, publisher: Publisher, pool: ThreadPoolExecutor
) -> None:
    """Another user's connection replying with the request id gets unknown_request; the
    real device's answer is what request returns."""
    with (
        _device(dev_rt, "sensor-2") as device,
        _device(dev_rt, "intruder") as intruder,
    ):
        asked: Future[Any] = pool.submit(publisher.request, "sensor-2", "status?", 10.0)
        request_id = _request_frame(device)["id"]
        assert_silent(intruder, 0.2)  # the request went to sensor-2 only
        _reply(intruder, request_id, "forged")
        assert _error_code(intruder) == "unknown_request"
        assert not asked.done()
        _reply(device, request_id, "real")
        assert asked.result(10) == "real"


def test_no_reply_times_out_and_a_late_reply_is_unknown_request(
    dev_rt: RunningRuntime, publisher: Publisher, pool: ThreadPoolExecutor
) -> None:
    """A silent device: TimeoutError naming the user after about the timeout; replying
    after it is unknown_request and leaves no pending item."""
    with _device(dev_rt, "sensor-3") as device:
        started = time.monotonic()
        asked: Future[Any] = pool.submit(publisher.request, "sensor-3", "ping", 1.0)
        request_id = _request_frame(device)["id"]
        with pytest.raises(TimeoutError, match="sensor-3"):
            asked.result(10)
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 4.0, elapsed
        _reply(device, request_id, "too late")
        assert _error_code(device) == "unknown_request"
        assert _pending_requests(dev_rt) == []


def test_a_device_that_disconnected_is_not_connected_at_once(
    dev_rt: RunningRuntime, publisher: Publisher
) -> None:
    """The user's only connection closed before the request: NotConnected (a LookupError)
    in well under the timeout; a user who never connected too."""
    with _device(dev_rt, "sensor-4"):
        assert _user_rows(dev_rt, "sensor-4")
    assert eventually(lambda: not _user_rows(dev_rt, "sensor-4"))
    for user in ("sensor-4", "never-connected"):
        started = time.monotonic()
        with pytest.raises(NotConnected, match="no live connection") as raised:
            publisher.request(user, "ping", timeout=5.0)
        assert time.monotonic() - started < 2.5
        assert isinstance(raised.value, LookupError) and raised.value.user == user
    assert _pending_requests(dev_rt) == []


def test_a_row_without_a_live_connection_is_not_connected_and_cleaned(
    dev_rt: RunningRuntime, publisher: Publisher
) -> None:
    """A row whose connection is gone (a lost $disconnect): NotConnected at once, and the
    410 deletes the row, its membership and the pending request."""
    db, table = dev_rt.dynamodb(), dev_rt.table_name("telemetry")
    a_minute_ago = int(time.time() * 1000) - 60_000  # past the grace for a 410 in $connect
    ghost = connections.Connection(
        "GhostConnId0=", "sensor-5", a_minute_ago, frozenset({"sensor-5"})
    )
    connections.put(db, table, ghost, ttl_seconds=600)
    assert ("GhostConnId0=", "sensor-5") in memberships(db, table)
    started = time.monotonic()
    with pytest.raises(NotConnected, match="did not take the request"):
        publisher.request("sensor-5", "ping", timeout=5.0)
    assert time.monotonic() - started < 2.5
    assert _user_rows(dev_rt, "sensor-5") == []
    assert not [pair for pair in memberships(db, table) if pair[0] == "GhostConnId0="]
    assert _pending_requests(dev_rt) == []


def test_an_oversized_reply_is_refused_and_the_request_stays_pending(
    dev_rt: RunningRuntime, publisher: Publisher, pool: ThreadPoolExecutor
) -> None:
    """data one byte over MAX_REPLY_BYTES, sent as one frame as a browser would: the error
    frame reply_too_large (not a 1009 close); the request stays pending and a reply of exactly
    the limit, also one frame (with a client's spacing), is accepted and returned."""
    with _device(dev_rt, "sensor-6") as device:
        asked: Future[Any] = pool.submit(publisher.request, "sensor-6", "dump", 10.0)
        request_id = _request_frame(device)["id"]
        over = "x" * (MAX_REPLY_BYTES - 1)  # its JSON is the string plus 2 quotes
        device.send(json.dumps({"action": "reply", "id": request_id, "data": over}))
        assert _error_code(device) == "reply_too_large"
        assert not asked.done()
        exact = "y" * (MAX_REPLY_BYTES - 2)
        frame = json.dumps({"action": "reply", "id": request_id, "data": exact})
        assert len(frame.encode()) <= MAX_FRAME_BYTES  # the limit leaves room for the envelope
        device.send(frame)
        assert asked.result(10) == exact
        assert_silent(device, 0.3)


# -- asyncio ----------------------------------------------------------------------------------


def test_request_async_runs_inside_an_event_loop_and_request_refuses_to(
    dev_rt: RunningRuntime, publisher: Publisher
) -> None:
    """On a running loop the sync request raises RuntimeError before sending anything;
    request_async waits off the loop while a device on the same loop answers."""

    async def scenario() -> Any:
        async with connect_async(dev_rt.dev_url("telemetry", sub="sensor-7")) as device:
            with pytest.raises(RuntimeError, match="request_async"):
                publisher.request("sensor-7", "sync?", timeout=5.0)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(device.recv(), 0.3)  # nothing was sent
            asked = asyncio.create_task(
                publisher.request_async("sensor-7", {"read": "hum"}, timeout=10.0)
            )
            frame = json.loads(await asyncio.wait_for(device.recv(), 10))
            assert (frame["type"], frame["data"]) == ("request", {"read": "hum"})
            await device.send(json.dumps({"action": "reply", "id": frame["id"], "data": 0.4}))
            return await asyncio.wait_for(asked, 10)

    assert asyncio.run(scenario()) == 0.4
