"""The function pool: one process per execution environment, frozen (SIGSTOP) between
invocations, stopped at the function's timeout, and replaced when the code changes.

The first tests drive a pool directly with small handlers; the last ones go through a
running local runtime, as a developer sees the freeze and the reload.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from websockets.sync.client import connect

from realtime_socket import RealtimeSocket
from realtime_socket.local.lambdas import FunctionPool, Invocation
from realtime_socket.local.model import LocalFunction
from tests.support.helpers import jwt_args
from tests.support.runtime_harness import PROBE_CODE, PROBE_ROUTES, RunningRuntime, model_of
from tests.support.ws_client import assert_silent, send

HANDLERS = """
import os
import time
from pathlib import Path

def work(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "folder": str(Path(__file__).parent.parent)}
"""


def pool_of(tmp_path: Path, source: str = HANDLERS, **options: Any) -> FunctionPool:
    """A pool for ``handlers.work`` in ``tmp_path``, with a half-second timeout."""
    (tmp_path / "handlers.py").write_text(source)
    function = LocalFunction(
        "work-fn", "chat-work-fn", "handlers.work", {"handlers.py": tmp_path / "handlers.py"},
        {}, 0.5, 128,
    )  # fmt: skip
    return FunctionPool(function, dict(os.environ), **options)


def run(pool: FunctionPool, scenario: Callable[[FunctionPool], Awaitable[Any]]) -> Any:
    """Run ``scenario(pool)`` on a fresh loop, closing the pool afterwards."""

    async def main() -> Any:
        try:
            return await scenario(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def state(pid: int) -> str:
    """The process state letter from /proc once it settles: ``T`` stopped, ``S`` sleeping."""
    deadline = time.monotonic() + 2
    while True:
        letter = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if letter != "R" or time.monotonic() > deadline:
            return letter
        time.sleep(0.01)


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@linux_only
def test_an_idle_environment_is_frozen_and_thawed_for_the_next_event(tmp_path):
    """Stopped between invocations, the same process answers the next event, warm."""

    async def scenario(pool: FunctionPool) -> tuple[Invocation, str, Invocation]:
        first = await pool.invoke({})
        frozen = state(first.result["pid"])
        return first, frozen, await pool.invoke({})

    first, frozen, second = run(pool_of(tmp_path), scenario)
    assert (first.cold, frozen) == (True, "T")
    assert (second.cold, second.result["pid"]) == (False, first.result["pid"])


@linux_only
def test_without_the_freeze_an_idle_environment_keeps_running(tmp_path):
    """Control for the freeze: ``freeze=False`` leaves the idle process runnable."""

    async def scenario(pool: FunctionPool) -> str:
        return state((await pool.invoke({})).result["pid"])

    assert run(pool_of(tmp_path, freeze=False), scenario) != "T"


def test_a_timed_out_invocation_is_sandbox_timedout_and_its_environment_replaced(tmp_path):
    """Lambda's timeout error; the stuck process is killed and the next event starts cold."""

    async def scenario(pool: FunctionPool) -> tuple[Invocation, Invocation]:
        return await pool.invoke({"sleep": 5}), await pool.invoke({})

    started = time.monotonic()
    late, after = run(pool_of(tmp_path), scenario)
    assert time.monotonic() - started < 4
    assert late.error == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "Task timed out after 0.50 seconds",
    }
    assert after.error is None and after.cold


def test_an_init_error_is_each_invocations_error(tmp_path):
    """A handler module that fails to import answers every event with its INIT error."""

    async def scenario(pool: FunctionPool) -> list[Invocation]:
        return [await pool.invoke({}), await pool.invoke({})]

    broken = "raise RuntimeError('missing setting')\n"
    answers = run(pool_of(tmp_path, source=broken), scenario)
    assert [a.error and a.error["errorType"] for a in answers] == ["RuntimeError"] * 2
    assert [a.cold for a in answers] == [True, True]  # a failed environment is not kept


def test_concurrent_events_wait_for_a_free_environment_up_to_max_workers(tmp_path):
    """With one environment allowed, two events run one after the other in one process."""

    async def scenario(pool: FunctionPool) -> list[Invocation]:
        return list(await asyncio.gather(pool.invoke({"sleep": 0.2}), pool.invoke({})))

    first, second = run(pool_of(tmp_path, max_workers=1), scenario)
    assert first.result["pid"] == second.result["pid"]
    assert [first.cold, second.cold] == [True, False]


def test_close_stops_every_environment_and_removes_the_code_folder(tmp_path):
    """Nothing of the pool outlives ``close``: no process, no folder."""

    async def scenario(pool: FunctionPool) -> dict[str, Any]:
        answer = (await pool.invoke({})).result
        assert Path(answer["folder"], "code", "handlers.py").is_symlink()
        return answer

    answer = run(pool_of(tmp_path), scenario)
    assert not Path(answer["folder"]).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(answer["pid"], 0)


# -- through the local runtime ---------------------------------------------------------------


def _probe_program(code: str) -> None:
    routes = {"forget": {**PROBE_ROUTES["forget"], "code": code},
              "version": {"handler": "probe.version", "code": code, "reply": True}}  # fmt: skip
    RealtimeSocket("chat", {"jwt": jwt_args(), "routes": routes})  # type: ignore[typeddict-item]
    pulumi.export("ok", True)


@pytest.fixture(scope="module")
def rt() -> Iterator[RunningRuntime]:
    """A runtime of the probe program, frozen as Lambda freezes (the default)."""
    running = RunningRuntime(model_of(lambda: _probe_program(PROBE_CODE)))
    yield running
    running.close()


def test_work_left_running_after_return_does_not_happen(rt):
    with connect(rt.url()) as ws:
        send(ws, {"action": "forget"})
        assert_silent(ws, 1.5)


@pytest.fixture
def probe_copy(tmp_path) -> Path:
    target = tmp_path / "code"
    shutil.copytree(PROBE_CODE, target)
    return target


def test_without_the_freeze_the_late_post_would_arrive(probe_copy):
    """Control for the freeze test above: the same handler, not frozen."""
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
