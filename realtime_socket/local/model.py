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

from realtime_socket.tools.recorded import RecordedResource, Recording

__all__ = [
    "LocalApi",
    "LocalAuthorizer",
    "LocalFunction",
    "LocalModel",
    "LocalRoute",
    "WiringError",
    "build",
    "declared_parameters",
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
    #: Lambda's ``loggingConfig.logFormat``: ``Text`` (Lambda's default) or ``JSON``.
    log_format: str = "Text"


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


def declared_parameters(model: LocalModel) -> dict[str, str]:
    """The SSM parameters the program creates: name -> value (secrets unwrapped)."""
    return {
        str(p.outputs.get("name")): str(unsecret(p.inputs.get("value"))) for p in model.parameters
    }


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
        log_format=str((fn.inputs.get("loggingConfig") or {}).get("logFormat", "Text")),
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


def _stage_of(recording: Recording, api: RecordedResource) -> RecordedResource | None:
    stages = [s for s in recording.of_type("aws:apigatewayv2/stage:Stage")
              if s.inputs.get("apiId") == api.id]  # fmt: skip
    return stages[0] if stages else None


def _of_api(recording: Recording, type_: str, api: RecordedResource) -> list[RecordedResource]:
    return [r for r in recording.of_type(type_) if r.inputs.get("apiId") == api.id]


@dataclass
class _Builder:
    """Reads one recording; collects every problem rather than stopping at the first."""

    recording: Recording
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    by_invoke_arn: dict[str, RecordedResource] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for fn in self.recording.of_type(_FUNCTION):
            self.functions[fn.name] = _function(fn)
            self.by_invoke_arn[str(fn.outputs.get("invokeArn"))] = fn

    def api(self, api: RecordedResource) -> LocalApi | None:
        stage = _stage_of(self.recording, api)
        if stage is None:
            self.problems.append(f"API {api.name} has no stage to serve")
            return None
        settings = stage.inputs.get("defaultRouteSettings") or {}
        local = LocalApi(
            namespace=_namespace(self.recording, api),
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
            for i in _of_api(self.recording, "aws:apigatewayv2/integration:Integration", api)
        }
        authorizers = {
            a.id: a for a in _of_api(self.recording, "aws:apigatewayv2/authorizer:Authorizer", api)
        }
        responses = {
            r.inputs.get("routeId")
            for r in _of_api(self.recording, "aws:apigatewayv2/routeResponse:RouteResponse", api)
        }
        for route in _of_api(self.recording, "aws:apigatewayv2/route:Route", api):
            built = self.route(api, local, route, integrations, authorizers, route.id in responses)
            if built is not None:
                local.routes[built.key] = built
        return local

    def route(
        self,
        api: RecordedResource,
        local: LocalApi,
        route: RecordedResource,
        integrations: dict[str, RecordedResource],
        authorizers: dict[str, RecordedResource],
        has_response: bool,
    ) -> LocalRoute | None:
        key = str(route.inputs.get("routeKey"))
        target = str(route.inputs.get("target", ""))
        integration = integrations.get(target.removeprefix("integrations/"))
        if integration is None:
            self.problems.append(
                f"route {route.name} ({key}) targets {target!r}, which is not an "
                f"integration of API {api.name}"
            )
            return None
        fn = self.by_invoke_arn.get(str(integration.inputs.get("integrationUri")))
        if fn is None or integration.inputs.get("integrationType") != "AWS_PROXY":
            self.problems.append(
                f"integration {integration.name} is not an AWS_PROXY integration of a "
                "Lambda function in this program"
            )
            return None
        self.require_permission(
            fn, f"{local.execution_arn}/{local.stage}/{key}", f"function {fn.name}",
            f" (route {route.name})",
        )  # fmt: skip
        authorizer: LocalAuthorizer | None = None
        if route.inputs.get("authorizationType") == "CUSTOM":
            if key != "$connect":
                self.problems.append(
                    f"route {route.name} ({key}) has an authorizer; WebSocket APIs "
                    "authorize only $connect"
                )
            authorizer = self.authorizer(local, route, authorizers)
        return LocalRoute(
            key=key,
            name=route.name,
            function=self.functions[fn.name],
            reply=bool(route.inputs.get("routeResponseSelectionExpression")) and has_response,
            authorizer=authorizer,
        )

    def require_permission(
        self, fn: RecordedResource, source_arn: str, who: str, where: str = ""
    ) -> None:
        """API Gateway may invoke ``fn`` only with a permission for ``source_arn``."""
        if not _permitted(self.recording, fn, source_arn):
            self.problems.append(
                f"{who} has no lambda:InvokeFunction permission for "
                f"apigateway.amazonaws.com on {source_arn}{where}"
            )

    def authorizer(
        self, local: LocalApi, route: RecordedResource, authorizers: dict[str, RecordedResource]
    ) -> LocalAuthorizer | None:
        record = authorizers.get(str(route.inputs.get("authorizerId")))
        if record is None:
            self.problems.append(f"route {route.name} names an authorizer that does not exist")
            return None
        fn = self.by_invoke_arn.get(str(record.inputs.get("authorizerUri")))
        if fn is None:
            self.problems.append(f"authorizer {record.name} has no Lambda function")
            return None
        self.require_permission(
            fn, f"{local.execution_arn}/authorizers/{record.id}", f"authorizer function {fn.name}"
        )
        return LocalAuthorizer(
            name=record.name,
            function=self.functions[fn.name],
            identity_sources=list(record.inputs.get("identitySources") or []),
        )


def build(recording: Recording) -> LocalModel:
    """Read the APIs, routes and functions the recording declares.

    Raises:
        WiringError: listing every piece of wiring AWS would reject.
    """
    builder = _Builder(recording)
    apis: dict[str, LocalApi] = {}
    for api in recording.of_type("aws:apigatewayv2/api:Api"):
        if api.inputs.get("protocolType") != "WEBSOCKET":
            continue
        local = builder.api(api)
        if local is None:
            continue
        if local.namespace in apis:
            builder.problems.append(
                f"two WebSocket APIs would both be served at /{local.namespace}"
            )
        apis[local.namespace] = local
    if builder.problems:
        raise WiringError(builder.problems)
    return LocalModel(
        apis=dict(sorted(apis.items())),  # stable order whatever the registration order
        functions=builder.functions,
        tables=recording.of_type("aws:dynamodb/table:Table"),
        parameters=recording.of_type("aws:ssm/parameter:Parameter"),
    )
