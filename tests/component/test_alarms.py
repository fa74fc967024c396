"""Alarms read exactly the metrics AWS and the handlers publish, for every function and table
of the namespace, notify one topic, and exist only when given somewhere to send them."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from realtime_socket import RealtimeSocket
from realtime_socket.component.alarms import TABLE_OPERATIONS
from realtime_socket.component.args import resolve
from realtime_socket.contract import Metrics
from realtime_socket.tools.recording import RecordedResource, Recording, evaluate
from tests.support.helpers import evaluate_socket, jwt_args, socket_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
FUNCTION = "aws:lambda/function:Function"
OPS_TOPIC = "arn:aws:sns:us-east-1:123456789012:ops"
#: Extra routes whose names end like other alarms' kinds: their alarms must not collide.
EXTRA_ROUTES = {
    key: {"handler": "realtime_socket.handlers.ping.handler"}
    for key in ("execution", "connections-table")
}
#: Every threshold's documented default, by alarm (the function and table alarms by kind).
DEFAULTS = {
    "chat-execution-errors-alarm": 1,
    "chat-integration-errors-alarm": 10,
    "fn-errors": 1,
    "fn-throttles": 1,
    "fn-dropped": 1,  # the fan-out worker's AsyncEventsDropped, at function_errors
    "table-throttles": 1,
    "chat-fanout-failures-alarm": 10,
}


@pytest.fixture(scope="module")
def created() -> Recording:
    """Alarms on, to a topic of the namespace's own; every threshold at its default."""
    return evaluate_socket("chat", alarms={"create_topic": True})


@pytest.fixture(scope="module")
def reused() -> Recording:
    """Alarms on, to an existing topic, two thresholds overridden, and two extra routes."""
    thresholds = {"function_errors": 5, "fanout_failures": 50}
    return evaluate_socket(
        "chat", routes=EXTRA_ROUTES, alarms={"topic_arn": OPS_TOPIC, "thresholds": thresholds}
    )


def _metrics(alarm: RecordedResource) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, dimensions) of every metric the alarm reads."""
    if "metricQueries" in alarm.inputs:
        return [
            (q["metric"]["namespace"], q["metric"]["metricName"], q["metric"]["dimensions"])
            for q in alarm.inputs["metricQueries"]
            if "metric" in q
        ]
    return [(alarm.inputs["namespace"], alarm.inputs["metricName"], alarm.inputs["dimensions"])]


def _read(rec: Recording) -> set[tuple[str, str, tuple[str, ...]]]:
    """Every (namespace, metric, dimension names) the recording's alarms read."""
    return {
        (namespace, metric, tuple(sorted(dimensions)))
        for alarm in rec.of_type(ALARM)
        for namespace, metric, dimensions in _metrics(alarm)
    }


def test_alarms_read_only_the_metrics_aws_and_the_handlers_publish(created):
    """API Gateway's WebSocket metrics by ApiId and Stage (never ClientError), Lambda's by
    FunctionName, DynamoDB's ThrottledRequests by TableName and Operation, and the
    handlers' Failed posts by the namespace dimension."""
    assert _read(created) == {
        ("AWS/ApiGateway", "ExecutionError", ("ApiId", "Stage")),
        ("AWS/ApiGateway", "IntegrationError", ("ApiId", "Stage")),
        ("AWS/Lambda", "Errors", ("FunctionName",)),
        ("AWS/Lambda", "Throttles", ("FunctionName",)),
        ("AWS/Lambda", "AsyncEventsDropped", ("FunctionName",)),
        ("AWS/DynamoDB", "ThrottledRequests", ("Operation", "TableName")),
        (Metrics.NAMESPACE, Metrics.FAILED, (Metrics.DIMENSION,)),
    }


def test_api_alarms_watch_this_api_and_stage(created):
    api = created.named("chat-api").id
    for kind in ("execution-errors", "integration-errors"):
        alarm = created.named(f"chat-{kind}-alarm")
        assert alarm.inputs["dimensions"] == {"ApiId": api, "Stage": "live"}


@pytest.mark.parametrize(("fixture", "functions"), [("created", 12), ("reused", 14)])
def test_every_function_has_an_errors_and_a_throttles_alarm(request, fixture, functions):
    """One pair per function of the namespace: the 10 routes, the authorizer and the fan-out
    worker, and extra routes' functions too."""
    rec: Recording = request.getfixturevalue(fixture)
    names = {f.outputs["name"] for f in rec.of_type(FUNCTION)}
    assert len(names) == functions
    watched = [
        (alarm.inputs["metricName"], alarm.inputs["dimensions"]["FunctionName"])
        for alarm in rec.of_type(ALARM)
        if alarm.inputs.get("metricName") in ("Errors", "Throttles")
    ]
    assert len(watched) == 2 * functions
    assert set(watched) == {(m, n) for n in names for m in ("Errors", "Throttles")}


def test_each_table_alarm_sums_throttled_requests_of_every_operation_the_handlers_use(created):
    """ThrottledRequests is published per Operation: one metric each, summed by an
    expression that alone returns data."""
    for role in ("connections", "history"):
        table = created.named(f"chat-{role}-table").outputs["name"]
        queries = created.named(f"chat-{role}-table-throttles-alarm").inputs["metricQueries"]
        metrics = [q for q in queries if "metric" in q]
        assert {q["metric"]["dimensions"]["TableName"] for q in metrics} == {table}
        operations = [q["metric"]["dimensions"]["Operation"] for q in metrics]
        assert sorted(operations) == sorted(TABLE_OPERATIONS)
        assert {"PutItem", "UpdateItem", "DeleteItem", "Query", "GetItem"} <= set(operations)
        assert {"BatchWriteItem", "TransactWriteItems"} <= set(operations)
        assert all(q["metric"]["stat"] == "Sum" and not q["returnData"] for q in metrics)
        (total,) = [q for q in queries if q.get("returnData")]
        ids = ",".join(q["id"] for q in metrics)
        assert total["expression"] == f"SUM([{ids}])"


def test_shares_lambda_drops_alarm_on_the_fanout_worker_only(created):
    [dropped] = [
        a for a in created.of_type(ALARM) if a.inputs.get("metricName") == "AsyncEventsDropped"
    ]
    worker = created.named("chat-fanout-worker-fn").outputs["name"]
    assert dropped.inputs["dimensions"] == {"FunctionName": worker}


def test_fanout_failures_alarm_reads_the_handlers_metric_of_this_namespace(created):
    alarm = created.named("chat-fanout-failures-alarm")
    assert (alarm.inputs["namespace"], alarm.inputs["metricName"]) == (
        Metrics.NAMESPACE,
        Metrics.FAILED,
    )
    assert alarm.inputs["dimensions"] == {Metrics.DIMENSION: "chat"}


def test_a_created_topic_is_notified_by_every_alarm(created):
    """One topic per namespace; alarm and OK transitions both go to it; every alarm sums one
    5-minute period and takes no data as healthy."""
    (topic,) = created.of_type(TOPIC)
    assert topic.inputs["tags"] == {"realtime-socket:namespace": "chat"}
    alarms = created.of_type(ALARM)
    assert len(alarms) == 2 + 2 * 12 + 1 + 2 + 1  # API, functions, dropped shares, tables, fan-out
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [topic.outputs["arn"]]
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm.inputs["evaluationPeriods"] == 1
        assert alarm.inputs["treatMissingData"] == "notBreaching"
        assert alarm.name.startswith("chat-") and alarm.name.endswith("-alarm")
        queries = alarm.inputs.get("metricQueries")
        metrics = [q["metric"] for q in queries if "metric" in q] if queries else [alarm.inputs]
        assert {m["period"] for m in metrics} == {300}
    assert {a.inputs.get("statistic") for a in alarms if "metricQueries" not in a.inputs} == {"Sum"}


def _thresholds(rec: Recording) -> dict[str, set[float]]:
    """Thresholds by alarm, the function and table alarms grouped by kind."""
    found: dict[str, set[float]] = {}
    for alarm in rec.of_type(ALARM):
        key = alarm.name
        for kind in ("table-throttles", "fn-throttles", "fn-errors", "fn-dropped"):
            if key not in DEFAULTS and key.endswith(f"-{kind}-alarm"):
                key = kind
                break
        found.setdefault(key, set()).add(alarm.inputs["threshold"])
    return found


def test_thresholds_default_to_the_documented_counts(created):
    assert _thresholds(created) == {key: {value} for key, value in DEFAULTS.items()}


def test_a_given_topic_is_reused_and_thresholds_are_overridden(reused):
    """No topic is made; overridden kinds take the given counts, the others keep theirs."""
    assert reused.of_type(TOPIC) == []
    for alarm in reused.of_type(ALARM):
        assert alarm.inputs["alarmActions"] == alarm.inputs["okActions"] == [OPS_TOPIC]
    expected = {key: {value} for key, value in DEFAULTS.items()}
    expected["fn-errors"] = expected["fn-dropped"] = {5}
    expected["chat-fanout-failures-alarm"] = {50}
    assert _thresholds(reused) == expected


def test_a_topic_of_the_same_program_can_be_passed_as_an_output():
    def program() -> None:
        ops = aws.sns.Topic("ops")
        args = {"jwt": jwt_args(), "alarms": {"topic_arn": ops.arn}}
        RealtimeSocket("chat", args)  # type: ignore[arg-type]
        pulumi.export("ok", True)

    rec = evaluate(program, project="realtime-socket", stack="test")
    (topic,) = rec.of_type(TOPIC)  # the program's own; the socket made none
    assert topic.name == "ops"
    alarms = rec.of_type(ALARM)
    assert alarms
    assert all(a.inputs["alarmActions"] == [topic.outputs["arn"]] for a in alarms)


@pytest.mark.parametrize(
    "alarms", [None, {}, {"create_topic": False}, {"thresholds": {"function_errors": 3}}]
)
def test_without_a_topic_there_is_no_alarm_and_no_topic(alarms):
    """Alarms cost money: without topic_arn or create_topic nothing is made."""
    args = {} if alarms is None else {"alarms": alarms}
    rec = evaluate_socket("chat", **args)
    assert rec.of_type(ALARM) == []
    assert rec.of_type(TOPIC) == []


def _problems(alarms: Any) -> dict[str, str]:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        resolve("chat", {"jwt": jwt_args(), "alarms": alarms})
    errors = caught.value.errors or []
    for error in errors:
        assert error["property_path"] in caught.value.message
    return {e["property_path"]: e["reason"] for e in errors}


def test_invalid_alarms_are_reported_field_by_field_at_once():
    found = _problems(
        {
            "topic_arn": "ops",
            "create_topic": "yes",
            "thresholds": {"function_errors": 0, "table_throttles": 1.5, "lambda": 1},
            "email": "ops@example.com",
        }
    )
    assert set(found) == {
        "alarms.topic_arn",
        "alarms.create_topic",
        "alarms.thresholds.function_errors",
        "alarms.thresholds.table_throttles",
        "alarms.thresholds.lambda",
        "alarms.email",
    }
    assert "SNS topic ARN" in found["alarms.topic_arn"]
    assert "at least 1" in found["alarms.thresholds.function_errors"]
    assert found["alarms.email"] == "unknown argument"


def test_a_topic_and_create_topic_together_are_refused():
    found = _problems({"topic_arn": OPS_TOPIC, "create_topic": True})
    assert set(found) == {"alarms"}
    assert "not both" in found["alarms"]


def test_alarms_must_be_an_object():
    assert _problems("arn:aws:sns:us-east-1:123456789012:ops") == {"alarms": "must be an object"}


@pytest.mark.parametrize("alarms", [{"create_topic": True}, {"topic_arn": OPS_TOPIC}, {}])
def test_the_socket_exposes_the_topic_its_alarms_notify(alarms):
    """``alarm_topic_arn``: the created or given topic to subscribe to; None when off."""

    def export(socket: RealtimeSocket) -> None:
        pulumi.export("topic", socket.alarm_topic_arn)

    program = socket_program("chat", on_created=export, alarms=alarms)
    rec = evaluate(program, project="realtime-socket", stack="test")
    made = [t.outputs["arn"] for t in rec.of_type(TOPIC)]
    expected = {"create_topic": made[0] if made else "none made", "topic_arn": OPS_TOPIC}
    assert rec.exports["topic"] == next((expected[k] for k in alarms), None)
