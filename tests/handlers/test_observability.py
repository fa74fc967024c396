"""Handler logs as Lambda writes them: one JSON line per event with the request id.

The handlers log through the standard library and leave the format to the runtime, so these
tests run them in the local runtime's worker (``realtime_socket/local/worker.py``), which
reproduces Lambda's JSON and Text log formats.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from realtime_socket.local import worker
from tests.support.helpers import ROOT, load_event

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FAILING = """
from realtime_socket.handlers.observability import event_log

def handler(event, context):
    with event_log(event):
        raise RuntimeError("boom")
"""


def run_worker(
    handler: str, events: list[dict[str, Any]], code_dir: Path = ROOT, **env: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``events`` through one worker process; return its answers and its log lines."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA_LOG")}
    requests = "".join(
        json.dumps({"event": event, "deadline": time.time() + 10}) + "\n" for event in events
    )
    done = subprocess.run(
        [sys.executable, worker.__file__, str(code_dir), handler],
        input=requests,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, **env},
        check=True,
    )
    ready, *answers = (json.loads(line) for line in done.stdout.splitlines())
    assert ready == {"ready": True, "error": None}
    return answers, done.stderr.splitlines()


def ping_event() -> dict[str, Any]:
    event = load_event("sendmessage", routeKey="ping")
    event["body"] = '{"action":"ping"}'
    return event


def test_each_event_line_carries_its_invocations_request_id():
    """Two invocations, two request ids, each on its own event line with the fields."""
    answers, lines = run_worker("realtime_socket.handlers.ping.handler", [ping_event()] * 2)
    records = [json.loads(line) for line in lines]
    assert [r["requestId"] for r in records] == [a["requestId"] for a in answers]
    assert len({a["requestId"] for a in answers}) == 2
    for record in records:
        assert TIMESTAMP.match(record["timestamp"])
        assert (record["level"], record["logger"]) == ("INFO", "realtime_socket.handlers")
        assert (record["message"], record["route"], record["outcome"]) == ("ping ok", "ping", "ok")
        assert record["connectionId"] == "conn-A="
        assert record["durationMs"] >= 0
        assert "room" not in record  # Lambda's format leaves empty fields out


def test_a_failing_event_logs_an_error_line_and_the_runtimes_error_record(tmp_path):
    """The event line is ERROR with the exception's type; the runtime adds its own record."""
    (tmp_path / "failing.py").write_text(FAILING)
    [answer], lines = run_worker("failing.handler", [ping_event()], code_dir=tmp_path)
    assert answer["error"]["errorType"] == "RuntimeError"
    event_line, runtime_line = (json.loads(line) for line in lines)
    assert (event_line["level"], event_line["outcome"]) == ("ERROR", "error")
    assert event_line["error"] == "RuntimeError"
    assert runtime_line["level"] == "ERROR"
    assert (runtime_line["errorType"], runtime_line["errorMessage"]) == ("RuntimeError", "boom")
    assert event_line["requestId"] == runtime_line["requestId"] == answer["requestId"]


def test_the_application_log_level_filters_event_lines(tmp_path):
    """At WARN the INFO line of a ping is dropped and a failure's ERROR line is kept."""
    (tmp_path / "failing.py").write_text(FAILING)
    _, quiet = run_worker(
        "realtime_socket.handlers.ping.handler", [ping_event()], AWS_LAMBDA_LOG_LEVEL="WARN"
    )
    assert quiet == []
    _, loud = run_worker(
        "failing.handler", [ping_event()], code_dir=tmp_path, AWS_LAMBDA_LOG_LEVEL="WARN"
    )
    assert [json.loads(line)["level"] for line in loud] == ["ERROR", "ERROR"]


def test_text_log_format_has_level_time_and_request_id():
    """``log_format="Text"`` gives Lambda's tab-separated line with the request id."""
    event = load_event("sendmessage", routeKey="$default")
    event["body"] = "not json"
    [answer], [line] = run_worker(
        "realtime_socket.handlers.default.handler", [event], AWS_LAMBDA_LOG_FORMAT="Text"
    )
    level, stamp, request_id, message = line.split("\t")
    assert (level, request_id, message) == ("[INFO]", answer["requestId"], "$default rejected")
    assert TIMESTAMP.match(stamp)


def test_handlers_log_only_through_logging():
    """No handler module prints but the metrics emitter, whose EMF document must be a log
    event of its own: every other line goes through the one logging path."""
    handlers = Path(ROOT, "realtime_socket", "handlers")
    printing = [p.name for p in handlers.glob("*.py") if "print(" in p.read_text()]
    assert printing == ["metrics.py"]


REFUSING = """
from realtime_socket.handlers import metrics
from realtime_socket.handlers.observability import event_log

def handler(event, context):
    with event_log(event) as log:
        log.set(outcome="rejected", reason="rate_limited")
        metrics.refused("sendmessage", "rate_limited")
    return {"statusCode": 200}
"""


def test_a_metrics_document_is_a_line_of_its_own_beside_the_json_log_record(tmp_path):
    """In Lambda's JSON log format the EMF document is not wrapped in a record: CloudWatch
    extracts metrics only from an event that is the document itself."""
    (tmp_path / "refusing.py").write_text(REFUSING)
    _, lines = run_worker(
        "refusing.handler", [ping_event()], code_dir=tmp_path, SOCKET_NAMESPACE="chat"
    )
    document, record = (json.loads(line) for line in lines)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "RealtimeSocket"
    assert (document["Refused"], document["Reason"], document["Namespace"]) == (
        1,
        "rate_limited",
        "chat",
    )
    assert "requestId" not in document and "level" not in document
    assert (record["level"], record["outcome"]) == ("INFO", "rejected")
    assert "_aws" not in json.dumps(record)
