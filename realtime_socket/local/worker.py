"""One Lambda execution environment: a process that imports a handler and runs events.

Started by ``lambdas.FunctionPool`` with the function's environment. Protocol: one JSON
request per line on stdin, one JSON answer per line on stdout; whatever the handler prints
goes to stderr. Lambda's own contract is mirrored: the module is imported once (INIT), then
each event gets ``handler(event, context)``; an exception becomes
``{"errorType", "errorMessage"}``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any

__all__ = ["main"]


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


def main() -> None:
    protocol = sys.stdout
    sys.stdout = sys.stderr  # handler output must never corrupt the protocol stream
    code_dir, handler_path = sys.argv[1], sys.argv[2]
    # Run as a script, so sys.path[0] is this file's folder: replace it with the artifact's.
    sys.path[0] = code_dir
    module_name, _, function_name = handler_path.rpartition(".")
    handler: Any = None
    init_error: dict[str, Any] | None = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:
        init_error = _error(exc)
    protocol.write(json.dumps({"ready": True, "error": init_error}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        request = json.loads(line)
        answer: dict[str, Any]
        if init_error is not None:
            answer = {"error": init_error}
        else:
            try:
                result = handler(request["event"], LambdaContext(request["deadline"]))
                answer = {"result": result}
            except Exception as exc:
                answer = {"error": _error(exc)}
        sys.stderr.flush()
        protocol.write(json.dumps(answer, default=str) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
