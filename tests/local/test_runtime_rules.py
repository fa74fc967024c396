"""Local runtime rules that need their own program or runtime: stage throttling. Freezing and
code reloading are the function pool's (test_lambdas.py); the wiring AWS would reject is
refused by the model (test_model.py)."""

from __future__ import annotations

import json

import pulumi
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime_socket import RealtimeSocket
from tests.support.helpers import jwt_args
from tests.support.runtime_harness import RunningRuntime, model_of


def test_stage_throttling_is_enforced_for_connects_and_messages():
    def program() -> None:
        RealtimeSocket(
            "chat",
            {"jwt": jwt_args(), "throttling": {"burst_limit": 4, "rate_limit": 1}},  # type: ignore[typeddict-item]
        )
        pulumi.export("ok", True)

    rt = RunningRuntime(model_of(program))
    try:
        with connect(rt.url()) as ws:  # 1 token
            ws.send(json.dumps({"action": "ping"}))  # 2
            ws.send(json.dumps({"action": "ping"}))  # 3
            ws.send(json.dumps({"action": "ping"}))  # 4
            ws.send(json.dumps({"action": "ping"}))  # throttled
            answers = [json.loads(ws.recv(timeout=10)) for _ in range(4)]
            assert answers.count({"type": "pong"}) == 3
            assert {"message": "Too Many Requests"}.items() <= answers[-1].items()
            with pytest.raises(InvalidStatus) as refused:
                connect(rt.url())
            assert refused.value.response.status_code == 429
            rt.clock.advance(2)  # the bucket refills at 1 request per second
            ws.send(json.dumps({"action": "ping"}))
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
    finally:
        rt.close()
