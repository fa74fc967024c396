"""``RealtimeSocket``: what one namespace declares, how it is parented, named and exported."""

from __future__ import annotations

import json
from collections import Counter

import pulumi
import pulumi_aws as aws

from realtime_socket import RealtimeSocket
from realtime_socket.component import function, policies
from realtime_socket.component.socket import TYPE_TOKEN
from realtime_socket.tools.recording import evaluate
from tests.support.helpers import jwt_args

FUNCTION_PARTS = {
    "aws:lambda/function:Function",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:cloudwatch/logGroup:LogGroup",
}


def test_one_namespace_declares_exactly_these_resources(chat_recording):
    """10 routes (subscribe, unsubscribe and members answer through route responses, reply
    and history are one-way), the authorizer, the fan-out worker (no route, no permission for
    API Gateway; its asynchronous invocation settings), two tables (connections, history)
    and the dashboard (on by default); no alarm (off unless given a topic)."""
    counts = Counter(r.type for r in chat_recording.resources)
    assert counts == {
        TYPE_TOKEN: 1,
        function.TYPE_TOKEN: 12,
        "aws:apigatewayv2/api:Api": 1,
        "aws:apigatewayv2/route:Route": 10,
        "aws:apigatewayv2/integration:Integration": 10,
        "aws:apigatewayv2/routeResponse:RouteResponse": 5,
        "aws:apigatewayv2/authorizer:Authorizer": 1,
        "aws:apigatewayv2/deployment:Deployment": 1,
        "aws:apigatewayv2/stage:Stage": 1,
        "aws:lambda/function:Function": 12,
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 1,
        "aws:lambda/permission:Permission": 11,
        "aws:iam/role:Role": 12,
        "aws:iam/rolePolicy:RolePolicy": 12,
        "aws:cloudwatch/logGroup:LogGroup": 13,
        "aws:dynamodb/table:Table": 2,
        "aws:ssm/parameter:Parameter": 1,
        "aws:cloudwatch/dashboard:Dashboard": 1,
    }


def test_every_child_is_named_after_and_parented_to_the_component(chat_recording):
    """Every resource is the socket's child or the child of one of its Function parts."""
    component = chat_recording.of_type(TYPE_TOKEN)[0]
    parts = {r.urn for r in chat_recording.of_type(function.TYPE_TOKEN)}
    children = [r for r in chat_recording.resources if r is not component]
    assert children
    for child in children:
        assert child.name.startswith("chat-"), child.name
        if child.type in FUNCTION_PARTS and child.name != "chat-access-logs":
            assert child.parent in parts, child.name
            assert f"{function.TYPE_TOKEN}$" in child.urn  # the mock keeps the last parent type
        else:
            assert child.parent == component.urn, child.name
            assert f"{TYPE_TOKEN}$" in child.urn


def test_outputs(chat_recording):
    rec = chat_recording
    api = rec.named("chat-api")
    assert rec.exports["url"] == f"wss://{api.id}.execute-api.us-east-1.amazonaws.com/live"
    assert (
        rec.exports["management_endpoint"]
        == f"https://{api.id}.execute-api.us-east-1.amazonaws.com/live"
    )
    assert rec.exports["custom_url"] is None
    assert rec.exports["api_id"] == api.id
    assert rec.exports["stage_name"] == "live"
    assert rec.exports["table_name"] == rec.named("chat-connections-table").outputs["name"]


def test_two_instances_in_one_program_never_collide():
    import pulumi

    from realtime_socket import RealtimeSocket
    from realtime_socket.tools.recording import evaluate
    from tests.support.helpers import jwt_args

    def program() -> None:
        for name in ("chat", "telemetry", "alerts"):
            RealtimeSocket(name, {"jwt": jwt_args()})  # type: ignore[typeddict-item]
        pulumi.export("ok", True)

    rec = evaluate(program, project="realtime-socket", stack="test")
    names = [r.name for r in rec.resources]
    # 106 per namespace: subscribe, unsubscribe and members added 3 x 9 resources, reply and
    # history (no route response) 8 each, the history table 1, the fan-out worker 6, the
    # dashboard 1
    assert len(names) == len(set(names)) == 3 * 107
    physical = [
        r.inputs["name"] for r in rec.resources if "name" in r.inputs and r.custom
        and r.type != "aws:apigatewayv2/stage:Stage"
    ]  # fmt: skip
    assert len(physical) == len(set(physical))


def test_grant_publish_binds_the_publish_policy_to_this_socket():
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
    # the document itself (both indexes, the clean-up, request items only, POST) is
    # tests/component/test_policies.py's; here: it is bound to this socket's table and stage
    history = rec.named("chat-history-table").outputs["arn"]
    expected = policies.publish_policy(
        table_arn=table, execution_arn=execution, stage="live", history_table_arn=history
    )
    assert json.loads(grant.inputs["policy"]) == json.loads(expected)
    assert table in grant.inputs["policy"] and "/live/POST/@connections/*" in expected


def test_every_log_group_has_a_retention(chat_recording):
    groups = chat_recording.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 13  # 10 routes, the authorizer, the fan-out worker, the access log
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
