"""The command line: `realtime-socket dev` as a user runs it, `token`, `publish` against a
running dev runtime, the README's own quick start driven by a real wscat client, and how `plan`,
`cost` and `publish` take arguments and report errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from websockets.sync.client import connect

from realtime_socket.local import devtokens
from realtime_socket.local import model as local_model
from realtime_socket.publish import Publisher, PublishResult
from realtime_socket.tools import cli
from tests.support.dev_process import DevProcess
from tests.support.helpers import ROOT
from tests.support.stack_project import copy_project, run_stack
from tests.support.ws_client import assert_silent, recv_json, send

WSCAT = shutil.which(
    "wscat", path=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"
)


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
    dev.wait_for("chat sendmessage metrics ")  # the function's EMF line, made readable
    assert re.search(r"chat sendmessage metrics Delivered=1 Gone=0 Failed=0 ", dev.output)
    if not re.search(r"chat sendmessage \S+= 200", dev.output):
        dev.wait_for("= 200")  # the runtime's own line for the event, printed either side
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
        # wscat sends each stdin line once connected; the pauses let it connect first (a
        # loaded CI machine has taken over 8 s for the first handshake).
        script = (
            "(sleep 10; printf '%s\\n' '{\"action\":\"ping\"}' "
            '\'{"action":"sendmessage","data":"hello"}\'; sleep 5) | ' + wscat_command
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
    args = ["cost", "--connections", "1000", "--rooms", "10", "--messages-per-second", "1",
            "--message-bytes", "1000", "--memory", "1024"]  # fmt: skip
    code = cli.main(args)
    out = capsys.readouterr().out
    assert code == 0
    assert "prices read on 2026-11-29" in out
    assert "API Gateway messages" in out and "265.43" in out  # the Scan-based design's
    # presence's joins and leaves: 365,000 sessions x 2 x 99 posts more than 265.43
    assert "337.70" in out
    assert "The Scan-based design costs 1.03x as much." in out
    assert cli.main([*args, "--presence-max-room", "0"]) == 0
    assert "The Scan-based design costs 1.29x as much." in capsys.readouterr().out


def test_cli_counts_the_subscriptions_of_each_connection(capsys):
    """--extra-rooms adds each session's subscribe invocations and membership writes."""
    args = ["cost", "--connections", "1000", "--rooms", "10", "--messages-per-second", "1",
            "--message-bytes", "1000"]  # fmt: skip
    assert cli.main(args) == 0
    one_room = capsys.readouterr().out
    assert cli.main([*args, "--extra-rooms", "3"]) == 0
    four_rooms = capsys.readouterr().out

    def monthly(out: str) -> float:
        total = re.search(r"total \(USD/month\)\s+([\d,]+\.\d\d)", out)
        assert total is not None, out
        return float(total.group(1).replace(",", ""))

    assert monthly(four_rooms) > monthly(one_room)


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


# -- publish ---------------------------------------------------------------------------------


@dataclass
class RunningDev:
    """A `realtime-socket dev` serving a copy of the project, and a chat token for it."""

    project: Path
    process: DevProcess
    port: int
    token: str
    model: local_model.LocalModel

    def ws_url(self, room: str, sub: str | None = None) -> str:
        """A chat URL for ``room``, as alice or, with ``sub``, as that user."""
        token = self.token if sub is None else devtokens.mint(self.model, "chat", sub=sub)
        return f"ws://127.0.0.1:{self.port}/chat?room_id={room}&token={token}"

    def command(self, *args: str) -> list[str]:
        """A `realtime-socket` subcommand aimed at this runtime, run from the project folder."""
        name, *rest = args
        return [sys.executable, "-m", "realtime_socket", name, "--port", str(self.port), *rest]

    def publish(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`realtime-socket publish` run from the project folder, as a user would."""
        return subprocess.run(
            self.command("publish", *args),
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start_request(self, user: str, *args: str) -> subprocess.Popen[str]:
        """`realtime-socket request --namespace chat --user USER ...`, left running."""
        return subprocess.Popen(
            self.command("request", "--namespace", "chat", "--user", user, *args),
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture(scope="module")
def running_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDev]:
    """One runtime for the module's publish tests; stopping it withdraws its announcement."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    process = DevProcess(
        [sys.executable, "-m", "realtime_socket", "dev", "--port", "0"], cwd=project
    )
    try:
        process.wait_for("Ctrl-C to stop.")
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)/chat", process.output).group(1))
        model = local_model.build(run_stack(project))
        yield RunningDev(project, process, port, devtokens.mint(model, "chat", sub="alice"), model)
        assert "stopped cleanly" in process.interrupt()
        assert not cli.dev_state_path(project, port).exists()  # withdrawn at stop
    finally:
        process.kill()


def _publish(*args: str) -> int:
    return cli.main(["publish", "--room", "lobby", "--data", "1", *args])


def test_dev_announces_what_publish_needs(running_dev):
    """The state file names the endpoints the banner prints, and the process that serves them."""
    state = json.loads(cli.dev_state_path(running_dev.project, running_dev.port).read_text())
    out = running_dev.process.output
    assert (state["pid"], state["stack"], state["port"]) == (
        running_dev.process.process.pid,
        "dev",
        running_dev.port,
    )
    assert re.search(rf"AWS APIs\s+{re.escape(state['aws_endpoint'])} ", out)
    assert sorted(state["namespaces"]) == ["chat", "telemetry"]
    for ns, output in state["namespaces"].items():
        assert output["url"] == f"ws://127.0.0.1:{running_dev.port}/{ns}"
        assert f"@connections {output['management_endpoint']}\n" in out
        assert f"table: {output['table_name']}\n" in out
        assert output["table_name"].startswith(f"{ns}-connections-table-")


def test_publish_reaches_every_connection_in_the_room_and_no_other(running_dev):
    with (
        connect(running_dev.ws_url("lobby")) as lobby,
        connect(running_dev.ws_url("kitchen")) as kitchen,
    ):
        done = running_dev.publish(
            "--namespace", "chat", "--room", "lobby", "--data", '{"text":"hi"}', "--sender", "ci"
        )
        assert (done.returncode, done.stdout, done.stderr) == (
            0,
            "1 delivered, 0 gone, 0 failed\n",
            "",
        )
        frame = json.loads(lobby.recv(timeout=10))
        assert (frame["type"], frame["room"], frame["from"], frame["data"]) == (
            "message",
            "lobby",
            "ci",
            {"text": "hi"},
        )
        with pytest.raises(TimeoutError):
            kitchen.recv(timeout=1)


def test_publish_asks_for_the_namespace_when_the_runtime_serves_several(running_dev, capsys):
    project, port = str(running_dev.project), str(running_dev.port)
    assert _publish("--project-dir", project, "--port", port) == 2
    err = capsys.readouterr().err
    assert f"error: pass --namespace: the realtime-socket dev runtime on port {port}" in err
    assert "has chat, telemetry" in err
    assert _publish("--project-dir", project, "--port", port, "--stack", "prod") == 2
    assert "serves stack 'dev', not 'prod'" in capsys.readouterr().err


def test_publish_without_a_dev_runtime_is_a_clear_error(tmp_path, capsys):
    assert _publish("--namespace", "chat", "--project-dir", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "error: no realtime-socket dev runtime is running on port 8080" in err
    assert "start one with `realtime-socket dev`" in err
    # One a SIGKILL left behind announces a process that no longer exists: no runtime either.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    state = cli.dev_state_path(tmp_path, 8080)
    state.parent.mkdir()
    for pid in (int(dead.stdout), -1, 0, "1"):  # and files no runtime wrote
        state.write_text(json.dumps({"pid": pid, "stack": "dev", "namespaces": {}}))
        assert _publish("--namespace", "chat", "--project-dir", str(tmp_path)) == 2
        assert "no realtime-socket dev runtime is running on port 8080" in capsys.readouterr().err


@pytest.mark.parametrize("data", ["hi", "{text: 1}", ""])
def test_publish_refuses_data_that_is_not_json(data, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["publish", "--room", "lobby", "--data", data])
    assert exited.value.code == 2
    assert "argument --data: not JSON" in capsys.readouterr().err


OUTPUTS = {
    "chat": {
        "url": "wss://abc123.execute-api.eu-west-1.amazonaws.com/live",
        "management_endpoint": "https://abc123.execute-api.eu-west-1.amazonaws.com/live",
        "custom_url": None,
        "table_name": "chat-connections-table-1",
    },
    "telemetry": {
        "url": "wss://def456.execute-api.eu-west-1.amazonaws.com/live",
        "management_endpoint": "https://def456.execute-api.eu-west-1.amazonaws.com/live",
        "custom_url": None,
        "table_name": "telemetry-connections-table-2",
    },
    "region": "eu-west-1",  # a stack may export more than namespaces
}


def _target(*args: str) -> cli.PublishTarget:
    parsed = cli.build_parser().parse_args(["publish", "--room", "r", "--data", "1", *args])
    return cli.resolve_publish_target(parsed)


def test_publish_stack_output_resolves_to_the_namespaces_table_and_endpoint(tmp_path):
    """`pulumi stack output --json`: --namespace picks the namespace; one namespace's output
    (`pulumi stack output --json chat`) works too; the region is the endpoint's unless given."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    chat = OUTPUTS["chat"]
    assert _target("--stack-output", str(outputs), "--namespace", "telemetry") == cli.PublishTarget(
        "telemetry-connections-table-2",
        "https://def456.execute-api.eu-west-1.amazonaws.com/live",
    )
    one = tmp_path / "chat.json"
    one.write_text(json.dumps(chat))
    assert _target("--stack-output", str(one), "--region", "eu-west-1") == cli.PublishTarget(
        chat["table_name"], chat["management_endpoint"], "eu-west-1"
    )
    assert _target("--table", "t", "--endpoint", "https://e/live") == cli.PublishTarget(
        "t", "https://e/live"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "nope"], "no namespace 'nope' in {file}; namespaces: chat, telemetry"),
        ([], "pass --namespace: {file} has chat, telemetry"),
        (
            ["--namespace", "chat", "--table", "t"],
            "--stack-output and --table/--endpoint are alternatives",
        ),
    ],
)
def test_publish_stack_output_errors_are_clear(args, message, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    assert _publish("--stack-output", str(outputs), *args) == 2
    assert f"error: {message.format(file=outputs)}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read --stack-output"),
        ("{", "is not JSON"),
        ("[]", "is not a JSON object"),
        ('{"chat": {"url": "w"}}', "lacks table_name, management_endpoint for namespace 'chat'"),
    ],
)
def test_publish_unusable_stack_output_is_a_clear_error(content, message, tmp_path, capsys):
    outputs = tmp_path / "outputs.json"
    if content is not None:
        outputs.write_text(content)
    assert _publish("--stack-output", str(outputs), "--namespace", "chat") == 2
    assert message in capsys.readouterr().err


def test_publish_table_and_endpoint_go_together(capsys):
    assert _publish("--table", "t") == 2
    assert "error: --table and --endpoint go together" in capsys.readouterr().err


def test_publish_to_a_deployed_stack_prints_the_counts_and_exits_1_when_a_post_failed(
    monkeypatch, capsys
):
    """The Publisher gets the stack's table, endpoint and region; no AWS call here."""
    calls = []

    def publish(self, room, data, *, sender):
        calls.append((self.table_name, self.management_endpoint, self.region, room, data, sender))
        return PublishResult(delivered=2, gone=1, failed=1)

    monkeypatch.setattr(Publisher, "publish", publish)
    endpoint = OUTPUTS["chat"]["management_endpoint"]
    code = cli.main(
        ["publish", "--room", "lobby", "--data", '{"a":1}', "--table", "t", "--endpoint", endpoint]
    )
    assert (code, capsys.readouterr().out) == (1, "2 delivered, 1 gone, 1 failed\n")
    assert calls == [("t", endpoint, "eu-west-1", "lobby", {"a": 1}, "server")]


def test_publish_refuses_an_invalid_room_before_any_aws_call(capsys):
    code = cli.main(
        ["publish", "--room", "a b", "--data", "1", "--table", "t", "--endpoint", "https://e/live",
         "--region", "eu-west-1"]
    )  # fmt: skip
    assert code == 2
    assert "error: invalid room 'a b'" in capsys.readouterr().err


# -- request ---------------------------------------------------------------------------------


def _finish(command: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = command.communicate(timeout=60)
    return command.returncode, out, err


def test_request_prints_the_first_reply_of_the_users_connections_and_refuses_a_later_one(
    running_dev: RunningDev,
) -> None:
    """Every connection of the user gets the request, no one else's; the first reply is
    printed as JSON (exit 0) and a later answer to the same request is refused."""
    with (
        connect(running_dev.ws_url("lobby", sub="device-a")) as first,
        connect(running_dev.ws_url("kitchen", sub="device-a")) as second,
        connect(running_dev.ws_url("lobby", sub="device-b")) as other,
    ):
        command = running_dev.start_request("device-a", "--data", '{"read":"temp"}')
        asked = recv_json(first, timeout=30)
        assert (asked["type"], asked["data"]) == ("request", {"read": "temp"})
        assert recv_json(second) == asked  # the same request, id included
        send(first, {"action": "reply", "id": asked["id"], "data": {"temp": 21.5}})
        assert _finish(command) == (0, '{"temp": 21.5}\n', "")
        send(second, {"action": "reply", "id": asked["id"], "data": {"temp": 99}})
        refused = recv_json(second)
        assert (refused["type"], refused["code"]) == ("error", "unknown_request")
        assert_silent(other, 0.3)


def test_request_to_a_user_without_a_connection_exits_1_naming_the_user(
    running_dev: RunningDev,
) -> None:
    """No live connection: exit 1 at once, and the message names the user."""
    assert _finish(running_dev.start_request("nobody-here", "--data", "1")) == (
        1,
        "",
        "error: 'nobody-here' has no live connection\n",
    )


def test_request_nobody_answers_exits_1_after_the_timeout_and_forgets_the_request(
    running_dev: RunningDev,
) -> None:
    """A device that takes the request but never answers: exit 1 after --timeout with a
    message naming the user and the timeout; an answer after that is refused."""
    with connect(running_dev.ws_url("lobby", sub="device-mute")) as mute:
        command = running_dev.start_request("device-mute", "--data", "{}", "--timeout", "1")
        asked = recv_json(mute, timeout=30)
        asked_at = time.monotonic()
        assert asked["type"] == "request"
        assert _finish(command) == (1, "", "error: no reply from 'device-mute' within 1 s\n")
        assert time.monotonic() - asked_at >= 0.8  # it waited out the timeout after asking
        send(mute, {"action": "reply", "id": asked["id"], "data": "late"})
        assert recv_json(mute)["code"] == "unknown_request"  # the request was deleted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{read: temp}"], "argument --data: not JSON"),
        (["--data", "1", "--timeout", "0"], "argument --timeout: must be from 0.1 to 3600, got 0"),
        (["--data", "1", "--timeout", "nan"], "argument --timeout: must be from 0.1 to 3600"),
        (["--data", "1", "--table", "t"], "error: --table and --endpoint go together"),
    ],
)
def test_request_refuses_bad_arguments_with_status_2_before_any_call(
    args: list[str],
    message: str,
    running_dev: RunningDev,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bad JSON, a timeout out of range, --table without --endpoint: exit 2 and why, and
    neither the runtime nor AWS is asked anything."""
    monkeypatch.setattr(Publisher, "_request", _must_not_be_called)
    code: int | str | None
    try:
        code = cli.main(
            ["request", "--user", "device-a", "--namespace", "chat",
             "--project-dir", str(running_dev.project), "--port", str(running_dev.port), *args]
        )  # fmt: skip
    except SystemExit as exited:  # argparse's own refusals
        code = exited.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_request_to_an_empty_user_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--user ""` (no token has an empty sub): exit 2 before any AWS call."""
    monkeypatch.setattr(Publisher, "_request", _must_not_be_called)
    code = cli.main(
        ["request", "--user", "", "--data", "1", "--table", "t", "--endpoint",
         "https://e/live", "--region", "eu-west-1"]
    )  # fmt: skip
    assert code == 2
    assert "error: user must be a token's non-empty sub" in capsys.readouterr().err


def _must_not_be_called(*args: object, **kwargs: object) -> None:
    raise AssertionError("the command reached the runtime or AWS")
