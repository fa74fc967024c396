"""The command line: `realtime-socket dev` as a user runs it, `token`, the README's own quick
start driven by a real wscat client, and how `plan` and `cost` take arguments and report errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from websockets.sync.client import connect

from realtime_socket.tools import cli
from tests.support.helpers import ROOT
from tests.support.stack_project import copy_project

WSCAT = shutil.which(
    "wscat", path=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"
)


class DevProcess:
    """A dev runtime in its own session, its output collected line by line."""

    def __init__(self, command: list[str], cwd: Path = ROOT) -> None:
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


@pytest.fixture
def dev() -> Iterator[DevProcess]:
    process = DevProcess([sys.executable, "-m", "realtime_socket", "dev", "--port", "0"])
    yield process
    process.kill()


def test_dev_prints_endpoints_and_a_working_wscat_command_then_stops_cleanly(dev):
    dev.wait_for("Ctrl-C to stop.")
    out = dev.output
    assert "note: realtime-socket:jwtSecret is a local development stand-in" in out
    chat_url = re.search(r"chat\s+(ws://127\.0\.0\.1:\d+/chat)", out).group(1)
    assert re.search(r"telemetry\s+ws://127\.0\.0\.1:\d+/telemetry", out)
    assert re.search(r"@connections http://127\.0\.0\.1:\d+/chat/live", out)
    assert re.search(r"table: chat-connections-table-\w+", out)  # what a Publisher needs
    command = re.search(r'wscat -c "([^"]+)"', out).group(1)
    assert command.startswith(chat_url + "?room_id=lobby&token=")
    assert "telemetry admits only the rooms a token grants" in out
    assert "chat admits only" not in out  # chat's rooms are open
    with connect(command) as ws:
        ws.send(json.dumps({"action": "sendmessage", "data": "hi"}))
        frame = json.loads(ws.recv(timeout=10))
        assert (frame["from"], frame["data"]) == ("alice", "hi")
    dev.wait_for("chat sendmessage ")  # one log line per event
    assert re.search(r"chat sendmessage \S+= 200", dev.output)
    out = dev.interrupt()
    assert "stopped cleanly" in out
    assert dev.process.returncode == 0
    assert dev.leftovers() == []  # no function process or moto server left behind


def test_token_command_prints_a_token_the_runtime_accepts(dev):
    dev.wait_for("Ctrl-C to stop.")
    chat_url = re.search(r"chat\s+(ws://127\.0\.0\.1:\d+/chat)", dev.output).group(1)
    token = subprocess.run(
        [sys.executable, "-m", "realtime_socket", "token", "--sub", "bob", "--claim", "name=Bob"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert token.count(".") == 2
    with connect(f"{chat_url}?room_id=lobby&token={token}") as ws:
        ws.send(json.dumps({"action": "sendmessage", "data": 1}))
        assert json.loads(ws.recv(timeout=10))["from"] == "bob"


def test_token_for_an_unknown_namespace_is_a_clear_error():
    done = subprocess.run(
        [sys.executable, "-m", "realtime_socket", "token", "--namespace", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no namespace 'nope'; namespaces: chat, telemetry" in done.stderr


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_token_rooms_fill_the_stacks_rooms_claim(capsys):
    """--rooms goes, as a list, in the claim the stack configures (dev: telemetry's ``rooms``),
    and without --namespace picks the first namespace that checks rooms."""
    args = ["token", "--sub", "alice", "--rooms", "lobby, team-7*", "--project-dir", str(ROOT)]
    assert cli.main(args) == 0
    claims = _claims(capsys.readouterr().out.strip())
    assert (claims["sub"], claims["rooms"]) == ("alice", ["lobby", "team-7*"])
    assert cli.main([*args[:-2], "--rooms", "", "--namespace", "telemetry"]) == 0
    assert _claims(capsys.readouterr().out.strip())["rooms"] == []


def test_token_rooms_use_the_configured_claim_name(tmp_path, capsys):
    """The claim's name is read from the stack, not assumed."""
    project = copy_project(
        tmp_path, [{"name": "chat"}, {"name": "ops", "jwt": {"rooms_claim": "custom:grants"}}]
    )
    assert cli.main(["token", "--rooms", "ops-*", "--project-dir", str(project)]) == 0
    claims = _claims(capsys.readouterr().out.strip())
    assert claims["custom:grants"] == ["ops-*"]
    assert "rooms" not in claims


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--namespace", "chat", "--rooms", "lobby"],
            "namespace 'chat' has no jwt.rooms_claim, so any token joins any room: "
            "drop --rooms; namespaces that do: telemetry",
        ),
        (
            ["--rooms", "lobby,a b,x*y"],
            "not a room id or a room id prefix followed by *: 'a b', 'x*y'",
        ),
    ],
)
def test_token_rooms_errors_are_clear(extra, message, capsys):
    """Rooms for an open namespace, or an entry the authorizer would refuse: exit 2, why."""
    assert cli.main(["token", *extra, "--project-dir", str(ROOT)]) == 2
    assert f"error: {message}" in capsys.readouterr().err


def test_busy_port_is_a_clear_error(dev):
    dev.wait_for("Ctrl-C to stop.")
    port = re.search(r"ws://127\.0\.0\.1:(\d+)/chat", dev.output).group(1)
    done = subprocess.run(
        [sys.executable, "-m", "realtime_socket", "dev", "--port", port],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert f"port {port} or {int(port) + 1} is already in use" in done.stderr


def _readme_commands() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    blocks = re.findall(r"```sh\n(.*?)```", quick_start, re.S)
    run_command = blocks[0].splitlines()[0].split("#")[0].strip()
    wscat_command = blocks[1].strip()
    return run_command, wscat_command


def test_readme_quick_start_commands_work_verbatim():
    """CI smoke test: the README's main command, then its wscat example, word for word."""
    run_command, wscat_command = _readme_commands()
    assert run_command == "make run"
    assert wscat_command.startswith("wscat -c ")
    if WSCAT is None:
        if os.environ.get("CI"):
            pytest.fail("wscat is not installed: .ci/run must install it")
        pytest.skip("wscat not installed (npm install wscat)")
    runtime = DevProcess(["bash", "-c", run_command])
    try:
        runtime.wait_for("Ctrl-C to stop.", timeout=300)
        env = {**os.environ, "PATH": f"{Path(WSCAT).parent}{os.pathsep}{os.environ['PATH']}"}
        # wscat sends each stdin line once connected; the pauses let it connect first.
        script = (
            "(sleep 5; printf '%s\\n' '{\"action\":\"ping\"}' "
            '\'{"action":"sendmessage","data":"hello"}\'; sleep 3) | ' + wscat_command
        )
        done = subprocess.run(
            ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert '{"type":"pong"}' in done.stdout, done.stdout + done.stderr
        message = json.loads(done.stdout[done.stdout.index('{"type":"message"') :].splitlines()[0])
        assert (message["room"], message["from"], message["data"]) == ("lobby", "alice", "hello")
        assert "stopped cleanly" in runtime.interrupt()
    finally:
        runtime.kill()


@pytest.mark.parametrize(
    ("carriers", "expected"),
    [
        ([], 'wscat -c "ws://h/chat?room_id=lobby&jwt=T"'),
        (["query", "header"], 'wscat -c "ws://h/chat?room_id=lobby&jwt=T"'),
        (["header"], 'wscat -c "ws://h/chat?room_id=lobby" -H "Authorization: Bearer T"'),
        (["protocol"], 'wscat -c "ws://h/chat?room_id=lobby" -s realtime-socket -s T'),
    ],
)
def test_the_printed_wscat_command_carries_the_token_the_way_the_stack_accepts(carriers, expected):
    """The first accepted carrier decides, and the query carrier uses the stack's parameter."""
    assert cli._wscat_command("ws://h/chat", "T", carriers, "jwt") == expected


def test_missing_stack_file_is_a_clear_error(tmp_path, capsys):
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    code = cli.main(["plan", "--stack", "prod", "--project-dir", str(tmp_path)])
    assert code == 2
    assert "Pulumi.prod.yaml not found" in capsys.readouterr().err


def test_plan_reports_validation_errors(tmp_path, capsys):
    project = copy_project(tmp_path, [{"name": "chat", "throttling": {"burst_limit": -5}}])
    assert cli.main(["plan", "--project-dir", str(project)]) == 2
    assert "throttling.burst_limit" in capsys.readouterr().err


def test_cli_prints_the_breakdown(capsys):
    code = cli.main(
        ["cost", "--connections", "1000", "--rooms", "10", "--messages-per-second", "1",
         "--message-bytes", "1000", "--memory", "1024"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "prices read on 2026-11-29" in out
    assert "API Gateway messages" in out and "265.43" in out
    assert "The Scan-based design costs 1.34x as much." in out


GOOD = {"--connections": "1", "--rooms": "1", "--messages-per-second": "1", "--message-bytes": "1"}


@pytest.mark.parametrize(
    "bad",
    [
        {"--connections": "0"},
        {"--message-bytes": "200000"},
        {"--messages-per-second": "-1"},
        {"--connections": "x"},
        {"--architecture": "sparc"},
        {"--connected-fraction": "1.5"},
    ],
)
def test_cli_refuses_bad_input(bad, capsys):
    args = [part for item in {**GOOD, **bad}.items() for part in item]
    with pytest.raises(SystemExit) as exited:
        cli.main(["cost", *args])
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err
