"""One route: function, integration, route, invoke permission, route response, environment."""

from __future__ import annotations

import pytest

from realtime_socket import contract
from tests.support.helpers import evaluate_socket
from tests.support.recorded_socket import ROUTES
from tests.support.recorded_socket import arns_of as _arns
from tests.support.recorded_socket import statements_of as _statements


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


def test_only_connect_is_authorized_and_only_ping_default_subscriptions_members_reply(
    chat_recording,
):
    """subscribe, unsubscribe and members answer through a route response, as ping and
    $default do; reply and history post their frames."""
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
        replies = route_key in ("ping", "$default", "subscribe", "unsubscribe", "members")
        assert (route.inputs.get("routeResponseSelectionExpression") == "$default") is replies
    responses = rec.of_type("aws:apigatewayv2/routeResponse:RouteResponse")
    assert {r.inputs["routeId"] for r in responses} == {
        rec.named("chat-ping-route").id,
        rec.named("chat-default-route").id,
        rec.named("chat-subscribe-route").id,
        rec.named("chat-unsubscribe-route").id,
        rec.named("chat-members-route").id,
    }


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


def test_ttl_covers_the_two_hour_connection_cap(chat_recording):
    """Route functions are told the contract's row TTL, which outlives API Gateway's 2 hours."""
    assert contract.CONNECTION_TTL_SECONDS > contract.MAX_CONNECTION_SECONDS
    env = chat_recording.named("chat-connect-fn").inputs["environment"]["variables"]
    assert env["CONNECTION_TTL_SECONDS"] == str(contract.CONNECTION_TTL_SECONDS)


def test_limits_reach_the_functions():
    rec = evaluate_socket(
        "chat",
        limits={
            "messages_per_second": 2.5,
            "message_burst": 5,
            "max_connections_per_user": 3,
            "max_rooms_per_connection": 100,
            "allowed_origins": ["https://app.example.com", "http://localhost:3000"],
        },
    )
    subscribe_env = rec.named("chat-subscribe-fn").inputs["environment"]["variables"]
    assert subscribe_env["MAX_ROOMS_PER_CONNECTION"] == "100"
    env = rec.named("chat-connect-fn").inputs["environment"]["variables"]
    assert env["MESSAGES_PER_SECOND"] == "2.5"
    assert env["MESSAGE_BURST"] == "5"
    assert env["MAX_CONNECTIONS_PER_USER"] == "3"
    assert env["ALLOWED_ORIGINS"] == "https://app.example.com,http://localhost:3000"
    default = evaluate_socket("chat").named("chat-sendmessage-fn")
    env = default.inputs["environment"]["variables"]
    assert (env["MESSAGES_PER_SECOND"], env["MESSAGE_BURST"]) == ("10", "20")
    assert env["MAX_CONNECTIONS_PER_USER"] == "0"
    assert env["MAX_ROOMS_PER_CONNECTION"] == str(contract.DEFAULT_MAX_ROOMS_PER_CONNECTION)


def test_connect_may_query_the_user_index_only_when_connections_are_capped():
    """Without presence events (which also read it), only the per-user cap needs the index."""
    from tests.support.helpers import evaluate_socket

    lean = {"presence": {"events": False}}
    rec = evaluate_socket("chat", limits={"max_connections_per_user": 3}, **lean)
    table, _, _ = _arns(rec, "connect")
    assert _statements(rec, "connect")[("dynamodb:Query",)] == [f"{table}/index/user-index"]
    assert ("dynamodb:Query",) not in _statements(evaluate_socket("chat", **lean), "connect")


def test_route_functions_are_told_whether_rooms_are_checked(chat_recording):
    """$connect (and every route function, for later room checks) learns jwt.rooms_claim;
    empty when unset, so rooms stay open."""
    from tests.support.helpers import jwt_args

    rec = evaluate_socket("chat", jwt=jwt_args(rooms_claim="rooms"))
    for role in ROUTES.values():
        env = rec.named(f"chat-{role}-fn").inputs["environment"]["variables"]
        assert env["JWT_ROOMS_CLAIM"] == "rooms", role
    env = chat_recording.named("chat-connect-fn").inputs["environment"]["variables"]
    assert env["JWT_ROOMS_CLAIM"] == ""
