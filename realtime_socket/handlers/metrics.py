"""CloudWatch metrics in Embedded Metric Format (EMF): one JSON line on stdout per invocation.

Lambda ships every line a function writes to stdout to its CloudWatch Logs log group, and
CloudWatch Logs extracts metrics from any log event that is an EMF document, with no agent
and no ``cloudwatch:PutMetricData`` call on the request path:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html

The document must be the whole log event, so it is printed, never logged: with the JSON log
format Lambda wraps only stdlib ``logging`` records in its JSON object, while ``print``
output goes out as it is (plain text), and a line that is already JSON is not encoded again:
https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html and
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-logformat.html
A logged document would sit inside the record's ``message`` and never become a metric.

The format (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
``_aws`` holds ``Timestamp`` (epoch ms) and one directive per dimension set, each naming its
metrics and units; the dimension and metric values are members of the root. Names come from
:class:`~realtime_socket.contract.Metrics`, which the alarms and the dashboard read too.

Hand-written rather than Powertools' ``Metrics``, by the rule "Powertools unless its import
costs more than 30 ms at cold start": ``bench/coldstart.py`` measured Powertools' ``Metrics``
and ``Logger`` adding 114 ms to a handler's cold start as an artifact ships it (source, no
bytecode; 21 ms even with bytecode), and this module 1 ms: besides the contract it imports
only what Lambda's bootstrap has loaded already. A refusal's line costs a few microseconds.

What a document holds: counts, seconds, the socket's namespace name, a refusal's reason code
and the route. Never a token, a connection id, a user or a message.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping
from typing import Any, Final

from realtime_socket.contract import Env, Metrics

__all__ = [
    "NAMESPACE_ENV",
    "UNKNOWN_NAMESPACE",
    "broadcast",
    "connected",
    "document",
    "emit",
    "refused",
]

#: The environment variable holding the ``RealtimeSocket``'s name (``chat``), the value of
#: the ``Namespace`` dimension. The component sets it; Lambda's function name cannot stand in
#: for it (Pulumi suffixes physical names: ``chat-sendmessage-fn-1a2b3c4``).
NAMESPACE_ENV: Final = Env.SOCKET_NAMESPACE
#: The dimension's value when the variable is missing (a function deployed without it):
#: metrics still land, under a name that says what is wrong.
UNKNOWN_NAMESPACE: Final = "unknown"
#: Reason codes are fixed identifiers; the cap only guards the dimension's cardinality.
_MAX_REASON: Final = 64

_UNITS: Final = {Metrics.FANOUT_SECONDS: "Seconds"}
#: A broadcast's metrics, in the order the local runtime prints them.
_BROADCAST: Final = (
    Metrics.DELIVERED,
    Metrics.GONE,
    Metrics.FAILED,
    Metrics.RETRIES,
    Metrics.FANOUT_SECONDS,
    Metrics.HANDOFFS,
)
_REFUSED_DIRECTIVE: Final = {
    "Namespace": Metrics.NAMESPACE,
    "Dimensions": [[Metrics.DIMENSION, Metrics.REASON_DIMENSION]],
    "Metrics": [{"Name": Metrics.REFUSED, "Unit": "Count"}],
}


def _namespace() -> str:
    return os.environ.get(NAMESPACE_ENV) or UNKNOWN_NAMESPACE


def document(
    route: str,
    values: Mapping[str, float],
    *,
    reason: str | None = None,
    namespace: str | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """The EMF document for one invocation's ``values`` (metric name to number).

    ``Refused`` goes under the ``[Namespace, Reason]`` dimension set, with ``reason``
    (required with it); every other metric under ``[Namespace]``. ``route`` is a plain
    member: searchable in Logs Insights, never a dimension.
    """
    plain = [name for name in values if name != Metrics.REFUSED]
    directives: list[dict[str, Any]] = []
    if plain:
        directives.append(
            {
                "Namespace": Metrics.NAMESPACE,
                "Dimensions": [[Metrics.DIMENSION]],
                "Metrics": [{"Name": n, "Unit": _UNITS.get(n, "Count")} for n in plain],
            }
        )
    root: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": directives,
        },
        Metrics.DIMENSION: namespace or _namespace(),
        "route": route,
    }
    if Metrics.REFUSED in values:
        if not reason:
            raise ValueError("Refused needs a reason")
        directives.append(_REFUSED_DIRECTIVE)
        root[Metrics.REASON_DIMENSION] = reason[:_MAX_REASON]
    root.update(values)
    return root


def _encode(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def emit(route: str, values: Mapping[str, float], *, reason: str | None = None) -> None:
    """Print ``values`` as one EMF line on stdout; nothing when there is nothing to count."""
    if values:
        print(_encode(document(route, values, reason=reason)), flush=True)


@functools.lru_cache(maxsize=128)
def _refusal_line(route: str, reason: str, namespace: str) -> tuple[str, str]:
    """A refusal's line around its timestamp, the only part that changes: the authorizer
    refuses hostile tokens in tens of microseconds, and encoding the document each time
    would add several."""
    doc = document(route, {Metrics.REFUSED: 1}, reason=reason, namespace=namespace)
    doc["_aws"]["Timestamp"] = 0
    head, _, tail = _encode(doc).partition('"Timestamp":0')
    return head + '"Timestamp":', tail


def connected(route: str) -> None:
    """Count one accepted ``$connect``."""
    emit(route, {Metrics.CONNECTS: 1})


def refused(route: str, reason: str) -> None:
    """Count one refusal (a connect, a token or a message) under its reason code."""
    head, tail = _refusal_line(route, reason, _namespace())
    print(f"{head}{int(time.time() * 1000)}{tail}", flush=True)


def broadcast(
    route: str,
    counts: Mapping[str, int],
    *,
    seconds: float,
    handoffs: int | None = None,
) -> None:
    """Count one broadcast's posts (or one fan-out worker's share of it): ``counts`` as
    ``FanoutResult.counts`` gives them (delivered, gone, failed, retries).

    Every count is emitted, zeros too, so each broadcast is one sample of each metric and
    an alarm on ``Failed`` sees the broadcasts that failed nothing. ``handoffs`` only where
    shares can be handed (``sendmessage``).
    """
    numbers = (
        counts["delivered"],
        counts["gone"],
        counts["failed"],
        counts["retries"],
        round(seconds, 6),
        handoffs,
    )
    emit(route, {n: v for n, v in zip(_BROADCAST, numbers, strict=True) if v is not None})
