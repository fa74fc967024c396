"""Local runtime rules that need their own program or runtime: throttling, freezing and
code reloading. The wiring AWS would reject is refused by the model (test_model.py)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pulumi
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from realtime_socket import RealtimeSocket
from tests.support.helpers import jwt_args
from tests.support.runtime_harness import PROBE_CODE, PROBE_ROUTES, RunningRuntime, model_of


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


def _probe_program(code: str) -> None:
    routes = {"forget": {**PROBE_ROUTES["forget"], "code": code},
              "version": {"handler": "probe.version", "code": code, "reply": True}}  # fmt: skip
    RealtimeSocket("chat", {"jwt": jwt_args(), "routes": routes})  # type: ignore[typeddict-item]
    pulumi.export("ok", True)


@pytest.fixture
def probe_copy(tmp_path) -> Path:
    target = tmp_path / "code"
    shutil.copytree(PROBE_CODE, target)
    return target


def test_without_the_freeze_the_late_post_would_arrive(probe_copy):
    """Control for the freeze test in test_runtime_e2e: the same handler, not frozen."""
    rt = RunningRuntime(model_of(lambda: _probe_program(str(probe_copy))), freeze=False)
    try:
        with connect(rt.url()) as ws:
            ws.send(json.dumps({"action": "forget"}))
            assert json.loads(ws.recv(timeout=5)) == {"type": "late"}
    finally:
        rt.close()


def test_handler_code_changes_are_picked_up_without_restart(probe_copy):
    rt = RunningRuntime(model_of(lambda: _probe_program(str(probe_copy))))
    try:
        with connect(rt.url()) as ws:
            ws.send(json.dumps({"action": "version"}))
            assert json.loads(ws.recv(timeout=10)) == {"version": 1}
            source = probe_copy / "probe.py"
            source.write_text(source.read_text().replace('{"version": 1}', '{"version": 2}'))
            time.sleep(0.3)  # the pool checks sources at most every 0.25 s
            ws.send(json.dumps({"action": "version"}))
            assert json.loads(ws.recv(timeout=10)) == {"version": 2}
    finally:
        rt.close()
