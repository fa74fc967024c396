"""What the benchmarks share: the repository's paths, the results writer, the local runtime
as a subprocess, and the import path a Lambda Python runtime gives a function.

Benchmarks run from the repository root as modules (``python -m bench.<name>``) and import
the installed ``realtime_socket`` package, this module and ``bench.scenarios``; nothing
from ``tests/``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS",
    "ROOT",
    "RUNTIME_PACKAGES",
    "lambda_runtime_dir",
    "results_path",
    "start",
    "start_dev",
    "stop",
    "write_results",
]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

#: What the Lambda Python runtimes ship besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def results_path(name: str) -> str:
    """The default ``--json`` of benchmark ``name``: ``bench/results/<name>.json``."""
    return str(RESULTS / f"{name}.json")


def write_results(path: str | Path, data: Any) -> None:
    """Write a benchmark's figures as JSON and say where."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2))
    print(f"\nwrote {target}")


def lambda_runtime_dir() -> Path:
    """The import path a Lambda Python runtime gives a function, rebuilt on this machine.

    On Lambda a function sees its own artifact and the runtime's boto3 (with botocore and
    their dependencies), nothing else. This returns a folder of symlinks to this
    environment's copies of those packages, so that importing a handler with only its
    artifact and this folder on the path shows what Lambda would import (a package present
    here but absent there, cryptography say, cannot hide in).
    """
    target = Path(tempfile.mkdtemp(prefix="lambda-runtime-"))
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        os.symlink(source, target / source.name)
    return target


def start(command: list[str], ready: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``command`` in its own session from the repository root; return once it has
    printed ``ready``, with what it printed until then."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    output = ""
    while ready not in output:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"{command} exited:\n{output}")
        output += line
    # keep draining the log so the server never blocks on a full pipe
    threading.Thread(target=process.stdout.read, daemon=True).start()
    return process, output


def stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C to the process's session; SIGKILL if it has not ended within 30 s."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def start_dev(*flags: str) -> tuple[subprocess.Popen[str], Callable[[str], str]]:
    """``realtime-socket dev`` on the dev stack, and a URL maker for its ``telemetry`` rooms
    carrying a development token that grants every room (telemetry checks rooms)."""
    python = sys.executable
    process, output = start(
        [python, "-m", "realtime_socket", "dev", "--port", "0", *flags], "Ctrl-C to stop."
    )
    try:
        found = re.search(r"telemetry\s+(ws://127\.0\.0\.1:\d+/telemetry)", output)
        assert found is not None, output
        token = subprocess.run(
            [
                python,
                "-m",
                "realtime_socket",
                "token",
                "--namespace",
                "telemetry",
                "--sub",
                "b",
                "--rooms",
                "*",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except BaseException:
        stop(process)
        raise
    base = found.group(1)
    return process, lambda room: f"{base}?room_id={room}&token={token}"
