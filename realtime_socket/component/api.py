"""The WebSocket API, its deployment and stage, and the stage's JSON access logs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from realtime_socket.component.args import ResolvedArgs
from realtime_socket.component.authorizer import identity_sources
from realtime_socket.component.function import concat_known
from realtime_socket.component.scope import Scope

__all__ = ["ACCESS_LOG_FORMAT", "deploy", "management_endpoint", "stage_url", "websocket_api"]

#: One JSON object per request; never the token, the query string or the headers.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTimeEpoch": "$context.requestTimeEpoch",
        "routeKey": "$context.routeKey",
        "eventType": "$context.eventType",
        "status": "$context.status",
        "connectionId": "$context.connectionId",
        "messageId": "$context.messageId",
        "integrationError": "$context.integrationErrorMessage",
        "authorizerError": "$context.authorizer.error",
    }
)


def websocket_api(scope: Scope, cfg: ResolvedArgs) -> aws.apigatewayv2.Api:
    return aws.apigatewayv2.Api(
        f"{scope.name}-api",
        protocol_type="WEBSOCKET",
        route_selection_expression=cfg.route_selection_expression,
        description=f"realtime-socket namespace {scope.name}",
        tags=scope.tags,
        opts=scope.opts(),
    )


def management_endpoint(api: aws.apigatewayv2.Api, stage_name: str) -> pulumi.Output[str]:
    """The ``https://`` ``@connections`` callback URL of the stage."""
    # None, not "None/live", where generic test mocks give no api_endpoint (see concat_known).
    return api.api_endpoint.apply(
        lambda endpoint: endpoint and endpoint.replace("wss://", "https://", 1) + f"/{stage_name}"
    )


def stage_url(api: aws.apigatewayv2.Api, stage: aws.apigatewayv2.Stage) -> pulumi.Output[str]:
    """The ``wss://`` URL clients connect to."""
    return concat_known(api.api_endpoint, "/", stage.name)


def _redeployment(cfg: ResolvedArgs, wiring: Sequence[pulumi.CustomResource]) -> pulumi.Output[str]:
    """A hash of the routes' settings and the ids of the wiring: it changes, and so forces a
    new deployment, whenever a route, an integration or the authorizer changes."""
    spec = json.dumps(
        {
            "routes": [[r.key, r.handler, r.reply, sorted(r.permissions)] for r in cfg.routes],
            "identity": identity_sources(cfg.jwt.carriers, cfg.jwt.query_parameter),
            "rse": cfg.route_selection_expression,
        },
        sort_keys=True,
    )
    return pulumi.Output.all(*(resource.id for resource in wiring)).apply(
        lambda ids: hashlib.sha1(  # noqa: S324 - change detection, not security
            (spec + ",".join(ids)).encode()
        ).hexdigest()
    )


def deploy(
    scope: Scope,
    cfg: ResolvedArgs,
    api: aws.apigatewayv2.Api,
    wiring: Sequence[pulumi.CustomResource],
) -> aws.apigatewayv2.Stage:
    """A deployment of ``wiring`` (routes, integrations, the authorizer), its access log
    group, and the stage with throttling, metrics and logging."""
    deployment = aws.apigatewayv2.Deployment(
        f"{scope.name}-deployment",
        api_id=api.id,
        description=f"realtime-socket {scope.name}",
        triggers={"redeployment": _redeployment(cfg, wiring)},
        opts=scope.opts(depends_on=wiring),
    )
    access_logs = aws.cloudwatch.LogGroup(
        f"{scope.name}-access-logs",
        name=scope.path("access"),
        retention_in_days=cfg.access_log_retention_days,
        tags=scope.tags,
        opts=scope.opts(),
    )
    return aws.apigatewayv2.Stage(
        f"{scope.name}-stage",
        api_id=api.id,
        name=cfg.stage_name,
        deployment_id=deployment.id,
        default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
            throttling_burst_limit=cfg.throttling.burst_limit,
            throttling_rate_limit=cfg.throttling.rate_limit,
            detailed_metrics_enabled=cfg.detailed_metrics,
            logging_level=cfg.logging_level,
            data_trace_enabled=cfg.data_trace and cfg.logging_level != "OFF",
        ),
        access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
            destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
        ),
        tags=scope.tags,
        opts=scope.opts(),
    )
