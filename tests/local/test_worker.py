"""One Lambda execution environment: a worker process that imports a handler once (INIT)
and answers each event on its pipe, with Lambda's error shape for what the handler raises.

How the worker writes logs (Lambda's JSON and Text formats, the request id on every line)
is proved with the real handlers in tests/handlers/test_observability.py.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from realtime_socket.local import worker

HANDLERS = """
CALLS = []

def count(event, context):
    CALLS.append(event)
    return {"calls": len(CALLS), "event": event, "function": context.function_name,
            "remaining": context.get_remaining_time_in_millis()}

def fail(event, context):
    return {}[event["key"]]

def chatty(event, context):
    print("a handler printing to stdout")
    return "ok"
"""


class WorkerProcess:
    """A worker started the way the function pool starts one; ``invoke`` runs one event."""

    def __init__(self, code_dir: Path, handler: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_")}
        self.process = subprocess.Popen(
            [sys.executable, worker.__file__, str(code_dir), handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environ, "AWS_LAMBDA_FUNCTION_NAME": "chat-ping-fn"},
        )
        self.ready = self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def invoke(self, event: Any, seconds: float = 10) -> dict[str, Any]:
        assert self.process.stdin is not None
        request = {"event": event, "deadline": time.time() + seconds}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> str:
        """End the worker as a closed pipe does, and return what it wrote to stderr."""
        _, stderr = self.process.communicate(timeout=10)
        return stderr


def start(tmp_path: Path, handler: str, source: str = HANDLERS) -> WorkerProcess:
    (tmp_path / "handlers.py").write_text(source)
    return WorkerProcess(tmp_path, f"handlers.{handler}")


def test_the_handler_is_imported_once_and_each_event_gets_a_fresh_request_id(tmp_path):
    """Module state survives between events; the context carries name and remaining time."""
    fn = start(tmp_path, "count")
    try:
        assert fn.ready == {"ready": True, "error": None}
        first, second = fn.invoke({"n": 1}, seconds=5), fn.invoke({"n": 2})
    finally:
        fn.close()
    assert first["result"]["event"] == {"n": 1}
    assert (first["result"]["calls"], second["result"]["calls"]) == (1, 2)
    assert first["result"]["function"] == "chat-ping-fn"
    assert 0 < first["result"]["remaining"] <= 5000
    assert first["requestId"] != second["requestId"]


def test_an_exception_is_lambdas_error_shape_and_the_environment_serves_on(tmp_path):
    """``errorType``, ``errorMessage`` and ``stackTrace``; the next event still runs."""
    fn = start(tmp_path, "fail")
    try:
        failed = fn.invoke({"key": "missing"})
        assert fn.process.poll() is None
        again = fn.invoke({"key": "missing"})
    finally:
        fn.close()
    error = failed["error"]
    assert (error["errorType"], error["errorMessage"]) == ("KeyError", "'missing'")
    assert any("in fail" in frame for frame in error["stackTrace"])
    assert "result" not in failed and failed["requestId"]
    assert again["error"]["errorType"] == "KeyError"


def test_a_failing_import_is_an_init_error_answered_to_every_event(tmp_path):
    """Lambda's INIT failure: reported when ready, then as each invocation's error."""
    fn = start(tmp_path, "count", source="raise ImportError('no module named jwt')\n")
    try:
        init_error = fn.ready["error"]
        answers = [fn.invoke({}), fn.invoke({})]
    finally:
        stderr = fn.close()
    assert fn.ready["ready"] is True
    assert (init_error["errorType"], init_error["errorMessage"]) == (
        "ImportError",
        "no module named jwt",
    )
    assert answers == [{"error": init_error}] * 2
    assert "ImportError" in stderr


def test_what_a_handler_prints_goes_to_the_log_not_the_answer_pipe(tmp_path):
    """A ``print`` in a handler cannot corrupt the protocol: it lands on stderr."""
    fn = start(tmp_path, "chatty")
    try:
        answer = fn.invoke({})
    finally:
        stderr = fn.close()
    assert answer["result"] == "ok"
    assert "a handler printing to stdout" in stderr


def test_a_json_log_record_with_an_exception_carries_lambdas_error_fields():
    """``errorType``, ``errorMessage``, ``stackTrace`` and ``location``; ``extra`` fields
    follow, and empty ones are left out."""
    try:
        raise ValueError("bad frame")
    except ValueError:
        record = logging.LogRecord(
            "app", logging.ERROR, "/code/app.py", 7, "failed %s", ("once",), sys.exc_info(),
            func="handle",
        )  # fmt: skip
    record.route = "sendmessage"
    record.room = None
    record.aws_request_id = "req-1"
    line = json.loads(worker.JsonFormatter().format(record))
    assert (line["level"], line["message"], line["logger"]) == ("ERROR", "failed once", "app")
    assert (line["errorType"], line["errorMessage"]) == ("ValueError", "bad frame")
    assert line["location"] == "/code/app.py:handle:7"
    assert line["stackTrace"] and isinstance(line["stackTrace"], list)
    assert (line["route"], line["requestId"]) == ("sendmessage", "req-1")
    assert "room" not in line
