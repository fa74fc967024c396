"""`realtime-socket plan`: the resource tree of a Recording, children under their parent,
then the stack outputs."""

from __future__ import annotations

import io

from realtime_socket.tools import cli, plan
from realtime_socket.tools.recording import RecordedResource, Recording
from tests.support.helpers import ROOT


def resource(name: str, type_: str, parent: str = "", retention: float = 0) -> RecordedResource:
    inputs = {"retentionInDays": retention} if retention else {}
    return RecordedResource(f"urn:{name}", type_, name, name, inputs, {}, parent=parent)


def test_plan_prints_the_tree_and_outputs(capsys):
    assert cli.main(["plan", "--project-dir", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "note: realtime-socket:jwtSecret is a local development stand-in" in out
    assert "realtime-socket:index:RealtimeSocket chat\n" in out
    assert "  Route chat-connect-route  $connect auth=CUSTOM" in out
    assert "  Stage telemetry-stage  stage=live burst=1000 rate=2000 logging=INFO" in out
    # each function sits, with its role, policy and logs, under its Function component
    lines = out.splitlines()
    part = lines.index("  realtime-socket:index:Function chat-authorizer-function")
    assert lines[part + 1 : part + 5] == [
        "    LogGroup chat-authorizer-logs  /realtime-socket/realtime-socket/dev/chat/authorizer"
        " retention=30d",
        "    Role chat-authorizer-role",
        "    RolePolicy chat-authorizer-policy",
        "    Function chat-authorizer-fn  realtime_socket.handlers.authorizer.handler"
        " python3.12 ['arm64'] 256MB 10s",
    ]
    assert "\nOutputs:\n  chat: {url: wss://" in out


def test_render_nests_children_sorted_by_type_then_name_and_counts_every_resource():
    """Depth is indentation; siblings are ordered; AWS tokens are shortened, others kept."""
    recording = Recording(
        [
            resource("b", "my:index:Part"),
            resource("zeta-role", "aws:iam/role:Role", parent="urn:b"),
            resource("alpha-role", "aws:iam/role:Role", parent="urn:b"),
            resource("a", "my:index:Part"),
            resource("logs", "aws:cloudwatch/logGroup:LogGroup", "urn:zeta-role", retention=7.0),
        ]
    )
    out = io.StringIO()
    plan.render(recording, out)
    assert out.getvalue() == (
        "my:index:Part a\n"
        "my:index:Part b\n"
        "  Role alpha-role\n"
        "  Role zeta-role\n"
        "    LogGroup logs  None retention=7d\n"
        "\n5 resources\n"
    )


def test_render_prints_outputs_with_whole_floats_as_integers():
    """The mock monitor hands numbers back as floats: 30.0 prints as 30, 0.5 stays."""
    out = io.StringIO()
    plan.render(Recording([], {"chat": {"port": 30.0, "share": 0.5}, "name": "x"}), out)
    expected = "\n0 resources\n\nOutputs:\n  chat: {port: 30, share: 0.5}\n  name: x\n"
    assert out.getvalue() == expected
