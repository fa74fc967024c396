"""``realtime-socket dev`` as a user runs it: a subprocess in its own session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from realtime_socket.tools import cli
from tests.support.helpers import ROOT

__all__ = ["DevProcess"]


class DevProcess:
    """A dev runtime in its own session, its output collected line by line."""

    def __init__(self, command: list[str], cwd: Path = ROOT) -> None:
        self.cwd = cwd
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 90) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.lines.append(line)
            if text in line:
                return
        pytest.fail(f"{text!r} never printed:\n{''.join(self.lines)}")

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def interrupt(self, timeout: float = 30) -> str:
        os.killpg(self.process.pid, signal.SIGINT)
        rest, _ = self.process.communicate(timeout=timeout)
        self.lines.append(rest)
        return self.output

    def leftovers(self) -> list[str]:
        ps = subprocess.run(
            ["ps", "-o", "pid=,args=", "-s", str(self.process.pid)],
            capture_output=True,
            text=True,
            check=False,
        )
        return [line for line in ps.stdout.splitlines() if line.strip()]

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # A runtime killed outright cannot withdraw its announcement: do it for it.
        for state in (self.cwd / cli.DEV_STATE_DIR).glob("dev-*.json"):
            if json.loads(state.read_text()).get("pid") == self.process.pid:
                state.unlink()
