"""The resources one RealtimeSocket declares, their key properties and their wiring."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from realtime_socket import contract
from realtime_socket.component import function
from realtime_socket.component.socket import TYPE_TOKEN
from tests.support.helpers import evaluate_socket

FUNCTION_PARTS = {
    "aws:lambda/function:Function",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:cloudwatch/logGroup:LogGroup",
}
ROUTES = {
    "$connect": "connect",
    "$disconnect": "disconnect",
    "$default": "default",
    "sendmessage": "sendmessage",
    "ping": "ping",
}


def test_one_namespace_declares_exactly_these_resources(chat_recording):
    counts = Counter(r.type for r in chat_recording.resources)
    assert counts == {
        TYPE_TOKEN: 1,
        function.TYPE_TOKEN: 6,
        "aws:apigatewayv2/api:Api": 1,
        "aws:apigatewayv2/route:Route": 5,
        "aws:apigatewayv2/integration:Integration": 5,
        "aws:apigatewayv2/routeResponse:RouteResponse": 2,
        "aws:apigatewayv2/authorizer:Authorizer": 1,
        "aws:apigatewayv2/deployment:Deployment": 1,
        "aws:apigatewayv2/stage:Stage": 1,
        "aws:lambda/function:Function": 6,
        "aws:lambda/permission:Permission": 6,
        "aws:iam/role:Role": 6,
        "aws:iam/rolePolicy:RolePolicy": 6,
        "aws:cloudwatch/logGroup:LogGroup": 7,
        "aws:dynamodb/table:Table": 1,
        "aws:ssm/parameter:Parameter": 1,
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


def test_each_function_part_holds_its_function_role_policy_and_logs(chat_recording):
    """A Function component owns exactly one function, role, inline policy and log group."""
    rec = chat_recording
    for role in [*ROUTES.values(), "authorizer"]:
        part = rec.named(f"chat-{role}-function")
        owned = sorted(r.name for r in rec.resources if r.parent == part.urn)
        assert owned == sorted(f"chat-{role}-{kind}" for kind in ("fn", "logs", "policy", "role"))


def test_api_is_websocket_with_action_selection(chat_recording):
    api = chat_recording.named("chat-api")
    assert api.inputs["protocolType"] == "WEBSOCKET"
    assert api.inputs["routeSelectionExpression"] == "$request.body.action"


@pytest.mark.parametrize(("route_key", "role"), ROUTES.items())
def test_route_integration_function_permission_wiring(chat_recording, route_key, role):
    rec = chat_recording
    api = rec.named("chat-api")
    route = rec.named(f"chat-{role}-route")
    integration = rec.named(f"chat-{role}-integration")
    fn = rec.named(f"chat-{role}-fn")
    permission = rec.named(f"chat-{role}-permission")
    assert route.inputs["routeKey"] == route_key
    assert route.inputs["apiId"] == api.id
    assert route.inputs["target"] == f"integrations/{integration.id}"
    assert integration.inputs["integrationType"] == "AWS_PROXY"
    assert integration.inputs["integrationMethod"] == "POST"
    assert integration.inputs["integrationUri"] == fn.outputs["invokeArn"]
    assert fn.inputs["handler"] == f"realtime_socket.handlers.{role}.handler"
    assert permission.inputs["function"] == fn.outputs["name"]
    assert permission.inputs["principal"] == "apigateway.amazonaws.com"
    assert permission.inputs["action"] == "lambda:InvokeFunction"
    assert permission.inputs["sourceArn"] == f"{api.outputs['executionArn']}/live/{route_key}"


def test_only_connect_is_authorized_and_only_ping_and_default_reply(chat_recording):
    rec = chat_recording
    authorizer = rec.named("chat-authorizer")
    for route_key, role in ROUTES.items():
        route = rec.named(f"chat-{role}-route")
        if route_key == "$connect":
            assert route.inputs["authorizationType"] == "CUSTOM"
            assert route.inputs["authorizerId"] == authorizer.id
        else:
            assert route.inputs["authorizationType"] == "NONE"
            assert "authorizerId" not in route.inputs
        replies = route_key in ("ping", "$default")
        assert (route.inputs.get("routeResponseSelectionExpression") == "$default") is replies
    responses = rec.of_type("aws:apigatewayv2/routeResponse:RouteResponse")
    assert {r.inputs["routeId"] for r in responses} == {
        rec.named("chat-ping-route").id,
        rec.named("chat-default-route").id,
    }


def test_authorizer_is_a_request_lambda_authorizer_with_its_permission(chat_recording):
    rec = chat_recording
    authorizer = rec.named("chat-authorizer")
    fn = rec.named("chat-authorizer-fn")
    assert authorizer.inputs["authorizerType"] == "REQUEST"
    assert authorizer.inputs["authorizerUri"] == fn.outputs["invokeArn"]
    assert authorizer.inputs["identitySources"] == ["route.request.querystring.token"]
    permission = rec.named("chat-authorizer-permission")
    assert permission.inputs["function"] == fn.outputs["name"]
    execution_arn = rec.named("chat-api").outputs["executionArn"]
    assert permission.inputs["sourceArn"] == f"{execution_arn}/authorizers/{authorizer.id}"


@pytest.mark.parametrize(
    ("carriers", "sources"),
    [
        (["header"], ["route.request.header.Authorization"]),
        (["protocol"], ["route.request.header.Sec-WebSocket-Protocol"]),
        (["query"], ["route.request.querystring.token"]),
        (["query", "header"], ["route.request.header.Host"]),
    ],
)
def test_identity_sources_follow_the_carriers(carriers, sources):
    from tests.support.helpers import jwt_args

    rec = evaluate_socket("chat", jwt=jwt_args(carriers=carriers))
    assert rec.named("chat-authorizer").inputs["identitySources"] == sources
    env = rec.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert env["JWT_CARRIERS"] == ",".join(carriers)


def test_stage_settings_and_json_access_logs(chat_recording):
    rec = chat_recording
    stage = rec.named("chat-stage")
    settings = stage.inputs["defaultRouteSettings"]
    assert settings == {
        "throttlingBurstLimit": 500,
        "throttlingRateLimit": 1000,
        "detailedMetricsEnabled": True,
        "loggingLevel": "ERROR",
        "dataTraceEnabled": False,
    }
    assert stage.inputs["name"] == "live"
    assert stage.inputs["deploymentId"] == rec.named("chat-deployment").id
    logs = rec.named("chat-access-logs")
    assert stage.inputs["accessLogSettings"]["destinationArn"] == logs.outputs["arn"]
    assert logs.inputs["retentionInDays"] == 30
    fmt = json.loads(stage.inputs["accessLogSettings"]["format"])
    assert fmt["routeKey"] == "$context.routeKey"
    assert fmt["connectionId"] == "$context.connectionId"
    assert "token" not in stage.inputs["accessLogSettings"]["format"].lower()


def test_stage_overrides_are_applied():
    rec = evaluate_socket(
        "chat",
        stage_name="prod",
        throttling={"burst_limit": 50, "rate_limit": 25.5},
        logging_level="INFO",
        data_trace=True,
        detailed_metrics=False,
        access_log_retention_days=7,
    )
    settings = rec.named("chat-stage").inputs["defaultRouteSettings"]
    assert (settings["throttlingBurstLimit"], settings["throttlingRateLimit"]) == (50, 25.5)
    assert (settings["loggingLevel"], settings["dataTraceEnabled"]) == ("INFO", True)
    assert settings["detailedMetricsEnabled"] is False
    assert rec.named("chat-access-logs").inputs["retentionInDays"] == 7
    assert rec.exports["stage_name"] == "prod"
    assert rec.exports["url"].endswith("/prod")


def test_data_trace_is_never_on_without_execution_logging():
    rec = evaluate_socket("chat", logging_level="OFF", data_trace=True)
    assert rec.named("chat-stage").inputs["defaultRouteSettings"]["dataTraceEnabled"] is False


def test_deployment_depends_on_every_route_integration_and_the_authorizer(chat_recording):
    rec = chat_recording
    deps = set(rec.named("chat-deployment").dependencies)
    for role in ROUTES.values():
        assert rec.named(f"chat-{role}-route").urn in deps
        assert rec.named(f"chat-{role}-integration").urn in deps
    assert rec.named("chat-authorizer").urn in deps


def test_route_changes_redeploy_the_stage(chat_recording):
    base = chat_recording.named("chat-deployment").inputs["triggers"]["redeployment"]
    again = evaluate_socket("chat").named("chat-deployment").inputs["triggers"]["redeployment"]
    assert base == again  # stable when nothing changed
    extra = evaluate_socket(
        "chat", routes={"typing": {"handler": "realtime_socket.handlers.ping.handler"}}
    )
    assert extra.named("chat-deployment").inputs["triggers"]["redeployment"] != base
    from tests.support.helpers import jwt_args

    header = evaluate_socket("chat", jwt=jwt_args(carriers=["header"]))
    assert header.named("chat-deployment").inputs["triggers"]["redeployment"] != base


def test_connections_table(chat_recording):
    table = chat_recording.named("chat-connections-table")
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["hashKey"] == "connectionId"
    (index,) = table.inputs["globalSecondaryIndexes"]
    assert index["name"] == "room-index"
    assert index["keySchemas"] == [
        {"attributeName": "roomId", "keyType": "HASH"},
        {"attributeName": "connectionId", "keyType": "RANGE"},
    ]
    assert (index["projectionType"], index["nonKeyAttributes"]) == ("INCLUDE", ["ttl"])
    assert table.inputs["ttl"] == {"attributeName": "ttl", "enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is False


def test_table_switches():
    rec = evaluate_socket(
        "chat", table={"point_in_time_recovery": False, "deletion_protection": True}
    )
    table = rec.named("chat-connections-table")
    assert table.inputs["pointInTimeRecovery"] == {"enabled": False}
    assert table.inputs["deletionProtectionEnabled"] is True


def test_ttl_covers_the_two_hour_connection_cap(chat_recording):
    """Route functions are told the contract's row TTL, which outlives API Gateway's 2 hours."""
    assert contract.CONNECTION_TTL_SECONDS > contract.MAX_CONNECTION_SECONDS
    env = chat_recording.named("chat-connect-fn").inputs["environment"]["variables"]
    assert env["CONNECTION_TTL_SECONDS"] == str(contract.CONNECTION_TTL_SECONDS)


def test_functions_runtime_architecture_env_and_logs(chat_recording):
    rec = chat_recording
    table = rec.named("chat-connections-table")
    for role in [*ROUTES.values(), "authorizer"]:
        fn = rec.named(f"chat-{role}-fn")
        assert fn.inputs["runtime"] == "python3.12"
        assert fn.inputs["architectures"] == ["arm64"]
        assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (256, 10)
        assert fn.inputs["role"] == rec.named(f"chat-{role}-role").outputs["arn"]
        logs = rec.named(f"chat-{role}-logs")
        assert fn.inputs["loggingConfig"]["logGroup"] == logs.outputs["name"]
        assert fn.inputs["loggingConfig"]["logFormat"] == "JSON"  # records carry the request id
        assert logs.inputs["retentionInDays"] == 30
        if role != "authorizer":
            env = fn.inputs["environment"]["variables"]
            assert env["TABLE_NAME"] == table.outputs["name"]
            assert env["ROOM_INDEX_NAME"] == "room-index"
            assert env["MANAGEMENT_ENDPOINT"] == rec.exports["management_endpoint"]


def test_function_overrides():
    rec = evaluate_socket(
        "chat",
        functions={
            "architecture": "x86_64",
            "runtime": "python3.13",
            "memory_mb": 1024,
            "timeout_seconds": 29,
            "log_retention_days": 90,
            "fanout_concurrency": 100,
        },
    )
    fn = rec.named("chat-sendmessage-fn")
    assert fn.inputs["architectures"] == ["x86_64"]
    assert fn.inputs["runtime"] == "python3.13"
    assert (fn.inputs["memorySize"], fn.inputs["timeout"]) == (1024, 29)
    assert fn.inputs["environment"]["variables"]["FANOUT_CONCURRENCY"] == "100"
    assert rec.named("chat-sendmessage-logs").inputs["retentionInDays"] == 90


def test_hmac_secret_lives_in_ssm_securestring_never_in_env(chat_recording):
    rec = chat_recording
    parameter = rec.named("chat-jwt-secret")
    assert parameter.inputs["type"] == "SecureString"
    value = parameter.inputs["value"]
    # the mock monitor hands secrets over in Pulumi's secret envelope
    assert isinstance(value, dict) and value["value"] == "s" * 48
    assert value["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    env = rec.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert env["JWT_SECRET_PARAMETER"] == parameter.outputs["name"]
    assert all("s" * 48 not in str(v) for v in env.values())
    for fn in rec.of_type("aws:lambda/function:Function"):
        assert "s" * 48 not in json.dumps(fn.inputs["environment"])


def test_existing_parameter_and_jwks_modes_create_no_parameter():
    from tests.support.helpers import jwt_args

    existing = evaluate_socket("chat", jwt=jwt_args(secret=None, secret_parameter_name="/team/jwt"))
    assert not existing.of_type("aws:ssm/parameter:Parameter")
    env = existing.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert env["JWT_SECRET_PARAMETER"] == "/team/jwt"
    jwks = evaluate_socket(
        "chat",
        jwt=jwt_args(secret=None, algorithms=["RS256"], jwks_url="https://idp.example.com/jwks"),
    )
    assert not jwks.of_type("aws:ssm/parameter:Parameter")
    env = jwks.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert env["JWT_JWKS_URL"] == "https://idp.example.com/jwks"
    assert env["JWT_ALGORITHMS"] == "RS256"
    assert "JWT_SECRET_PARAMETER" not in env


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


def test_extra_routes_get_the_full_chain_and_their_own_role():
    rec = evaluate_socket(
        "chat",
        routes={
            "presence.list": {
                "handler": "realtime_socket.handlers.ping.handler",
                "permissions": ["read", "publish"],
                "reply": True,
                "environment": {"FEATURE": "on"},
            }
        },
    )
    route = rec.named("chat-presence-list-route")
    assert route.inputs["routeKey"] == "presence.list"
    fn = rec.named("chat-presence-list-fn")
    assert (
        route.inputs["target"] == f"integrations/{rec.named('chat-presence-list-integration').id}"
    )
    assert fn.inputs["environment"]["variables"]["FEATURE"] == "on"
    assert rec.named("chat-presence-list-route-response")
    perm = rec.named("chat-presence-list-permission")
    assert perm.inputs["sourceArn"].endswith("/live/presence.list")


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
    assert len(names) == len(set(names)) == 3 * 56
    physical = [
        r.inputs["name"] for r in rec.resources if "name" in r.inputs and r.custom
        and r.type != "aws:apigatewayv2/stage:Stage"
    ]  # fmt: skip
    assert len(physical) == len(set(physical))


def test_limits_reach_the_functions():
    rec = evaluate_socket(
        "chat",
        limits={
            "messages_per_second": 2.5,
            "message_burst": 5,
            "max_connections_per_user": 3,
            "allowed_origins": ["https://app.example.com", "http://localhost:3000"],
        },
    )
    env = rec.named("chat-connect-fn").inputs["environment"]["variables"]
    assert env["MESSAGES_PER_SECOND"] == "2.5"
    assert env["MESSAGE_BURST"] == "5"
    assert env["MAX_CONNECTIONS_PER_USER"] == "3"
    assert env["ALLOWED_ORIGINS"] == "https://app.example.com,http://localhost:3000"
    default = evaluate_socket("chat").named("chat-sendmessage-fn")
    env = default.inputs["environment"]["variables"]
    assert (env["MESSAGES_PER_SECOND"], env["MESSAGE_BURST"]) == ("10", "20")
    assert env["MAX_CONNECTIONS_PER_USER"] == "0"
