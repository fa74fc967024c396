"""The dashboard: one per namespace, on by default, a valid body whose every metric names
this namespace's API, tables and functions, and nothing of another namespace."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from realtime_socket import RealtimeSocket
from realtime_socket.component.dashboard import dashboard_body, dashboard_name
from realtime_socket.contract import Metrics
from realtime_socket.tools.recording import Recording, evaluate
from tests.support.helpers import evaluate_socket, jwt_args

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
NAMESPACES = ("chat", "telemetry")


@pytest.fixture(scope="module")
def two() -> Recording:
    """Two namespaces in one program."""

    def program() -> None:
        for name in NAMESPACES:
            RealtimeSocket(name, {"jwt": jwt_args()})  # type: ignore[typeddict-item]
        pulumi.export("ok", True)

    return evaluate(program, project="realtime-socket", stack="test")


def _body(rec: Recording, namespace: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(rec.named(f"{namespace}-dashboard").inputs["dashboardBody"])
    return body


def _metrics(body: dict[str, Any]) -> list[list[Any]]:
    """Every metric line of every widget (expressions excepted)."""
    return [
        line
        for widget in body["widgets"]
        for line in widget["properties"]["metrics"]
        if isinstance(line[0], str)
    ]


def _dimensions(line: list[Any]) -> dict[str, str]:
    """A metric line's dimensions: ``[namespace, metric, name, value, ..., {options}?]``."""
    pairs = [item for item in line[2:] if not isinstance(item, dict)]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def _own(rec: Recording, namespace: str) -> dict[str, set[str]]:
    """What the namespace's metrics may name, by dimension."""
    return {
        "ApiId": {rec.named(f"{namespace}-api").id},
        "Stage": {"live"},
        "TableName": {
            rec.named(f"{namespace}-{role}-table").outputs["name"]
            for role in ("connections", "history")
        },
        "FunctionName": {
            f.outputs["name"]
            for f in rec.of_type("aws:lambda/function:Function")
            if f.name.startswith(f"{namespace}-")
        },
        Metrics.DIMENSION: {namespace},
    }


def test_one_dashboard_per_namespace_by_default(two):
    dashboards = two.of_type(DASHBOARD)
    assert sorted(d.name for d in dashboards) == ["chat-dashboard", "telemetry-dashboard"]
    names = {d.inputs["dashboardName"] for d in dashboards}
    assert names == {"realtime-socket-realtime-socket-test-chat",
                     "realtime-socket-realtime-socket-test-telemetry"}  # fmt: skip


def test_dashboard_false_makes_none():
    assert evaluate_socket("chat", dashboard=False).of_type(DASHBOARD) == []


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_metric_names_this_namespaces_resources_only(two, namespace):
    """Each dimension value is this namespace's API, stage, table, function or name; every
    resource the dashboard should show is shown; none of the other namespace's is."""
    own = _own(two, namespace)
    other = _own(two, next(n for n in NAMESPACES if n != namespace))
    shown: dict[str, set[str]] = {}
    for line in _metrics(_body(two, namespace)):
        for key, value in _dimensions(line).items():
            assert value in own[key], (key, value)
            assert value not in other[key] or key == "Stage", (key, value)
            shown.setdefault(key, set()).add(value)
    assert shown == own


def test_the_widgets_show_traffic_latency_errors_and_table_usage(two):
    """The metric names AWS publishes for WebSocket APIs, Lambda and DynamoDB, and the
    handlers' fan-out seconds at p50 and p99 and their failed posts."""
    body = _body(two, "chat")
    by_title = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    assert all(p["region"] == "us-east-1" for p in by_title.values())

    def names(title: str) -> set[tuple[str, str]]:
        return {
            (line[0], line[1]) for line in by_title[title]["metrics"] if isinstance(line[0], str)
        }

    assert names("Connections") == {("AWS/ApiGateway", "ConnectCount")}
    assert names("Messages") == {("AWS/ApiGateway", "MessageCount")}
    latency = by_title["Fan-out seconds (p50, p99)"]["metrics"]
    assert [(line[1], line[-1]["stat"]) for line in latency] == [
        (Metrics.FANOUT_SECONDS, "p50"),
        (Metrics.FANOUT_SECONDS, "p99"),
    ]
    assert all(line[0] == Metrics.NAMESPACE for line in latency)
    assert names("Errors") == {
        ("AWS/ApiGateway", "IntegrationError"),
        ("AWS/ApiGateway", "ExecutionError"),
        ("AWS/Lambda", "Errors"),
        (Metrics.NAMESPACE, Metrics.FAILED),
    }
    assert names("DynamoDB consumed units") == {
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits"),
        ("AWS/DynamoDB", "ConsumedWriteCapacityUnits"),
    }


def test_lambda_errors_are_summed_over_every_function(two):
    """Each function's Errors is a hidden series; one expression adds them all up."""
    errors = next(
        w["properties"]["metrics"] for w in _body(two, "chat")["widgets"]
        if w["properties"]["title"] == "Errors"
    )  # fmt: skip
    hidden = [line[-1]["id"] for line in errors if line[:2] == ["AWS/Lambda", "Errors"]]
    assert len(hidden) == 12
    assert all(
        line[-1]["visible"] is False for line in errors if line[:2] == ["AWS/Lambda", "Errors"]
    )
    (expression,) = [line[0] for line in errors if isinstance(line[0], dict)]
    assert expression["expression"] == f"SUM([{','.join(hidden)}])"


def test_widgets_do_not_overlap():
    body = json.loads(
        dashboard_body(
            namespace="chat", region="eu-west-1", api_id="a", stage="live",
            tables={"connections": "t"}, functions=["f"],
        )
    )  # fmt: skip
    cells = [(w["x"], w["y"]) for w in body["widgets"]]
    assert len(cells) == len(set(cells)) == 5
    assert all(w["x"] + w["width"] <= 24 for w in body["widgets"])  # CloudWatch's grid


def test_dashboard_names_keep_only_what_cloudwatch_accepts():
    """Letters, digits, - and _ only, at most 255 characters; project and stack names may
    hold dots."""
    assert dashboard_name("my.app", "prod.eu", "chat") == "realtime-socket-my-app-prod-eu-chat"
    long = dashboard_name("p" * 100, "s" * 200, "chat")
    assert len(long) == 255
    assert long != dashboard_name("p" * 100, "s" * 199 + "t", "chat")
