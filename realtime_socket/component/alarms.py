"""CloudWatch alarms of one namespace, notifying an SNS topic; off unless a topic is given.

What each alarm reads, and where AWS documents it:

- API Gateway (``AWS/ApiGateway``, dimensions ``ApiId`` and ``Stage``): ``ExecutionError``
  and ``IntegrationError``. ``ClientError`` is left out: it counts clients' mistakes.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-logging.html
- Lambda (``AWS/Lambda``, dimension ``FunctionName``): ``Errors`` and ``Throttles`` of every
  function of the namespace, and ``AsyncEventsDropped`` of the fan-out worker: shares of a
  broadcast Lambda gave up on after its retries or past their maximum age, which no error
  metric counts.
  https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
- DynamoDB (``AWS/DynamoDB``, dimensions ``TableName`` and ``Operation``):
  ``ThrottledRequests``, summed over the operations the handlers use (see
  :data:`TABLE_OPERATIONS`).
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TroubleshootingThrottling-cloudwatch.html
- The handlers' own metrics (:class:`realtime_socket.contract.Metrics`, Embedded Metric
  Format): ``Failed`` posts of a broadcast, dimensioned by the namespace.

Every alarm sums one 5-minute period and fires at its threshold (``alarms.thresholds``);
no data is not a breach (a quiet socket is a healthy one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from realtime_socket.component import naming
from realtime_socket.component.args import ResolvedAlarms
from realtime_socket.component.fanout_worker import FRAGMENT as FANOUT_WORKER
from realtime_socket.component.function import Function
from realtime_socket.component.scope import Scope
from realtime_socket.contract import Metrics

__all__ = [
    "API_NAMESPACE",
    "DYNAMODB_NAMESPACE",
    "LAMBDA_NAMESPACE",
    "PERIOD_SECONDS",
    "TABLE_OPERATIONS",
    "Alarms",
    "Watched",
    "build_alarms",
]

API_NAMESPACE = "AWS/ApiGateway"
LAMBDA_NAMESPACE = "AWS/Lambda"
DYNAMODB_NAMESPACE = "AWS/DynamoDB"
PERIOD_SECONDS = 300
#: The DynamoDB operations the handlers and the Publisher call. ``ThrottledRequests`` is
#: published per ``Operation`` only, so the table alarm sums one metric per operation
#: (metric math). It counts a request once whether the table or one of its indexes
#: throttled it; ``Read/WriteThrottleEvents`` with ``TableName`` alone would be cheaper but
#: miss the indexes (the room index is read by every broadcast), which are published
#: under ``GlobalSecondaryIndexName`` apart.
TABLE_OPERATIONS = (
    "BatchGetItem",
    "BatchWriteItem",
    "DeleteItem",
    "GetItem",
    "PutItem",
    "Query",
    "TransactWriteItems",
    "UpdateItem",
)


@dataclass(frozen=True)
class Watched:
    """What a namespace's alarms and dashboard read: its API and stage, tables, functions."""

    api_id: pulumi.Input[str]
    stage: pulumi.Input[str]
    tables: Mapping[str, pulumi.Input[str]]
    """Table name by role (``connections``, ``history``): the role names the alarm."""
    functions: Sequence[Function]


@dataclass(frozen=True)
class Alarms:
    """The alarms made, and the topic they notify (None when alarms are off)."""

    topic_arn: pulumi.Input[str] | None
    alarms: Sequence[aws.cloudwatch.MetricAlarm]


def build_alarms(scope: Scope, alarms: ResolvedAlarms, watched: Watched) -> Alarms:
    """The namespace's alarms (none unless ``alarms`` names a topic or creates one)."""
    if not alarms.enabled:
        return Alarms(None, ())
    topic = alarms.topic_arn
    if topic is None:
        topic = aws.sns.Topic(f"{scope.name}-alarms-topic", tags=scope.tags, opts=scope.opts()).arn
    limits = alarms.thresholds
    alarm = _Maker(scope, topic)
    api = {"ApiId": watched.api_id, "Stage": watched.stage}
    made = [
        alarm("execution-errors", limits.execution_errors, API_NAMESPACE, "ExecutionError", api,
              "API Gateway could not call a function"),
        alarm("integration-errors", limits.integration_errors, API_NAMESPACE, "IntegrationError",
              api, "functions answered 4xx/5xx (refused handshakes included)"),
    ]  # fmt: skip
    for function in watched.functions:
        # "-fn-": a route named "execution" or "connections-table" names no other alarm.
        dimensions = {"FunctionName": function.name}
        made += [
            alarm(f"{function.fragment}-fn-errors", limits.function_errors, LAMBDA_NAMESPACE,
                  "Errors", dimensions, f"the {function.fragment} function failed"),
            alarm(f"{function.fragment}-fn-throttles", limits.function_throttles, LAMBDA_NAMESPACE,
                  "Throttles", dimensions, f"Lambda throttled the {function.fragment} function"),
        ]  # fmt: skip
        if function.fragment == FANOUT_WORKER:
            made.append(
                alarm(f"{function.fragment}-fn-dropped", limits.function_errors, LAMBDA_NAMESPACE,
                      "AsyncEventsDropped", dimensions,
                      "shares of a broadcast were dropped after Lambda's retries")
            )  # fmt: skip
    for role, table in watched.tables.items():
        made.append(alarm.table_throttles(role, table, limits.table_throttles))
    made.append(
        alarm("fanout-failures", limits.fanout_failures, Metrics.NAMESPACE, Metrics.FAILED,
              {Metrics.DIMENSION: scope.name}, "posts to @connections failed after retries")
    )  # fmt: skip
    return Alarms(topic, made)


class _Maker:
    """Declares alarms of one namespace that notify one topic, with the shared settings."""

    def __init__(self, scope: Scope, topic: pulumi.Input[str]) -> None:
        self.scope = scope
        self.topic = topic

    def _alarm(
        self, kind: str, threshold: int, why: str, **metric: Any
    ) -> aws.cloudwatch.MetricAlarm:
        # Auto-named: the logical name and 8 characters, far inside CloudWatch's 255.
        return aws.cloudwatch.MetricAlarm(
            naming.child(self.scope.name, kind, "alarm"),
            alarm_description=f"realtime-socket {self.scope.name}: {why}",
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=threshold,
            evaluation_periods=1,
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic],
            ok_actions=[self.topic],
            tags=self.scope.tags,
            opts=self.scope.opts(),
            **metric,
        )

    def __call__(
        self,
        kind: str,
        threshold: int,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        why: str,
    ) -> aws.cloudwatch.MetricAlarm:
        """An alarm on the sum of one metric over one period."""
        return self._alarm(
            kind, threshold, why,
            namespace=namespace, metric_name=metric, dimensions=dict(dimensions),
            statistic="Sum", period=PERIOD_SECONDS,
        )  # fmt: skip

    def table_throttles(
        self, role: str, table: pulumi.Input[str], threshold: int
    ) -> aws.cloudwatch.MetricAlarm:
        """Throttled requests of one table, summed over :data:`TABLE_OPERATIONS`."""
        ids = [f"m{i}" for i in range(len(TABLE_OPERATIONS))]
        queries = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=DYNAMODB_NAMESPACE,
                    metric_name="ThrottledRequests",
                    dimensions={"TableName": table, "Operation": operation},
                    stat="Sum",
                    period=PERIOD_SECONDS,
                ),
            )
            for query_id, operation in zip(ids, TABLE_OPERATIONS, strict=True)
        ]
        total = aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="throttled",
            expression=f"SUM([{','.join(ids)}])",
            label="ThrottledRequests",
            return_data=True,
        )
        return self._alarm(
            f"{role}-table-throttles", threshold, f"the {role} table throttled requests",
            metric_queries=[*queries, total],
        )  # fmt: skip
