"""``AccountLogging``: the account's CloudWatch role for API Gateway, and nothing wider."""

from __future__ import annotations

import json

import pulumi
import pytest

from realtime_socket import AccountLogging
from realtime_socket.tools.recording import Recording, evaluate

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="module")
def account() -> Recording:
    def program() -> None:
        logging = AccountLogging("logging")
        pulumi.export("role_arn", logging.role_arn)

    return evaluate(program, project="realtime-socket", stack="test")


def test_the_account_setting_names_a_role_only_api_gateway_may_assume(account):
    """The account's CloudWatch role is the component's own role, trusted by API Gateway only."""
    component = account.of_type("realtime-socket:index:AccountLogging")[0]
    role = account.named("logging-role")
    setting = account.named("logging-account")
    assert setting.inputs["cloudwatchRoleArn"] == role.outputs["arn"]
    assert account.exports["role_arn"] == role.outputs["arn"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    for child in (role, setting, account.named("logging-policy")):
        assert child.parent == component.urn, child.name


def test_the_role_may_write_only_the_execution_log_groups_of_its_account(account):
    """The role's policy names API Gateway's log groups in this account and Region, no wider."""
    policy = account.named("logging-policy")
    assert policy.inputs["role"] == account.named("logging-role").id
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    groups = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:API-Gateway-Execution-Logs_*"
    assert statement["Resource"] == [groups, f"{groups}:log-stream:*"]
    assert statement["Effect"] == "Allow"
    assert all(action.startswith("logs:") and "*" not in action for action in statement["Action"])
