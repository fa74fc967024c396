"""The WebSocket API, its deployment and its stage with throttling, metrics and access logs."""

from __future__ import annotations

import json

from tests.support.helpers import evaluate_socket
from tests.support.recorded_socket import ROUTES


def test_api_is_websocket_with_action_selection(chat_recording):
    api = chat_recording.named("chat-api")
    assert api.inputs["protocolType"] == "WEBSOCKET"
    assert api.inputs["routeSelectionExpression"] == "$request.body.action"


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


def test_data_trace_is_off_by_default(chat_recording):
    settings = chat_recording.named("chat-stage").inputs["defaultRouteSettings"]
    assert settings["dataTraceEnabled"] is False


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
