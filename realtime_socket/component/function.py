"""``Function``: a Lambda function with its own role, inline policy and log group.

Each function of a socket gets a least-privilege role of its own and writes to a log group
of its own with a retention, never to an unmanaged ``/aws/lambda`` one. Logs are JSON:
Lambda's Python runtime then formats stdlib ``logging`` records as JSON objects carrying
the request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from realtime_socket.component import naming, policies
from realtime_socket.component.args import ResolvedFunctions
from realtime_socket.component.scope import Scope
from realtime_socket.contract import Env

__all__ = [
    "TYPE_TOKEN",
    "Function",
    "FunctionSpec",
    "PolicyTargets",
    "allow_api_gateway",
    "concat_known",
]

TYPE_TOKEN = "realtime-socket:index:Function"  # noqa: S105 - a Pulumi type token


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its name fragment, what it runs and what it may do."""

    fragment: str
    handler: str
    code: pulumi.Archive
    grants: policies.Grants
    environment: Mapping[str, pulumi.Input[str]]
    ssm_parameter_arn: pulumi.Input[str] | None = None
    """The JWT secret's parameter, with ``grants.parameter`` saying what the function may do."""


@dataclass(frozen=True)
class PolicyTargets:
    """The socket's resources a function's policy may name."""

    table_arn: pulumi.Input[str]
    execution_arn: pulumi.Input[str]
    stage: str
    history_table_arn: pulumi.Input[str] | None = None
    #: The only function ``grants.invoke`` may invoke: the namespace's fan-out worker.
    fanout_worker_arn: pulumi.Input[str] | None = None


class Function(pulumi.ComponentResource):
    """A Lambda function, its IAM role and inline policy, and its log group."""

    function: aws.lambda_.Function
    fragment: str
    """The name fragment (``sendmessage``, ``authorizer``): its alarms are named after it."""
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]

    def __init__(
        self, scope: Scope, spec: FunctionSpec, settings: ResolvedFunctions, targets: PolicyTargets
    ) -> None:
        name = naming.child(scope.name, spec.fragment, "function")
        super().__init__(TYPE_TOKEN, name, None, scope.opts())
        self.fragment = spec.fragment
        scope.functions.append(self)

        def child(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            # The children were once the socket's own: the alias keeps their URNs' history,
            # so an existing stack updates them in place instead of replacing them.
            return pulumi.ResourceOptions(
                parent=self,
                depends_on=list(depends_on) or None,
                aliases=[pulumi.Alias(parent=scope.parent)],
            )

        logs = aws.cloudwatch.LogGroup(
            naming.child(scope.name, spec.fragment, "logs"),
            name=scope.path(spec.fragment),
            retention_in_days=settings.log_retention_days,
            tags=scope.tags,
            opts=child(),
        )
        role = aws.iam.Role(
            naming.child(scope.name, spec.fragment, "role"),
            assume_role_policy=policies.assume_role_policy("lambda.amazonaws.com"),
            tags=scope.tags,
            opts=child(),
        )
        policy = aws.iam.RolePolicy(
            naming.child(scope.name, spec.fragment, "policy"),
            role=role.id,
            policy=_policy(spec, targets, logs.arn),
            opts=child(),
        )
        self.function = aws.lambda_.Function(
            naming.child(scope.name, spec.fragment, "fn"),
            role=role.arn,
            runtime=settings.runtime,
            architectures=[settings.architecture],
            handler=spec.handler,
            code=spec.code,
            memory_size=settings.memory_mb,
            timeout=settings.timeout_seconds,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                # Every function names its socket: the metrics' Namespace dimension.
                variables={Env.SOCKET_NAMESPACE: scope.name, **spec.environment}
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=logs.name
            ),
            tags=scope.tags,
            opts=child(policy, logs),
        )
        self.name = self.function.name
        self.arn = self.function.arn
        self.invoke_arn = self.function.invoke_arn
        self.register_outputs({"name": self.name, "arn": self.function.arn})


def _policy(
    spec: FunctionSpec, targets: PolicyTargets, log_group_arn: pulumi.Output[str]
) -> pulumi.Output[str]:
    """The role's inline policy document, once the ARNs it names are known."""
    return pulumi.Output.all(
        log_group_arn,
        targets.table_arn,
        targets.execution_arn,
        spec.ssm_parameter_arn,
        targets.history_table_arn,
        targets.fanout_worker_arn,
    ).apply(
        lambda v: policies.function_policy(
            log_group_arn=v[0],
            grants=spec.grants,
            table_arn=v[1],
            execution_arn=v[2],
            stage=targets.stage,
            ssm_parameter_arn=v[3],
            history_table_arn=v[4],
            fanout_worker_arn=v[5],
        )
    )


def concat_known(*parts: pulumi.Input[str | None]) -> pulumi.Output[str]:
    """``pulumi.Output.concat``, but None while a part resolves to None, never ``"None/..."``.

    AWS always returns ARNs and endpoints; the generic mocks of Pulumi's unit-testing guide
    return none, and a user's tests of a stack holding this component must still evaluate.
    Unknown parts (preview) keep the result unknown, as with ``concat``.
    """

    def join(values: list[str | None]) -> str | None:
        return None if None in values else "".join(v for v in values if v is not None)

    joined: pulumi.Output[str] = pulumi.Output.all(*parts).apply(join)  # type: ignore[arg-type]
    return joined


def allow_api_gateway(
    scope: Scope, name: str, function: Function, source_arn: pulumi.Input[str]
) -> aws.lambda_.Permission:
    """Let API Gateway invoke ``function``, only from ``source_arn`` (one route of this
    API's stage, or its authorizer)."""
    return aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function.name,
        principal="apigateway.amazonaws.com",
        source_arn=source_arn,
        opts=scope.opts(),
    )
