"""What the local runtime serves, read from a recording of the stack program.

Sans-I/O: turns recorded resources into APIs, routes, authorizers and functions, and refuses
wiring that AWS would refuse (a route whose integration does not exist, a function API
Gateway may not invoke, an authorizer on a route other than ``$connect``) with a message
naming the resource.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_socket.tools.recording import RecordedResource, Recording

__all__ = [
    "LocalApi",
    "LocalAuthorizer",
    "LocalFunction",
    "LocalModel",
    "LocalRoute",
    "WiringError",
    "build",
    "unsecret",
]

_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 - Pulumi secret envelope
_PERMISSION = "aws:lambda/permission:Permission"
_FUNCTION = "aws:lambda/function:Function"


class WiringError(ValueError):
    """The program declares wiring that API Gateway or Lambda would reject."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def unsecret(value: Any) -> Any:
    """Unwrap Pulumi's secret envelope, recursively."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) is not None and "value" in value:
            return unsecret(value["value"])
        return {k: unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v) for v in value]
    return value


@dataclass
class LocalFunction:
    """A Lambda function: its handler, its code files, its environment and timeout."""

    name: str
    physical_name: str
    handler: str
    files: dict[str, Path]
    environment: dict[str, str]
    timeout_seconds: float
    memory_mb: int


@dataclass
class LocalAuthorizer:
    name: str
    function: LocalFunction
    identity_sources: list[str]


@dataclass
class LocalRoute:
    key: str
    name: str
    function: LocalFunction
    reply: bool
    authorizer: LocalAuthorizer | None = None


@dataclass
class LocalApi:
    """One WebSocket API and its stage, served at ``/<namespace>``."""

    namespace: str
    api_id: str
    execution_arn: str
    route_selection_expression: str
    stage: str
    burst_limit: float
    rate_limit: float
    routes: dict[str, LocalRoute] = field(default_factory=dict)

    @property
    def connect_authorizer(self) -> LocalAuthorizer | None:
        route = self.routes.get("$connect")
        return route.authorizer if route else None


@dataclass
class LocalModel:
    apis: dict[str, LocalApi]
    functions: dict[str, LocalFunction]
    tables: list[RecordedResource]
    parameters: list[RecordedResource]


def _code_files(fn: RecordedResource) -> dict[str, Path]:
    """The function's own code. Dependency folders (built for Lambda's Linux/arm64) are
    skipped: locally, third-party packages come from the runtime's own environment."""
    code = fn.inputs.get("code")
    files: dict[str, Path] = {}
    for name, asset in getattr(code, "assets", {}).items():
        path = Path(getattr(asset, "path", ""))
        if path.is_file():
            files[name] = path
    return files


def _function(fn: RecordedResource) -> LocalFunction:
    env = unsecret((fn.inputs.get("environment") or {}).get("variables") or {})
    return LocalFunction(
        name=fn.name,
        physical_name=str(fn.outputs.get("name", fn.name)),
        handler=str(fn.inputs.get("handler", "")),
        files=_code_files(fn),
        environment={k: str(v) for k, v in env.items()},
        timeout_seconds=float(fn.inputs.get("timeout", 3)),
        memory_mb=int(fn.inputs.get("memorySize", 128)),
    )


def _namespace(recording: Recording, api: RecordedResource) -> str:
    if api.parent:
        parent = recording.by_urn(api.parent)
        if parent.type == "realtime-socket:index:RealtimeSocket":
            return parent.name
    return api.name.removesuffix("-api")


def _permitted(recording: Recording, fn: RecordedResource, source_arn: str) -> bool:
    names = {fn.outputs.get("name"), fn.outputs.get("arn"), fn.name}
    for permission in recording.of_type(_PERMISSION):
        inputs = permission.inputs
        if inputs.get("function") not in names:
            continue
        if inputs.get("principal") != "apigateway.amazonaws.com":
            continue
        if inputs.get("action") not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        pattern = inputs.get("sourceArn")
        if pattern is None or fnmatch.fnmatchcase(source_arn, str(pattern)):
            return True
    return False


def build(recording: Recording) -> LocalModel:
    """Read the APIs, routes and functions the recording declares.

    Raises:
        WiringError: listing every piece of wiring AWS would reject.
    """
    problems: list[str] = []
    functions: dict[str, LocalFunction] = {}
    by_invoke_arn: dict[str, RecordedResource] = {}
    for fn in recording.of_type(_FUNCTION):
        functions[fn.name] = _function(fn)
        by_invoke_arn[str(fn.outputs.get("invokeArn"))] = fn
    apis: dict[str, LocalApi] = {}
    for api in recording.of_type("aws:apigatewayv2/api:Api"):
        if api.inputs.get("protocolType") != "WEBSOCKET":
            continue
        stages = [s for s in recording.of_type("aws:apigatewayv2/stage:Stage")
                  if s.inputs.get("apiId") == api.id]  # fmt: skip
        if not stages:
            problems.append(f"API {api.name} has no stage to serve")
            continue
        stage = stages[0]
        settings = stage.inputs.get("defaultRouteSettings") or {}
        namespace = _namespace(recording, api)
        local = LocalApi(
            namespace=namespace,
            api_id=api.id,
            execution_arn=str(api.outputs.get("executionArn")),
            route_selection_expression=str(
                api.inputs.get("routeSelectionExpression", "$request.body.action")
            ),
            stage=str(stage.inputs.get("name")),
            burst_limit=float(settings.get("throttlingBurstLimit", 5000)),
            rate_limit=float(settings.get("throttlingRateLimit", 10000)),
        )
        integrations = {
            i.id: i
            for i in recording.of_type("aws:apigatewayv2/integration:Integration")
            if i.inputs.get("apiId") == api.id
        }
        authorizers = {
            a.id: a
            for a in recording.of_type("aws:apigatewayv2/authorizer:Authorizer")
            if a.inputs.get("apiId") == api.id
        }
        responses = {
            r.inputs.get("routeId")
            for r in recording.of_type("aws:apigatewayv2/routeResponse:RouteResponse")
            if r.inputs.get("apiId") == api.id
        }
        for route in recording.of_type("aws:apigatewayv2/route:Route"):
            if route.inputs.get("apiId") != api.id:
                continue
            key = str(route.inputs.get("routeKey"))
            target = str(route.inputs.get("target", ""))
            integration = integrations.get(target.removeprefix("integrations/"))
            if integration is None:
                problems.append(
                    f"route {route.name} ({key}) targets {target!r}, which is not an "
                    f"integration of API {api.name}"
                )
                continue
            target_fn = by_invoke_arn.get(str(integration.inputs.get("integrationUri")))
            if target_fn is None or integration.inputs.get("integrationType") != "AWS_PROXY":
                problems.append(
                    f"integration {integration.name} is not an AWS_PROXY integration of a "
                    "Lambda function in this program"
                )
                continue
            fn = target_fn
            source_arn = f"{local.execution_arn}/{local.stage}/{key}"
            if not _permitted(recording, fn, source_arn):
                problems.append(
                    f"function {fn.name} has no lambda:InvokeFunction permission for "
                    f"apigateway.amazonaws.com on {source_arn} (route {route.name})"
                )
            authorizer: LocalAuthorizer | None = None
            if route.inputs.get("authorizationType") == "CUSTOM":
                if key != "$connect":
                    problems.append(
                        f"route {route.name} ({key}) has an authorizer; WebSocket APIs "
                        "authorize only $connect"
                    )
                record = authorizers.get(str(route.inputs.get("authorizerId")))
                if record is None:
                    problems.append(f"route {route.name} names an authorizer that does not exist")
                else:
                    afn = by_invoke_arn.get(str(record.inputs.get("authorizerUri")))
                    auth_arn = f"{local.execution_arn}/authorizers/{record.id}"
                    if afn is None:
                        problems.append(f"authorizer {record.name} has no Lambda function")
                    else:
                        if not _permitted(recording, afn, auth_arn):
                            problems.append(
                                f"authorizer function {afn.name} has no lambda:InvokeFunction "
                                f"permission for apigateway.amazonaws.com on {auth_arn}"
                            )
                        authorizer = LocalAuthorizer(
                            name=record.name,
                            function=functions[afn.name],
                            identity_sources=list(record.inputs.get("identitySources") or []),
                        )
            local.routes[key] = LocalRoute(
                key=key,
                name=route.name,
                function=functions[fn.name],
                reply=bool(route.inputs.get("routeResponseSelectionExpression"))
                and route.id in responses,
                authorizer=authorizer,
            )
        if namespace in apis:
            problems.append(f"two WebSocket APIs would both be served at /{namespace}")
        apis[namespace] = local
    if problems:
        raise WiringError(problems)
    return LocalModel(
        apis=dict(sorted(apis.items())),  # stable order whatever the registration order
        functions=functions,
        tables=recording.of_type("aws:dynamodb/table:Table"),
        parameters=recording.of_type("aws:ssm/parameter:Parameter"),
    )
