"""A CloudWatch dashboard of one namespace: traffic, fan-out latency, errors, table usage.

On by default: an account's first 3 dashboards (up to 50 metrics each) are free, so the
one dashboard of a stack with up to three namespaces usually costs nothing; past that each
costs $3 a month (``dashboard: false`` turns it off). It reads only what AWS and the
handlers publish anyway; the metric names and dimensions are those of :mod:`.alarms`.
The body's format:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from realtime_socket.component import naming
from realtime_socket.component.alarms import (
    API_NAMESPACE,
    DYNAMODB_NAMESPACE,
    LAMBDA_NAMESPACE,
    PERIOD_SECONDS,
    Watched,
)
from realtime_socket.component.scope import Scope
from realtime_socket.contract import Metrics

__all__ = ["build_dashboard", "dashboard_body", "dashboard_name"]

#: CloudWatch's limit on a dashboard's name (letters, digits, ``-`` and ``_``).
_MAX_NAME = 255
_WIDTH, _HEIGHT = 12, 6


def dashboard_name(project: str, stack: str, namespace: str) -> str:
    """An account-unique name: dashboards are not auto-named, and two stacks of the same
    project (dev, prod) may share an account."""
    text = re.sub(r"[^A-Za-z0-9_-]", "-", f"realtime-socket-{project}-{stack}-{namespace}")
    return naming.fit(text, _MAX_NAME)


def _widget(
    index: int, title: str, metrics: list[list[Any]], region: str, **extra: Any
) -> dict[str, Any]:
    """A time series widget, two to a row."""
    return {
        "type": "metric",
        "x": (index % 2) * _WIDTH,
        "y": (index // 2) * _HEIGHT,
        "width": _WIDTH,
        "height": _HEIGHT,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": "Sum",
            "period": PERIOD_SECONDS,
            "metrics": metrics,
            **extra,
        },
    }


def dashboard_body(
    *,
    namespace: str,
    region: str,
    api_id: str,
    stage: str,
    tables: Mapping[str, str],
    functions: Sequence[str],
) -> str:
    """The dashboard's JSON body, once the API id, table and function names are known."""
    api = ["ApiId", api_id, "Stage", stage]
    handlers = [Metrics.DIMENSION, namespace]
    errors: list[list[Any]] = [
        [API_NAMESPACE, "IntegrationError", *api],
        [API_NAMESPACE, "ExecutionError", *api],
        [Metrics.NAMESPACE, Metrics.FAILED, *handlers, {"label": "Failed posts"}],
    ]
    ids = [f"e{i}" for i in range(len(functions))]
    errors += [
        [LAMBDA_NAMESPACE, "Errors", "FunctionName", name, {"id": id_, "visible": False}]
        for id_, name in zip(ids, functions, strict=True)
    ]
    if ids:
        errors.append([{"expression": f"SUM([{','.join(ids)}])", "label": "Lambda Errors"}])
    usage = [
        [DYNAMODB_NAMESPACE, metric, "TableName", table, {"label": f"{role} {metric}"}]
        for role, table in tables.items()
        for metric in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
    ]
    widgets = [
        _widget(0, "Connections", [[API_NAMESPACE, "ConnectCount", *api]], region),
        _widget(1, "Messages", [[API_NAMESPACE, "MessageCount", *api]], region),
        _widget(
            2,
            "Fan-out seconds (p50, p99)",
            [
                [Metrics.NAMESPACE, Metrics.FANOUT_SECONDS, *handlers, {"stat": stat}]
                for stat in ("p50", "p99")
            ],
            region,
        ),
        _widget(3, "Errors", errors, region),
        _widget(4, "DynamoDB consumed units", usage, region),
    ]
    return json.dumps({"widgets": widgets})


def build_dashboard(scope: Scope, watched: Watched) -> aws.cloudwatch.Dashboard:
    """The namespace's dashboard; its body follows the API, tables and functions."""
    roles = list(watched.tables)
    region = aws.get_region_output(opts=scope.invoke_opts()).region
    body = pulumi.Output.all(
        region,
        watched.api_id,
        watched.stage,
        pulumi.Output.all(*watched.tables.values()),
        pulumi.Output.all(*(function.name for function in watched.functions)),
    ).apply(
        lambda v: dashboard_body(
            namespace=scope.name,
            region=v[0],
            api_id=v[1],
            stage=v[2],
            tables=dict(zip(roles, v[3], strict=True)),
            functions=v[4],
        )
    )
    return aws.cloudwatch.Dashboard(
        f"{scope.name}-dashboard",
        dashboard_name=dashboard_name(pulumi.get_project(), pulumi.get_stack(), scope.name),
        dashboard_body=body,
        opts=scope.opts(),
    )
