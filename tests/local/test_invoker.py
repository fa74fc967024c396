"""The invoker with fake function pools: one log line per invocation, and how it prints."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

from realtime_socket.local.gateway.actions import Invoke
from realtime_socket.local.invoker import Invoker, print_log
from realtime_socket.local.lambdas import Invocation


class FakePool:
    def __init__(self, answer: Invocation) -> None:
        self.answer = answer

    async def invoke(self, event: dict[str, Any]) -> Invocation:
        return self.answer


def test_the_invoker_logs_one_line_per_invocation():
    """Status is the statusCode when there is one, else ok/error with the error type."""
    lines: list[dict[str, Any]] = []
    pools = {
        "a": FakePool(Invocation(result={"statusCode": 403}, duration_ms=1.26, cold=True)),
        "b": FakePool(Invocation(error={"errorType": "Sandbox.Timedout"})),
    }
    invoker = Invoker(pools, lines.append)  # type: ignore[arg-type]
    asyncio.run(invoker("chat", Invoke("a", "$connect", {}), "c1"))
    asyncio.run(invoker("chat", Invoke("b", "ping", {}), "c1"))
    assert lines == [
        {"namespace": "chat", "route": "$connect", "connectionId": "c1", "status": 403,
         "durationMs": 1.3, "cold": True},
        {"namespace": "chat", "route": "ping", "connectionId": "c1", "status": "error",
         "durationMs": 0.0, "error": "Sandbox.Timedout"},
    ]  # fmt: skip


def test_without_a_log_the_invoker_only_invokes():
    """No log configured: the invocation's result still comes back."""
    answer = Invocation(result={"statusCode": 200})
    invoker = Invoker({"a": FakePool(answer)}, None)  # type: ignore[arg-type]
    assert asyncio.run(invoker("chat", Invoke("a", "ping", {}), "c1")) is answer


def test_print_log_writes_one_line_per_event_with_dashes_for_what_is_missing():
    """Time, namespace, route, connection, status, duration, then the other fields."""
    stream = io.StringIO()
    log = print_log(stream)
    log({"namespace": "chat", "route": "ping", "connectionId": "c1", "status": 200,
         "durationMs": 1.3, "cold": True})  # fmt: skip
    log({"namespace": "chat", "route": "$connect", "status": 401, "reason": "no token"})
    first, second = stream.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d chat ping c1 200 1\.3ms cold=True", first)
    assert re.fullmatch(r"\d\d:\d\d:\d\d chat \$connect - 401 reason=no token", second)
