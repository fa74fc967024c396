"""The exact actions and resources of every IAM policy the component writes."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from realtime_socket import RealtimeSocket
from realtime_socket.tools.recording import evaluate
from tests.support.helpers import jwt_args, policy_of

ACCOUNT, REGION = "123456789012", "us-east-1"


def _statements(rec, role):
    return {
        tuple(s["Action"]): s["Resource"]
        for s in policy_of(rec, f"chat-{role}-policy")["Statement"]
    }


def _arns(rec, role):
    table = rec.named("chat-connections-table").outputs["arn"]
    execution = rec.named("chat-api").outputs["executionArn"]
    logs = rec.named(f"chat-{role}-logs").outputs["arn"]
    return table, execution, logs


def test_connect_may_only_put_items(chat_recording):
    table, _, logs = _arns(chat_recording, "connect")
    assert _statements(chat_recording, "connect") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:PutItem",): [table],
    }


def test_disconnect_may_only_delete_items(chat_recording):
    table, _, logs = _arns(chat_recording, "disconnect")
    assert _statements(chat_recording, "disconnect") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:DeleteItem",): [table],
    }


def test_sendmessage_reads_its_row_queries_the_room_index_and_posts(chat_recording):
    table, execution, logs = _arns(chat_recording, "sendmessage")
    assert _statements(chat_recording, "sendmessage") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"): [table],
        ("dynamodb:Query",): [f"{table}/index/room-index"],
        ("execute-api:ManageConnections",): [f"{execution}/live/POST/@connections/*"],
    }


def test_ping_and_default_only_write_logs(chat_recording):
    for role in ("ping", "default"):
        _, _, logs = _arns(chat_recording, role)
        assert _statements(chat_recording, role) == {
            ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"]
        }


def test_authorizer_reads_only_its_secret_parameter(chat_recording):
    _, _, logs = _arns(chat_recording, "authorizer")
    parameter = chat_recording.named("chat-jwt-secret").outputs["arn"]
    assert _statements(chat_recording, "authorizer") == {
        ("logs:CreateLogStream", "logs:PutLogEvents"): [f"{logs}:*"],
        ("ssm:GetParameter",): [parameter],
    }


def test_existing_parameter_arn_is_built_from_region_and_account():
    from tests.support.helpers import evaluate_socket

    rec = evaluate_socket("chat", jwt=jwt_args(secret=None, secret_parameter_name="/team/jwt"))
    statements = _statements(rec, "authorizer")
    assert statements[("ssm:GetParameter",)] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/team/jwt"
    ]


def test_extra_route_permissions_map_to_exact_grants():
    from tests.support.helpers import evaluate_socket

    rec = evaluate_socket(
        "chat",
        routes={
            "r": {"handler": "realtime_socket.handlers.ping.handler", "permissions": ["read"]},
            "w": {
                "handler": "realtime_socket.handlers.ping.handler",
                "permissions": ["write", "publish"],
            },
            "n": {"handler": "realtime_socket.handlers.ping.handler"},
        },
    )
    table, execution, _ = _arns(rec, "r")
    read = _statements(rec, "r")
    assert read[("dynamodb:GetItem",)] == [table]
    assert read[("dynamodb:Query",)] == [f"{table}/index/room-index"]
    assert len(read) == 3
    write = _statements(rec, "w")
    assert write[("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")] == [table]
    assert write[("execute-api:ManageConnections",)] == [f"{execution}/live/POST/@connections/*"]
    assert len(write) == 3
    assert len(_statements(rec, "n")) == 1


def test_connect_may_query_the_user_index_only_when_connections_are_capped():
    from tests.support.helpers import evaluate_socket

    rec = evaluate_socket("chat", limits={"max_connections_per_user": 3})
    table, _, _ = _arns(rec, "connect")
    assert _statements(rec, "connect")[("dynamodb:Query",)] == [f"{table}/index/user-index"]
    indexes = rec.named("chat-connections-table").inputs["globalSecondaryIndexes"]
    assert [i["name"] for i in indexes] == ["room-index", "user-index"]


def test_roles_trust_only_lambda(chat_recording):
    for role in chat_recording.of_type("aws:iam/role:Role"):
        doc = json.loads(role.inputs["assumeRolePolicy"])
        assert doc["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]


def test_every_function_has_its_own_role(chat_recording):
    roles = [fn.inputs["role"] for fn in chat_recording.of_type("aws:lambda/function:Function")]
    assert len(roles) == len(set(roles)) == 6


def test_no_policy_has_a_bare_wildcard_action_or_resource(chat_recording):
    for policy in chat_recording.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                assert "*" not in action, policy.name
            for resource in statement["Resource"]:
                assert resource != "*" and not resource.endswith(":*:*"), policy.name


def test_grant_publish_gives_query_and_post_only():
    def program() -> None:
        socket = RealtimeSocket("chat", {"jwt": jwt_args()})  # type: ignore[typeddict-item]
        backend = aws.iam.Role(
            "backend",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )
        socket.grant_publish(backend)
        pulumi.export("done", True)

    rec = evaluate(program, project="realtime-socket", stack="test")
    grant = rec.named("chat-publish-backend")
    assert grant.inputs["role"] == rec.named("backend").id
    table = rec.named("chat-connections-table").outputs["arn"]
    execution = rec.named("chat-api").outputs["executionArn"]
    assert json.loads(grant.inputs["policy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": [f"{table}/index/room-index"],
        },
        {
            "Effect": "Allow",
            "Action": ["execute-api:ManageConnections"],
            "Resource": [f"{execution}/live/POST/@connections/*"],
        },
    ]


def test_every_log_group_has_a_retention(chat_recording):
    groups = chat_recording.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 7
    assert all(g.inputs.get("retentionInDays") for g in groups)
    # and every function writes to its own group, never to an unmanaged /aws/lambda one
    for fn in chat_recording.of_type("aws:lambda/function:Function"):
        assert fn.inputs["loggingConfig"]["logGroup"] in {g.outputs["name"] for g in groups}


def test_secrets_only_as_pulumi_secrets_and_securestrings(chat_recording):
    for resource in chat_recording.resources:
        text = json.dumps(resource.inputs, default=str)
        if "s" * 48 in text:  # the test secret
            assert resource.type == "aws:ssm/parameter:Parameter"
            assert resource.inputs["type"] == "SecureString"
            assert resource.inputs["value"]["4dabf18193072939515e22adb298388d"]  # secret-wrapped


def test_data_trace_is_off_by_default(chat_recording):
    settings = chat_recording.named("chat-stage").inputs["defaultRouteSettings"]
    assert settings["dataTraceEnabled"] is False
