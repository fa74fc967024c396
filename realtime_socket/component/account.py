"""The account-level CloudWatch role that API Gateway execution and access logging need.

It is one setting per account and Region, so it is not part of every socket: a stack
creates it once (``AccountLogging``) and makes its sockets depend on it.
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from realtime_socket.component import policies

__all__ = ["AccountLogging"]


class AccountLogging(pulumi.ComponentResource):
    """An IAM role API Gateway assumes to write logs, set as the account's CloudWatch role."""

    role_arn: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("realtime-socket:index:AccountLogging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=policies.assume_role_policy("apigateway.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(partition.partition, region.region, identity.account_id).apply(
                lambda v: policies.account_logging_policy(v[0], v[1], v[2])
            ),
            opts=child,
        )
        aws.apigateway.Account(f"{name}-account", cloudwatch_role_arn=role.arn, opts=child)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})
