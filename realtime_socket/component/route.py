"""One route: its function, the integration, the route, the invoke permission and, for
routes that answer the caller, a route response."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_aws as aws

from realtime_socket import contract
from realtime_socket.component import naming, packaging, policies
from realtime_socket.component.args import ResolvedArgs, ResolvedRoute
from realtime_socket.component.function import (
    Function,
    FunctionSpec,
    PolicyTargets,
    allow_api_gateway,
    concat_known,
)
from realtime_socket.component.scope import Scope
from realtime_socket.contract import Env, Table

__all__ = ["build_route", "route_environment"]


def route_environment(
    cfg: ResolvedArgs,
    table_name: pulumi.Input[str],
    management_endpoint: pulumi.Input[str],
    *,
    history_table_name: pulumi.Input[str],
) -> dict[str, pulumi.Input[str]]:
    """What every route function is told: where the tables and ``@connections`` are, the
    limits it enforces, whether tokens must grant rooms (``jwt.rooms_claim``) and how long
    history is kept."""
    return {
        Env.HISTORY_TABLE_NAME: history_table_name,
        Env.HISTORY_RETENTION_SECONDS: str(cfg.history.retention_seconds),
        Env.HISTORY_MAX_REPLAY: str(cfg.history.max_replay),
        Env.PRESENCE_MAX_ROOM: str(cfg.presence.max_room),
        Env.TABLE_NAME: table_name,
        Env.ROOM_INDEX_NAME: Table.ROOM_INDEX,
        Env.MANAGEMENT_ENDPOINT: management_endpoint,
        Env.CONNECTION_TTL_SECONDS: str(contract.CONNECTION_TTL_SECONDS),
        Env.FANOUT_CONCURRENCY: str(cfg.functions.fanout_concurrency),
        Env.MESSAGES_PER_SECOND: f"{cfg.limits.messages_per_second:g}",
        Env.MESSAGE_BURST: str(cfg.limits.message_burst),
        Env.MAX_CONNECTIONS_PER_USER: str(cfg.limits.max_connections_per_user),
        Env.MAX_ROOMS_PER_CONNECTION: str(cfg.limits.max_rooms_per_connection),
        Env.USER_INDEX_NAME: Table.USER_INDEX,
        Env.ALLOWED_ORIGINS: ",".join(cfg.limits.allowed_origins),
        Env.JWT_ROOMS_CLAIM: cfg.jwt.rooms_claim or "",
    }


def _code_and_grants(
    route: ResolvedRoute, cfg: ResolvedArgs
) -> tuple[pulumi.Archive, policies.Grants]:
    """Built-in handlers ship this package's Lambda slice with their own grants; a caller's
    ``code`` folder gets only the permissions the route declares."""
    if route.code is None:
        code = packaging.code_archive(packaging.handler_files())
        module = route.handler.split(".")[-2]
        grants = policies.ROUTE_GRANTS.get(module, policies.Grants())
        if cfg.presence.events and module in policies.PRESENCE_ROUTES:
            grants = grants + policies.PRESENCE_GRANTS
    else:
        code = packaging.code_archive(packaging.python_files(Path(route.code)))
        grants = policies.Grants()
    for permission in route.permissions:
        grants = grants + policies.PERMISSION_GRANTS[permission]
    if route.key == "$connect" and cfg.limits.max_connections_per_user:
        grants = grants + policies.Grants(indexes={Table.USER_INDEX: ["dynamodb:Query"]})
    return code, grants


def build_route(
    scope: Scope,
    route: ResolvedRoute,
    cfg: ResolvedArgs,
    *,
    api: aws.apigatewayv2.Api,
    authorizer: aws.apigatewayv2.Authorizer,
    environment: Mapping[str, pulumi.Input[str]],
    targets: PolicyTargets,
) -> list[pulumi.CustomResource]:
    """Build one route key's resources; return those a new deployment must follow."""
    fragment = route.name_fragment
    code, grants = _code_and_grants(route, cfg)
    spec = FunctionSpec(
        fragment=fragment,
        handler=route.handler,
        code=code,
        grants=grants,
        environment={**environment, **route.environment},
    )
    function = Function(scope, spec, cfg.functions, targets)
    integration = aws.apigatewayv2.Integration(
        naming.child(scope.name, fragment, "integration"),
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_method="POST",
        integration_uri=function.invoke_arn,
        timeout_milliseconds=contract.INTEGRATION_TIMEOUT_SECONDS * 1000,
        opts=scope.opts(),
    )
    is_connect = route.key == "$connect"
    api_route = aws.apigatewayv2.Route(
        naming.child(scope.name, fragment, "route"),
        api_id=api.id,
        route_key=route.key,
        target=pulumi.Output.concat("integrations/", integration.id),
        authorization_type="CUSTOM" if is_connect else "NONE",
        authorizer_id=authorizer.id if is_connect else None,
        route_response_selection_expression="$default" if route.reply else None,
        opts=scope.opts(),
    )
    allow_api_gateway(
        scope,
        naming.child(scope.name, fragment, "permission"),
        function,
        concat_known(api.execution_arn, f"/{cfg.stage_name}/{route.key}"),
    )
    if not route.reply:
        return [integration, api_route]
    response = aws.apigatewayv2.RouteResponse(
        naming.child(scope.name, fragment, "route-response"),
        api_id=api.id,
        route_id=api_route.id,
        route_response_key="$default",
        opts=scope.opts(),
    )
    return [integration, api_route, response]
