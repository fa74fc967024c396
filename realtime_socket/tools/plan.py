"""``realtime-socket plan``: print the resource tree a stack program declares, offline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from realtime_socket.tools.recorded import RecordedResource, Recording

__all__ = ["render"]


def _short_type(token: str) -> str:
    return token.split(":")[-1] if token.startswith("aws:") else token


def _throttling(r: RecordedResource) -> str:
    s = r.get("defaultRouteSettings") or {}
    return (
        f"stage={r.get('name')} burst={_format(s.get('throttlingBurstLimit'))} "
        f"rate={_format(s.get('throttlingRateLimit'))} logging={s.get('loggingLevel')} "
        f"dataTrace={s.get('dataTraceEnabled')}"
    )


_DETAILS: dict[str, Callable[[RecordedResource], str]] = {
    "aws:apigatewayv2/api:Api": lambda r: (
        f"{r.get('protocolType')} selection={r.get('routeSelectionExpression')}"
    ),
    "aws:apigatewayv2/route:Route": lambda r: (
        f"{r.get('routeKey')} auth={r.get('authorizationType')}"
    ),
    "aws:apigatewayv2/authorizer:Authorizer": lambda r: (
        f"{r.get('authorizerType')} identity={r.get('identitySources')}"
    ),
    "aws:lambda/function:Function": lambda r: (
        f"{r.get('handler')} {r.get('runtime')} {r.get('architectures')} "
        f"{_format(r.get('memorySize'))}MB {_format(r.get('timeout'))}s"
    ),
    "aws:dynamodb/table:Table": lambda r: (
        f"{r.get('billingMode')} key={r.get('hashKey')} "
        f"indexes={[i.get('name') for i in r.get('globalSecondaryIndexes') or []]}"
    ),
    "aws:apigatewayv2/stage:Stage": _throttling,
    "aws:cloudwatch/logGroup:LogGroup": lambda r: (
        f"{r.get('name')} retention={_format(r.get('retentionInDays'))}d"
    ),
    "aws:ssm/parameter:Parameter": lambda r: f"{r.get('name')} {r.get('type')}",
    "aws:apigatewayv2/domainName:DomainName": lambda r: f"{r.get('domainName')}",
    "aws:apigatewayv2/apiMapping:ApiMapping": lambda r: f"key={r.get('apiMappingKey')}",
}


def _format(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # the mock monitor's numbers arrive as floats
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_format(v)}" for k, v in value.items()) + "}"
    return str(value)


def render(recording: Recording, out: TextIO) -> None:
    """Write the tree (children indented under their parent), then the stack outputs."""

    def walk(parent: str, depth: int) -> None:
        children = [r for r in recording.resources if r.parent == parent]
        for r in sorted(children, key=lambda c: (c.type, c.name)):
            detail = _DETAILS.get(r.type)
            extra = f"  {detail(r)}" if detail else ""
            print(f"{'  ' * depth}{_short_type(r.type)} {r.name}{extra}", file=out)
            walk(r.urn, depth + 1)

    walk("", 0)
    print(f"\n{len(recording.resources)} resources", file=out)
    if recording.exports:
        print("\nOutputs:", file=out)
        for key, value in recording.exports.items():
            print(f"  {key}: {_format(value)}", file=out)
