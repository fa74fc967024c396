"""Publisher: server-side push to a room, on the sendmessage handler's own code.

Against moto and the scripted loopback ``@connections`` endpoint of the handler tests, plus
one run through a real local runtime with WebSocket clients.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from websockets.sync.client import connect

from realtime_socket import RealtimeSocket
from realtime_socket.component import policies
from realtime_socket.contract import MAX_MESSAGE_BYTES, Table
from realtime_socket.handlers import connections, messages, protocol, requests
from realtime_socket.publish import NotConnected, Publisher, PublishResult
from tests.handlers.conftest import connected_long_ago as connected_long_ago  # autouse
from tests.handlers.conftest import endpoint as endpoint  # the handler tests' fixtures
from tests.handlers.conftest import table as table
from tests.support.helpers import (
    HISTORY,
    ScriptedConnections,
    jwt_args,
    mint,
    modules_loaded_by,
    record_calls,
    table_items,
    within,
)
from tests.support.runtime_harness import RunningRuntime, logged_runtime, model_of
from tests.support.ws_client import assert_silent, recv_json

MEMBERS = {"A": "lobby", "B": "lobby", "C": "lobby", "D": "other"}


def _join(db: Any, table_name: str, rooms: dict[str, str]) -> None:
    now = int(time.time() * 1000)
    for cid, room in rooms.items():
        conn = connections.Connection(cid, f"user-{cid}", now, frozenset({room}))
        connections.put(db, table_name, conn, ttl_seconds=600)


def _record_calls(publisher: Publisher) -> list[tuple[str, str | None]]:
    """Every DynamoDB action the publisher's client asks for: (operation, index or HISTORY)."""
    return record_calls(publisher._db, publisher.history_table or "")


@pytest.fixture
def room(table: Any, endpoint: ScriptedConnections) -> Iterator[tuple[Any, Publisher]]:
    """A table holding A, B and C in ``lobby`` and D in ``other``, and a publisher to it."""
    db, cfg = table
    _join(db, cfg.table_name, MEMBERS)
    publisher = Publisher(
        table_name=cfg.table_name,
        management_endpoint=endpoint.endpoint,
        concurrency=4,
        history_table=cfg.history_table,
    )
    yield db, publisher
    publisher.close()


# -- publish ----------------------------------------------------------------------------------


def test_every_member_gets_the_message_frame_from_the_sender(room, endpoint):
    """Each lobby member gets sendmessage's frame with ``from`` = sender; other rooms nothing."""
    _, publisher = room
    result = publisher.publish("lobby", {"text": "deployed"}, sender="deploy-bot")
    assert result == PublishResult(delivered=3, gone=0, failed=0)
    frames = [endpoint.frames(cid) for cid in "ABC"]
    assert all(len(f) == 1 for f in frames)
    first = frames[0][0]
    assert set(first) == set(protocol.message_frame("r", "s", None, seq=1))
    assert first["seq"] == 1  # the room's first message
    assert (first["type"], first["room"], first["from"], first["data"]) == (
        "message",
        "lobby",
        "deploy-bot",
        {"text": "deployed"},
    )
    assert len(first["id"]) == 32 and int(first["id"], 16) >= 0
    assert abs(first["ts"] - time.time() * 1000) < 60_000
    assert frames[1][0] == frames[2][0] == first  # one frame, one id, posted to all
    assert endpoint.frames("D") == []


def test_sender_defaults_to_server_and_an_empty_room_posts_nothing(room, endpoint):
    """Without ``sender`` the frame is from "server"; a room with no members costs no POST."""
    _, publisher = room
    assert publisher.publish("other", 1).delivered == 1
    assert endpoint.frames("D")[0]["from"] == "server"
    assert publisher.publish("empty", 1) == PublishResult(0, 0, 0)
    assert sum(endpoint.attempts.values()) == 1


def test_a_gone_connection_is_counted_and_its_row_deleted(room, endpoint):
    """A 410 counts as gone and deletes exactly that row, as the sendmessage fan-out does."""
    db, publisher = room
    endpoint.script["B"] = [410]
    result = publisher.publish("lobby", "hi")
    assert result == PublishResult(delivered=2, gone=1, failed=0)
    assert endpoint.attempts["B"] == 1
    assert connections.get(db, publisher.table_name, "B") is None
    for cid in "ACD":
        assert connections.get(db, publisher.table_name, cid) is not None


def test_a_persistent_500_is_counted_failed_after_the_retries(room, endpoint):
    """Three 500s (botocore's standard attempts) count as failed; the row stays."""
    db, publisher = room
    endpoint.script["C"] = [500, 500, 500]
    result = publisher.publish("lobby", "hi")
    assert result == PublishResult(delivered=2, gone=0, failed=1)
    assert endpoint.attempts["C"] == 3
    assert connections.get(db, publisher.table_name, "C") is not None


def test_a_transient_429_is_retried_and_delivered(room, endpoint):
    """429 then 200 is one delivery, not a failure."""
    _, publisher = room
    endpoint.script["A"] = [429]
    assert publisher.publish("lobby", "hi") == PublishResult(delivered=3, gone=0, failed=0)
    assert endpoint.attempts["A"] == 2


@pytest.mark.parametrize(
    "bad", ["", "two words", "x" * 129, "lobby\n", "../x", "caf\u00e9", "a\x00b", None, 7]
)
def test_an_invalid_room_raises_before_any_call(room, endpoint, bad):
    """A room id the contract refuses is a ValueError before DynamoDB or @connections."""
    _, publisher = room
    calls = _record_calls(publisher)
    with pytest.raises(ValueError, match="invalid room"):
        publisher.publish(bad, "hi")
    assert calls == [] and endpoint.attempts == {}


def test_oversized_data_raises_before_any_call_and_the_limit_itself_is_sent(room, endpoint):
    """Data too large even without a seq is a ValueError with no call; one byte over once the
    seq is in is a ValueError that stores nothing; exactly 128 KB is delivered."""
    db, publisher = room
    calls = _record_calls(publisher)
    bare = len(protocol.encode(protocol.message_frame("other", "server", "")))
    with pytest.raises(ValueError, match=f"limit is {MAX_MESSAGE_BYTES}"):
        publisher.publish("other", "x" * (MAX_MESSAGE_BYTES - bare + 1))
    assert calls == [] and endpoint.attempts == {}
    overhead = len(protocol.encode(protocol.message_frame("other", "server", "", seq=1)))
    with pytest.raises(ValueError, match=f"limit is {MAX_MESSAGE_BYTES}"):
        publisher.publish("other", "x" * (MAX_MESSAGE_BYTES - overhead + 1))
    assert messages.last_seq(db, publisher.history_table or "", "other") == 0
    assert endpoint.attempts == {}
    assert publisher.publish("other", "x" * (MAX_MESSAGE_BYTES - overhead)).delivered == 1
    assert len(endpoint.posts["D"][0]) == MAX_MESSAGE_BYTES


def test_an_empty_sender_raises_before_any_call(room, endpoint):
    """``sender=""`` is refused: every frame names who sent it."""
    _, publisher = room
    with pytest.raises(ValueError, match="sender"):
        publisher.publish("lobby", 1, sender="")
    assert endpoint.attempts == {}


def test_a_closed_publisher_refuses_to_publish(room):
    """After close() a publish raises instead of opening new connections."""
    _, publisher = room
    publisher.close()
    with pytest.raises(RuntimeError, match="closed"):
        publisher.publish("lobby", 1)


# -- construction -----------------------------------------------------------------------------


def test_from_stack_output_takes_a_namespaces_export(table, endpoint):
    """The dict the stack program exports per namespace builds a working publisher."""
    db, cfg = table
    _join(db, cfg.table_name, {"A": "lobby"})
    output = {
        "url": "ws://127.0.0.1/chat",
        "management_endpoint": endpoint.endpoint,
        "custom_url": None,
        "table_name": cfg.table_name,
    }
    with Publisher.from_stack_output(output) as publisher:
        assert publisher.table_name == cfg.table_name
        assert publisher.management_endpoint == endpoint.endpoint
        assert publisher.publish("lobby", "hi").delivered == 1


def test_from_stack_output_names_what_is_missing():
    """A dict without table_name or management_endpoint is a ValueError naming the key."""
    with pytest.raises(ValueError, match="table_name"):
        Publisher.from_stack_output({"url": "wss://x", "management_endpoint": "https://x/live"})
    with pytest.raises(ValueError, match="management_endpoint"):
        Publisher.from_stack_output({"table_name": "t"})


def test_the_region_is_the_endpoints_unless_given(monkeypatch):
    """Posts are signed for the API's own region, read from its execute-api host."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    url = "https://abc123.execute-api.eu-west-2.amazonaws.com/live"
    assert Publisher("t", url).region == "eu-west-2"
    assert Publisher("t", url, region="eu-central-1").region == "eu-central-1"
    assert Publisher("t", "http://127.0.0.1:8081/chat/live").region == "us-east-1"
    with pytest.raises(ValueError, match="management_endpoint"):
        Publisher("t", "abc123.execute-api.eu-west-2.amazonaws.com/live")


# -- asyncio ----------------------------------------------------------------------------------


def test_publish_async_delivers_and_runs_concurrently(room, endpoint):
    """Two concurrent publish_async calls on one publisher both deliver in full."""
    _, publisher = room

    async def main() -> list[PublishResult]:
        return list(
            await asyncio.gather(
                publisher.publish_async("lobby", "to lobby", sender="a"),
                publisher.publish_async("other", "to other", sender="b"),
            )
        )

    lobby, other = asyncio.run(main())
    assert lobby == PublishResult(delivered=3, gone=0, failed=0)
    assert other == PublishResult(delivered=1, gone=0, failed=0)
    assert [f["from"] for f in endpoint.frames("D")] == ["b"]
    assert [f["data"] for f in endpoint.frames("A")] == ["to lobby"]


def test_publish_async_validates_before_any_call(room, endpoint):
    """The async variant refuses a bad room with the same ValueError and no call."""
    _, publisher = room
    with pytest.raises(ValueError, match="invalid room"):
        asyncio.run(publisher.publish_async("no spaces", 1))
    assert endpoint.attempts == {}


def test_sync_publish_on_a_running_loop_points_to_publish_async(room, endpoint):
    """Calling publish() inside a coroutine raises before any call instead of half-running."""
    _, publisher = room
    calls = _record_calls(publisher)

    async def main() -> None:
        publisher.publish("lobby", 1)

    with pytest.raises(RuntimeError, match="publish_async"):
        asyncio.run(main())
    assert calls == [] and endpoint.attempts == {}


# -- send_to_user -----------------------------------------------------------------------------


def test_send_to_user_reaches_each_connection_of_the_user_once(room, endpoint):
    """Every connection of the sub gets one room-less frame from "server", whatever its rooms;
    other users get nothing."""
    db, publisher = room
    now = int(time.time() * 1000)
    for cid, rooms in (("E", {"lobby", "other"}), ("F", frozenset())):
        connections.put(
            db, publisher.table_name, connections.Connection(cid, "eve", now, rooms), 600
        )
    result = publisher.send_to_user("eve", {"text": "export ready"})
    assert result == PublishResult(delivered=2, gone=0, failed=0)
    for cid in "EF":
        (frame,) = endpoint.frames(cid)
        assert (frame["type"], frame["room"], frame["from"], frame["data"]) == (
            "message",
            None,
            "server",
            {"text": "export ready"},
        )
        assert len(frame["id"]) == 32
    assert all(endpoint.frames(cid) == [] for cid in "ABCD")
    assert publisher.send_to_user("nobody", 1) == PublishResult(0, 0, 0)


def test_send_to_user_cleans_a_gone_connection_and_its_memberships(room, endpoint):
    """A 410 from one of the user's connections deletes its row and its memberships."""
    db, publisher = room
    endpoint.script["B"] = [410]
    assert publisher.send_to_user("user-B", "hi") == PublishResult(delivered=0, gone=1, failed=0)
    assert connections.get(db, publisher.table_name, "B") is None
    assert "B" not in set(
        connections.room_members(db, publisher.table_name, Table.ROOM_INDEX, "lobby")
    )


@pytest.mark.parametrize("bad", ["", None, 7])
def test_send_to_user_refuses_an_empty_user_before_any_call(room, endpoint, bad):
    """A user that cannot be a token's sub is a ValueError with no AWS call."""
    _, publisher = room
    calls = _record_calls(publisher)
    with pytest.raises(ValueError, match="user"):
        publisher.send_to_user(bad, 1)
    assert calls == [] and endpoint.attempts == {}


# -- request ----------------------------------------------------------------------------------


class Device:
    """Answers each request frame posted to its connection, as the reply route would, after
    ``delay`` seconds (from a thread, like a device on the network)."""

    def __init__(self, db: Any, table: str, connection_id: str, delay: float = 0.05) -> None:
        self.db, self.table, self.connection_id, self.delay = db, table, connection_id, delay
        self.stored: list[bool] = []

    def answer(self, frame: dict[str, Any], by: str | None = None) -> None:
        def run() -> None:
            time.sleep(self.delay)
            data = json.dumps({"echo": frame["data"]})
            cid = by or self.connection_id
            self.stored.append(requests.answer(self.db, self.table, frame["id"], cid, data))

        threading.Thread(target=run, daemon=True).start()


class AnsweringEndpoint(ScriptedConnections):
    """The scripted endpoint, handing each request frame posted to a device to it."""

    def __init__(self) -> None:
        super().__init__()
        self.devices: dict[str, tuple[Device, str | None]] = {}

    def post_to_connection(self, namespace: str, stage: str, cid: str, data: bytes) -> int:
        status = super().post_to_connection(namespace, stage, cid, data)
        frame = json.loads(data)
        if status == 200 and frame["type"] == "request" and cid in self.devices:
            device, by = self.devices[cid]
            device.answer(frame, by)
        return status


@pytest.fixture
def devices(table: Any) -> Iterator[tuple[Any, Publisher, AnsweringEndpoint]]:
    """Connection K of user ``dev-1`` and L of ``dev-2``, a publisher and an endpoint that
    hands request frames to whichever device is registered."""
    db, cfg = table
    now = int(time.time() * 1000)
    for cid, user in (("K", "dev-1"), ("L", "dev-2")):
        connections.put(db, cfg.table_name, connections.Connection(cid, user, now), 600)
    scripted = AnsweringEndpoint()
    publisher = Publisher(table_name=cfg.table_name, management_endpoint=scripted.endpoint)
    yield db, publisher, scripted
    publisher.close()
    scripted.close()


def _pending(db: Any, table: str) -> list[str]:
    return [key for key in table_items(db, table) if key.startswith(Table.REQUEST_PREFIX)]


def test_request_returns_the_devices_reply_and_leaves_no_item(devices):
    """The device's answer comes back as data; the pending item is deleted afterwards."""
    db, publisher, scripted = devices
    scripted.devices["K"] = (Device(db, publisher.table_name, "K"), None)
    assert publisher.request("dev-1", {"read": "temp"}, timeout=5) == {"echo": {"read": "temp"}}
    (frame,) = scripted.frames("K")
    assert set(frame) == {"type", "id", "data"} and frame["type"] == "request"
    assert len(frame["id"]) == 32 and frame["data"] == {"read": "temp"}
    assert scripted.frames("L") == []
    assert _pending(db, publisher.table_name) == []


def test_an_answer_from_another_connection_is_refused_and_the_request_times_out(devices):
    """L (another user's connection) answering K's request is refused; with K silent the
    request raises TimeoutError naming the user, after about the timeout."""
    db, publisher, scripted = devices
    impostor = Device(db, publisher.table_name, "K")
    scripted.devices["K"] = (impostor, "L")
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="dev-1"):
        publisher.request("dev-1", "x", timeout=0.6)
    assert 0.6 <= time.monotonic() - started < 3
    assert impostor.stored == [False]
    assert _pending(db, publisher.table_name) == []


def test_a_reply_after_the_timeout_is_refused(devices):
    """The item is deleted when request gives up: a late answer is not stored anywhere."""
    db, publisher, scripted = devices
    late = Device(db, publisher.table_name, "K", delay=0.8)
    scripted.devices["K"] = (late, None)
    with pytest.raises(TimeoutError):
        publisher.request("dev-1", "x", timeout=0.3)
    deadline = time.monotonic() + 5
    while not late.stored and time.monotonic() < deadline:
        time.sleep(0.05)
    assert late.stored == [False]
    assert _pending(db, publisher.table_name) == []


def test_a_user_without_connections_is_not_connected_at_once(devices):
    """No live connection: NotConnected (a LookupError) naming the user, with no post and no
    pending item."""
    db, publisher, scripted = devices
    started = time.monotonic()
    with pytest.raises(NotConnected, match="nobody") as caught:
        publisher.request("nobody", 1, timeout=5)
    assert isinstance(caught.value, LookupError) and caught.value.user == "nobody"
    assert time.monotonic() - started < 2
    assert scripted.attempts == {} and _pending(db, publisher.table_name) == []


def test_a_device_that_is_gone_is_not_connected_and_cleaned(devices):
    """The device's only connection answering 410: NotConnected, its row deleted, no wait."""
    db, publisher, scripted = devices
    scripted.script["K"] = [410]
    started = time.monotonic()
    with pytest.raises(NotConnected, match="dev-1"):
        publisher.request("dev-1", 1, timeout=5)
    assert time.monotonic() - started < 2
    assert connections.get(db, publisher.table_name, "K") is None
    assert _pending(db, publisher.table_name) == []


def test_posts_that_fail_are_an_error_not_a_missing_user(devices):
    """Three 500s for the only connection: RuntimeError saying the posts failed (the user may
    be connected), not NotConnected; the pending item is deleted."""
    db, publisher, scripted = devices
    scripted.script["K"] = [500, 500, 500]
    with pytest.raises(RuntimeError, match="could not be posted") as caught:
        publisher.request("dev-1", 1, timeout=5)
    assert not isinstance(caught.value, NotConnected)
    assert connections.get(db, publisher.table_name, "K") is not None
    assert _pending(db, publisher.table_name) == []


def test_cancelling_request_async_ends_the_wait_and_deletes_the_request(devices):
    """asyncio.wait_for cancelling a 30 s request after 0.3 s: the worker thread stops
    waiting and deletes the pending item at once (asyncio.run waits for that thread)."""
    db, publisher, scripted = devices

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(publisher.request_async("dev-1", 1, timeout=30), 0.3)

    started = time.monotonic()
    asyncio.run(main())  # returns once the default executor's threads are done
    assert time.monotonic() - started < 5
    assert len(scripted.frames("K")) == 1
    assert _pending(db, publisher.table_name) == []


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_request_refuses_a_timeout_that_is_not_positive(devices, timeout):
    """A zero, negative or non-finite timeout is a ValueError before any call."""
    _, publisher, scripted = devices
    calls = _record_calls(publisher)
    with pytest.raises(ValueError, match="timeout"):
        publisher.request("dev-1", 1, timeout=timeout)
    assert calls == [] and scripted.attempts == {}


def test_request_async_answers_inside_a_running_loop_and_sync_request_refuses(devices):
    """From a coroutine request_async works and request() points to it."""
    db, publisher, scripted = devices
    scripted.devices["K"] = (Device(db, publisher.table_name, "K"), None)

    async def main() -> Any:
        with pytest.raises(RuntimeError, match="request_async"):
            publisher.request("dev-1", 1)
        return await publisher.request_async("dev-1", 2)

    assert asyncio.run(main()) == {"echo": 2}


# -- IAM --------------------------------------------------------------------------------------


def test_grant_publish_allows_exactly_what_the_publisher_calls(room, endpoint):
    """The DynamoDB calls of a publish with a 410, a send_to_user and a request (timed out:
    an answered one makes the same calls) equal publish_policy's; it only POSTs."""
    _, publisher = room
    calls = _record_calls(publisher)
    leading_keys: list[str] = []  # what dynamodb:LeadingKeys sees for PutItem and GetItem
    publisher._db.meta.events.register(
        "provide-client-params.dynamodb",
        lambda params, model, **_: (
            leading_keys.append((params.get("Item") or params.get("Key"))[Table.CONNECTION_ID]["S"])
            if model.name in ("PutItem", "GetItem") and params["TableName"] == publisher.table_name
            else None
        ),
    )
    endpoint.script["B"] = [410]
    assert publisher.publish("lobby", "hi").gone == 1
    assert publisher.send_to_user("user-A", "hi").delivered == 1
    with pytest.raises(TimeoutError):
        publisher.request("user-C", "x", timeout=0.1)
    table_arn = "arn:aws:dynamodb:us-east-1:111122223333:table/t"
    history_arn = "arn:aws:dynamodb:us-east-1:111122223333:table/h"
    execution_arn = "arn:aws:execute-api:us-east-1:111122223333:abc123"
    document = json.loads(
        policies.publish_policy(
            table_arn=table_arn,
            execution_arn=execution_arn,
            stage="live",
            history_table_arn=history_arn,
        )
    )
    allowed: set[tuple[str, str | None]] = set()
    posts: list[str] = []
    for statement in document["Statement"]:
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                if action == "execute-api:ManageConnections":
                    posts.append(resource)
                elif resource == table_arn:
                    allowed.add((action.removeprefix("dynamodb:"), None))
                elif resource == history_arn:
                    allowed.add((action.removeprefix("dynamodb:"), HISTORY))
                else:
                    index = resource.removeprefix(f"{table_arn}/index/")
                    allowed.add((action.removeprefix("dynamodb:"), index))
    assert (
        set(calls)
        == allowed
        == {
            ("Query", Table.ROOM_INDEX),
            ("Query", Table.USER_INDEX),
            ("DeleteItem", None),
            ("BatchWriteItem", None),
            ("PutItem", None),
            ("GetItem", None),
            # publish takes the room's next seq: counter read, then counter + message
            ("GetItem", HISTORY),
            ("UpdateItem", HISTORY),
            ("PutItem", HISTORY),
        }
    )
    assert posts == [f"{execution_arn}/live/POST/@connections/*"]
    assert leading_keys and all(k.startswith(Table.REQUEST_PREFIX) for k in leading_keys)


# -- imports ----------------------------------------------------------------------------------


def test_importing_publish_loads_neither_pulumi_nor_the_component():
    """Backends and Lambda functions import it without pulumi, pulumi_aws or the component."""
    loaded = modules_loaded_by("realtime_socket.publish")
    assert within(loaded, "pulumi", "pulumi_aws", "realtime_socket.component") == set()


# -- end to end through the local runtime -----------------------------------------------------


def _chat_program() -> None:
    RealtimeSocket("chat", {"jwt": jwt_args()})  # type: ignore[typeddict-item]
    pulumi.export("ok", True)


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    with logged_runtime(tmp_path_factory, "publish", model_of(_chat_program)) as running:
        yield running


def test_publish_reaches_the_rooms_clients_through_the_local_runtime(rt, monkeypatch):
    """Two lobby clients of `chat` receive a publish; a client in another room does not."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", rt.runtime.aws_endpoint)
    with (
        connect(rt.url("chat", "lobby", mint(sub="ann"))) as ann,
        connect(rt.url("chat", "lobby", mint(sub="ben"))) as ben,
        connect(rt.url("chat", "other", mint(sub="cat"))) as cat,
        Publisher(
            table_name=rt.table_name("chat"),
            management_endpoint=rt.runtime.management_url("chat"),
        ) as publisher,
    ):
        result = publisher.publish("lobby", {"text": "maintenance at 18:00"}, sender="ops")
        assert result == PublishResult(delivered=2, gone=0, failed=0)
        for ws in (ann, ben):
            frame = recv_json(ws)
            assert (frame["type"], frame["room"], frame["from"], frame["data"]) == (
                "message",
                "lobby",
                "ops",
                {"text": "maintenance at 18:00"},
            )
        assert_silent(cat)
