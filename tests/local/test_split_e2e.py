"""A big room split across fan-out workers, end to end: real WebSocket clients, the
runtime's Lambda Invoke API, one worker process per share."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pulumi
import pytest
from websockets.sync.client import connect

from realtime_socket import RealtimeSocket
from tests.support.helpers import jwt_args
from tests.support.runtime_harness import RunningRuntime, logged_runtime, model_of
from tests.support.ws_client import assert_silent, recv_json, send

ROOM_SIZE = 14
SHARE = 3  # sendmessage reads the room and hands shares of 3, 3, 3, 3, 2: five workers


def big_room_program() -> None:
    RealtimeSocket(
        "big",
        {
            "jwt": jwt_args(),  # type: ignore[typeddict-item]
            "functions": {"fanout_share": SHARE},
            "presence": {"events": False},
        },
    )
    pulumi.export("ok", True)


@pytest.fixture(scope="module")
def big_rt(tmp_path_factory) -> Iterator[RunningRuntime]:
    model = model_of(big_room_program)
    with logged_runtime(tmp_path_factory, "split", model, async_retry_delays=(0.1, 0.1)) as rt:
        yield rt


def _worker_lines(rt: RunningRuntime) -> list[dict]:
    lines = rt.handler_log.read_text().splitlines()  # type: ignore[attr-defined]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    # the workers' log lines, not their metrics documents (which carry "_aws")
    return [r for r in records if r.get("route") == "fanout-worker" and "_aws" not in r]


def test_a_room_split_across_five_workers_reaches_every_member_exactly_once(big_rt):
    with ExitStack() as stack:
        clients = [
            stack.enter_context(connect(big_rt.url("big", room="hall"))) for _ in range(ROOM_SIZE)
        ]
        send(clients[0], {"action": "sendmessage", "data": {"n": 1}})
        frames = [recv_json(ws, timeout=30) for ws in clients]
        assert {(f["type"], f["room"], f["data"]["n"]) for f in frames} == {("message", "hall", 1)}
        assert len({(f["id"], f["seq"]) for f in frames}) == 1  # one message, numbered once
        for ws in clients:
            assert_silent(ws, 0.3)  # and no second copy anywhere
    counters = big_rt.runtime.lambda_api.counters
    assert counters.accepted == 5 and counters.failures == 0
    deadline = time.monotonic() + 10
    while len(_worker_lines(big_rt)) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = _worker_lines(big_rt)
    assert sorted(w["targets"] for w in workers) == [2, 3, 3, 3, 3]
    assert all(w["delivered"] == w["targets"] and w["outcome"] == "ok" for w in workers)
    metrics = [
        json.loads(line)
        for line in big_rt.handler_log.read_text().splitlines()  # type: ignore[attr-defined]
        if line.startswith('{"_aws"')
    ]
    delivered = [
        m["Delivered"] for m in metrics if m.get("route") in ("sendmessage", "fanout-worker")
    ]
    assert sum(delivered) == ROOM_SIZE and {m["Namespace"] for m in metrics} == {"big"}
