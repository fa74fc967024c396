"""``RealtimeSocket``: one authenticated, room-based WebSocket service on AWS.

API Gateway holds the connections, one Lambda function per route handles the events, and a
DynamoDB table records who is connected to which room.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from realtime_socket.component import packaging, policies
from realtime_socket.component.args import RealtimeSocketArgs, ResolvedRoute, resolve
from realtime_socket.component.domain import custom_domain

__all__ = ["ROOM_INDEX_NAME", "TYPE_TOKEN", "RealtimeSocket", "identity_sources"]

TYPE_TOKEN = "realtime-socket:index:RealtimeSocket"  # noqa: S105 - a Pulumi type token
ROOM_INDEX_NAME = policies.ROOM_INDEX
#: API Gateway keeps a connection at most 2 hours; rows live 10 minutes longer.
CONNECTION_TTL_SECONDS = 2 * 3600 + 600

_ACCESS_LOG_FORMAT = json.dumps(
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


def _index(name: str, key: str) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    """A GSI keyed by ``key`` that projects only ``ttl``: reads stay a few bytes per row."""
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=name,
        key_schemas=[
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name=key, key_type="HASH"
            ),
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name="connectionId", key_type="RANGE"
            ),
        ],
        projection_type="INCLUDE",
        non_key_attributes=["ttl"],
    )


def identity_sources(carriers: tuple[str, ...], query_parameter: str) -> list[str]:
    """The authorizer's identity sources for the configured token carriers.

    API Gateway answers 401 without invoking the authorizer when *any* identity source is
    missing, so several carriers cannot all be listed: then the ``Host`` header (present
    on every handshake) is the source and the authorizer itself refuses a missing token.
    """
    source = {
        "header": "route.request.header.Authorization",
        "query": f"route.request.querystring.{query_parameter}",
        "protocol": "route.request.header.Sec-WebSocket-Protocol",
    }
    if len(carriers) == 1:
        return [source[carriers[0]]]
    return ["route.request.header.Host"]


class RealtimeSocket(pulumi.ComponentResource):
    """A WebSocket API with JWT-authenticated rooms, deployable with one ``pulumi up``.

    Builds the API and its routes ($connect, $disconnect, $default, sendmessage, ping and
    any extra action routes), a REQUEST Lambda authorizer on $connect, one least-privilege
    function per route, a stage with throttling, metrics and JSON access logs, the
    connections table with a room index, and optionally a custom domain or API mapping.
    """

    url: pulumi.Output[str]
    """``wss://`` URL of the stage."""
    management_endpoint: pulumi.Output[str]
    """``https://`` URL of the @connections callback API."""
    custom_url: pulumi.Output[str | None]
    """``wss://`` URL on the custom domain, or None."""
    api_id: pulumi.Output[str]
    stage_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    execution_arn: pulumi.Output[str]
    table_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RealtimeSocketArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        cfg = resolve(name, args)  # every problem reported before anything is registered
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._cfg = cfg
        self._child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        tags = {"realtime-socket:namespace": name, **cfg.tags}

        api = aws.apigatewayv2.Api(
            f"{name}-api",
            protocol_type="WEBSOCKET",
            route_selection_expression=cfg.route_selection_expression,
            description=f"realtime-socket namespace {name}",
            tags=tags,
            opts=self._child,
        )
        table = aws.dynamodb.Table(
            f"{name}-connections-table",
            billing_mode="PAY_PER_REQUEST",
            hash_key="connectionId",
            attributes=[
                aws.dynamodb.TableAttributeArgs(name="connectionId", type="S"),
                aws.dynamodb.TableAttributeArgs(name="roomId", type="S"),
                *(
                    [aws.dynamodb.TableAttributeArgs(name="userId", type="S")]
                    if cfg.max_connections_per_user
                    else []
                ),
            ],
            global_secondary_indexes=[
                _index(ROOM_INDEX_NAME, "roomId"),
                *([_index(policies.USER_INDEX, "userId")] if cfg.max_connections_per_user else []),
            ],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="ttl", enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
                enabled=cfg.point_in_time_recovery
            ),
            deletion_protection_enabled=cfg.deletion_protection,
            tags=tags,
            opts=self._child,
        )
        self.api_id = api.id
        self.execution_arn = api.execution_arn
        self.table_arn = table.arn
        self.table_name = table.name
        self.management_endpoint = api.api_endpoint.apply(
            lambda endpoint: endpoint.replace("wss://", "https://", 1) + f"/{cfg.stage_name}"
        )
        self._tags = tags
        self._environment: dict[str, pulumi.Input[str]] = {
            "TABLE_NAME": table.name,
            "ROOM_INDEX_NAME": ROOM_INDEX_NAME,
            "MANAGEMENT_ENDPOINT": self.management_endpoint,
            "CONNECTION_TTL_SECONDS": str(CONNECTION_TTL_SECONDS),
            "FANOUT_CONCURRENCY": str(cfg.fanout_concurrency),
            "RATE_LIMIT_PER_SECOND": f"{cfg.rate_per_second:g}",
            "RATE_LIMIT_BURST": str(cfg.rate_burst),
            "MAX_CONNECTIONS_PER_USER": str(cfg.max_connections_per_user),
            "USER_INDEX_NAME": policies.USER_INDEX,
            "ALLOWED_ORIGINS": ",".join(cfg.allowed_origins),
        }

        authorizer = self._authorizer(api, region, account, partition)
        route_ids: list[pulumi.Output[str]] = [authorizer.id]
        depends: list[pulumi.Resource] = [authorizer]
        for route in cfg.routes:
            for resource in self._route(route, api, authorizer):
                route_ids.append(resource.id)
                depends.append(resource)

        # The article's sha1 trigger: a new deployment whenever a route, integration or the
        # authorizer changes, created before the old one is deleted.
        spec = json.dumps(
            {
                "routes": [[r.key, r.handler, r.reply, sorted(r.permissions)] for r in cfg.routes],
                "identity": identity_sources(cfg.jwt.carriers, cfg.jwt.query_parameter),
                "rse": cfg.route_selection_expression,
            },
            sort_keys=True,
        )
        deployment = aws.apigatewayv2.Deployment(
            f"{name}-deployment",
            api_id=api.id,
            description=f"realtime-socket {name}",
            triggers={
                "redeployment": pulumi.Output.all(*route_ids).apply(
                    lambda ids: hashlib.sha1(  # noqa: S324 - change detection, not security
                        (spec + ",".join(ids)).encode()
                    ).hexdigest()
                )
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/realtime-socket/{pulumi.get_project()}/{pulumi.get_stack()}/{name}/access",
            retention_in_days=cfg.access_log_retention_days,
            tags=tags,
            opts=self._child,
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=api.id,
            name=cfg.stage_name,
            deployment_id=deployment.id,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=cfg.burst_limit,
                throttling_rate_limit=cfg.rate_limit,
                detailed_metrics_enabled=cfg.detailed_metrics,
                logging_level=cfg.logging_level,
                data_trace_enabled=cfg.data_trace and cfg.logging_level != "OFF",
            ),
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=_ACCESS_LOG_FORMAT
            ),
            tags=tags,
            opts=self._child,
        )
        self.stage_name = stage.name
        self.url = pulumi.Output.concat(api.api_endpoint, "/", stage.name)
        self.custom_url = pulumi.Output.from_input(
            custom_domain(
                name,
                api_id=api.id,
                stage=stage.id,
                domain=cfg.domain,
                mapping=cfg.mapping,
                opts=self._child,
            )
        )
        self.register_outputs(
            {
                "url": self.url,
                "management_endpoint": self.management_endpoint,
                "custom_url": self.custom_url,
                "api_id": self.api_id,
                "stage_name": self.stage_name,
                "table_name": self.table_name,
            }
        )

    def grant_publish(self, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let another service's role push to this socket's rooms, and nothing more.

        Grants ``dynamodb:Query`` on the room index (to find a room's connections) and
        ``execute-api:ManageConnections`` on ``POST @connections`` of this stage.
        """
        cfg = self._cfg
        policy = pulumi.Output.all(self.table_arn, self.execution_arn).apply(
            lambda v: policies.publish_policy(
                table_arn=v[0], execution_arn=v[1], stage=cfg.stage_name
            )
        )
        # Resource._name is the role's logical name: unique in the stack, so a good suffix.
        return aws.iam.RolePolicy(
            f"{self._name}-publish-{role._name}",
            role=role.id,
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )

    # -- building blocks -------------------------------------------------------------------

    def _function(
        self,
        role_name: str,
        *,
        handler: str,
        code: pulumi.Archive,
        grants: policies.Grants,
        environment: dict[str, pulumi.Input[str]],
        ssm_parameter_arn: pulumi.Output[str] | None = None,
    ) -> aws.lambda_.Function:
        """A function with its own log group (with retention) and least-privilege role."""
        cfg, name = self._cfg, self._name
        logs = aws.cloudwatch.LogGroup(
            f"{name}-{role_name}-logs",
            name=f"/realtime-socket/{pulumi.get_project()}/{pulumi.get_stack()}/{name}/{role_name}",
            retention_in_days=cfg.log_retention_days,
            tags=self._tags,
            opts=self._child,
        )
        role = aws.iam.Role(
            f"{name}-{role_name}-role",
            assume_role_policy=policies.assume_role_policy("lambda.amazonaws.com"),
            tags=self._tags,
            opts=self._child,
        )
        policy = pulumi.Output.all(
            logs.arn, self.table_arn, self.execution_arn, ssm_parameter_arn
        ).apply(
            lambda v: policies.function_policy(
                log_group_arn=v[0],
                grants=grants,
                table_arn=v[1],
                execution_arn=v[2],
                stage=cfg.stage_name,
                ssm_parameter_arn=v[3],
            )
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-{role_name}-policy", role=role.id, policy=policy, opts=self._child
        )
        return aws.lambda_.Function(
            f"{name}-{role_name}-fn",
            role=role.arn,
            runtime=cfg.runtime,
            architectures=[cfg.architecture],
            handler=handler,
            code=code,
            memory_size=cfg.memory_mb,
            timeout=cfg.timeout_seconds,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=logs.name
            ),
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, logs]),
        )

    def _allow_api_gateway(
        self, name: str, fn: aws.lambda_.Function, source_arn: pulumi.Input[str]
    ) -> aws.lambda_.Permission:
        """Let API Gateway invoke ``fn``, only from ``source_arn`` (this API's route or
        authorizer), like the article's ``aws_lambda_permission``."""
        return aws.lambda_.Permission(
            name,
            action="lambda:InvokeFunction",
            function=fn.name,
            principal="apigateway.amazonaws.com",
            source_arn=source_arn,
            opts=self._child,
        )

    def _route(
        self,
        route: ResolvedRoute,
        api: aws.apigatewayv2.Api,
        authorizer: aws.apigatewayv2.Authorizer,
    ) -> list[pulumi.CustomResource]:
        """Function, integration, route, permission (and route response) for one route key."""
        name, cfg = self._name, self._cfg
        if route.code is None:
            code = packaging.code_archive(packaging.handler_files())
            grants = policies.ROUTE_GRANTS.get(route.handler.split(".")[-2], policies.Grants())
        else:
            code = packaging.code_archive(packaging.python_files(Path(route.code)))
            grants = policies.Grants()
        for permission in route.permissions:
            grants = grants + policies.PERMISSION_GRANTS[permission]
        if route.key == "$connect" and cfg.max_connections_per_user:
            grants = grants + policies.Grants(indexes={policies.USER_INDEX: ["dynamodb:Query"]})
        fn = self._function(
            route.role,
            handler=route.handler,
            code=code,
            grants=grants,
            environment={**self._environment, **route.environment},
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-{route.role}-integration",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=fn.invoke_arn,
            timeout_milliseconds=29_000,
            opts=self._child,
        )
        is_connect = route.key == "$connect"
        api_route = aws.apigatewayv2.Route(
            f"{name}-{route.role}-route",
            api_id=api.id,
            route_key=route.key,
            target=integration.id.apply(lambda i: f"integrations/{i}"),
            authorization_type="CUSTOM" if is_connect else "NONE",
            authorizer_id=authorizer.id if is_connect else None,
            route_response_selection_expression="$default" if route.reply else None,
            opts=self._child,
        )
        self._allow_api_gateway(
            f"{name}-{route.role}-permission",
            fn,
            api.execution_arn.apply(lambda arn: f"{arn}/{cfg.stage_name}/{route.key}"),
        )
        created: list[pulumi.CustomResource] = [integration, api_route]
        if route.reply:
            created.append(
                aws.apigatewayv2.RouteResponse(
                    f"{name}-{route.role}-route-response",
                    api_id=api.id,
                    route_id=api_route.id,
                    route_response_key="$default",
                    opts=self._child,
                )
            )
        return created

    def _authorizer(
        self,
        api: aws.apigatewayv2.Api,
        region: pulumi.Output[str],
        account: pulumi.Output[str],
        partition: pulumi.Output[str],
    ) -> aws.apigatewayv2.Authorizer:
        """The REQUEST authorizer; an HMAC secret lives in SSM as a SecureString."""
        name, cfg, jwt = self._name, self._cfg, self._cfg.jwt
        environment: dict[str, pulumi.Input[str]] = {
            "JWT_ALGORITHMS": ",".join(jwt.algorithms),
            "JWT_ISSUER": jwt.issuer,
            "JWT_AUDIENCE": ",".join(jwt.audience),
            "JWT_CARRIERS": ",".join(jwt.carriers),
            "JWT_QUERY_PARAMETER": jwt.query_parameter,
            "JWT_CONTEXT_CLAIMS": ",".join(jwt.context_claims),
            "JWT_LEEWAY_SECONDS": str(jwt.leeway_seconds),
        }
        parameter_arn: pulumi.Output[str] | None = None
        if jwt.jwks_url:
            environment["JWT_JWKS_URL"] = jwt.jwks_url
        elif jwt.secret is not None:
            parameter = aws.ssm.Parameter(
                f"{name}-jwt-secret",
                name=f"/realtime-socket/{pulumi.get_project()}/{pulumi.get_stack()}/{name}/jwt-secret",
                type="SecureString",
                value=pulumi.Output.secret(jwt.secret),
                description=f"HS256 secret of the realtime-socket {name} authorizer",
                tags=self._tags,
                opts=self._child,
            )
            environment["JWT_SECRET_PARAMETER"] = parameter.name
            parameter_arn = parameter.arn
        else:
            assert jwt.secret_parameter_name
            environment["JWT_SECRET_PARAMETER"] = jwt.secret_parameter_name
            parameter_arn = pulumi.Output.concat(
                "arn:", partition, ":ssm:", region, ":", account, ":parameter",
                jwt.secret_parameter_name,
            )  # fmt: skip
        requirements = packaging.HMAC_REQUIREMENTS if jwt.is_hmac else packaging.JWKS_REQUIREMENTS
        code = packaging.code_archive(
            packaging.handler_files(),
            packaging.dependency_dir(requirements, cfg.architecture, cfg.runtime),
        )
        fn = self._function(
            "authorizer",
            handler="realtime_socket.handlers.authorizer.handler",
            code=code,
            grants=policies.Grants(),
            environment=environment,
            ssm_parameter_arn=parameter_arn,
        )
        authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-authorizer",
            api_id=api.id,
            authorizer_type="REQUEST",
            authorizer_uri=fn.invoke_arn,
            identity_sources=identity_sources(jwt.carriers, jwt.query_parameter),
            name=f"{name}-jwt",
            opts=self._child,
        )
        self._allow_api_gateway(
            f"{name}-authorizer-permission",
            fn,
            pulumi.Output.concat(api.execution_arn, "/authorizers/", authorizer.id),
        )
        return authorizer
