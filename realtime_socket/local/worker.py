"""One Lambda execution environment: a process that imports a handler and runs events.

Started by ``lambdas.FunctionPool`` with the function's environment. Protocol: one JSON
request per line on stdin, one JSON answer per line on stdout (``result`` or ``error``, and
the invocation's ``requestId``); whatever the handler prints or logs goes to stderr.
Lambda's own contract is mirrored: the module is imported once (INIT), then each event gets
``handler(event, context)``; an exception becomes ``{"errorType", "errorMessage"}``.

Logging is Lambda's too. Before the handler module is imported, the root logger gets one
handler that writes every stdlib log record in the function's log format
(``AWS_LAMBDA_LOG_FORMAT``: ``JSON``, the default here as in the component, or ``Text``)
with the current invocation's request id, and the root level follows
``AWS_LAMBDA_LOG_LEVEL``. So local logs read like CloudWatch's. This file imports only the
standard library: it runs before the function's artifact is on the path.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["JsonFormatter", "LambdaContext", "LambdaLogHandler", "install_logging", "main"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
#: Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "aws_request_id",
}


def _utc_timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, tz=UTC).strftime(_TIME_FORMAT + ".%f")[:-3] + "Z"


class JsonFormatter(logging.Formatter):
    """Lambda's JSON log format for stdlib records.

    ``timestamp``, ``level``, ``message``, ``logger`` and ``requestId``; for a record with
    an exception also ``errorType``, ``errorMessage``, ``stackTrace`` and ``location``; then
    the record's ``extra`` fields. Empty (``None``) fields are left out, and a value JSON
    cannot encode is a logging error, as on Lambda.
    """

    def format(self, record: logging.LogRecord) -> str:
        level = min(50, max(0, record.levelno)) // 10 * 10
        fields: dict[str, Any] = {
            "timestamp": _utc_timestamp(record.created),
            "level": logging.getLevelName(level),
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None),
        }
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, trace = record.exc_info
            fields["errorType"] = kind.__name__
            fields["errorMessage"] = str(error)
            fields["stackTrace"] = traceback.format_tb(trace)
            fields["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in fields:
                fields[key] = value
        return json.dumps({k: v for k, v in fields.items() if v is not None}, ensure_ascii=False)


class LambdaLogHandler(logging.StreamHandler[TextIO]):
    """The runtime's root handler: the function's log format and the current request id."""

    def __init__(self, stream: TextIO, log_format: str = "JSON") -> None:
        super().__init__(stream)
        self.request_id = ""
        if log_format.upper() == "JSON":
            self.setFormatter(JsonFormatter())
        else:
            text = logging.Formatter(_TEXT_FORMAT, _TIME_FORMAT)
            text.converter = time.gmtime
            self.setFormatter(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return bool(super().filter(record))


def install_logging(
    stream: TextIO, environ: MutableMapping[str, str] | None = None
) -> LambdaLogHandler:
    """Set up the root logger as Lambda's Python runtime does, and return its handler.

    Fills in ``AWS_LAMBDA_LOG_FORMAT`` (``JSON``) and, for JSON, ``AWS_LAMBDA_LOG_LEVEL``
    (``INFO``) when the environment lacks them, as Lambda does for a function that
    deploys with ``log_format="JSON"`` and no application log level.
    """
    env = os.environ if environ is None else environ
    log_format = env.setdefault("AWS_LAMBDA_LOG_FORMAT", "JSON")
    if log_format.upper() == "JSON":
        env.setdefault("AWS_LAMBDA_LOG_LEVEL", "INFO")
    handler = LambdaLogHandler(stream, log_format)
    root = logging.getLogger()
    root.addHandler(handler)
    level = env.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = {"TRACE": "DEBUG"}.get(level, level)  # Python has no TRACE; Lambda maps it so
    if level in logging.getLevelNamesMapping():
        root.setLevel(level)
    return handler


class LambdaContext:
    """The attributes of Lambda's context object that handlers use."""

    def __init__(self, deadline: float) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = (
            f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _error(exc: BaseException) -> dict[str, Any]:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-5:],
    }


def _log_error(error: dict[str, Any], request_id: str, stream: TextIO) -> None:
    """The line Lambda's runtime writes for an unhandled exception, in the log format."""
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON":
        line = json.dumps(
            {
                "timestamp": _utc_timestamp(time.time()),
                "level": "ERROR",
                **error,
                "requestId": request_id,
            }
        )
    else:
        line = f"[ERROR] {error['errorType']}: {error['errorMessage']}"
    stream.write(line + "\n")
    stream.flush()


def main() -> None:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # handler output must never corrupt the protocol stream
    code_dir, handler_path = sys.argv[1], sys.argv[2]
    # Run as a script, so sys.path[0] is this file's folder: replace it with the artifact's.
    sys.path[0] = code_dir
    log = install_logging(sys.stderr)
    module_name, _, function_name = handler_path.rpartition(".")
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        init_error = _error(exc)
        _log_error(init_error, "", sys.stderr)
    protocol.write(json.dumps({"ready": True, "error": init_error}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, Any]
        if init_error is not None:
            answer = {"error": init_error}
        else:
            context = LambdaContext(request["deadline"])
            log.request_id = context.aws_request_id
            try:
                answer = {"result": handler(request["event"], context)}
            except Exception as exc:
                answer = {"error": _error(exc)}
                _log_error(answer["error"], context.aws_request_id, sys.stderr)
            answer["requestId"] = context.aws_request_id
        sys.stderr.flush()
        protocol.write(json.dumps(answer, default=str) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
