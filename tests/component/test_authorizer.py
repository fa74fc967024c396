"""The $connect authorizer: REQUEST type, identity sources, key source and its permission."""

from __future__ import annotations

import json

import pytest

from tests.support.helpers import evaluate_socket, jwt_args
from tests.support.recorded_socket import statements_of as _statements

ACCOUNT, REGION = "123456789012", "us-east-1"


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


def test_existing_parameter_arn_is_built_from_region_and_account():
    from tests.support.helpers import evaluate_socket

    rec = evaluate_socket("chat", jwt=jwt_args(secret=None, secret_parameter_name="/team/jwt"))
    statements = _statements(rec, "authorizer")
    assert statements[("ssm:GetParameter",)] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/team/jwt"
    ]


def test_the_rooms_claim_reaches_the_authorizer_only_when_configured(chat_recording):
    """The authorizer is told which claim lists rooms; without one, rooms stay open."""
    rec = evaluate_socket("chat", jwt=jwt_args(rooms_claim="https://example.com/rooms"))
    env = rec.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert env["JWT_ROOMS_CLAIM"] == "https://example.com/rooms"
    default = chat_recording.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert default["JWT_ROOMS_CLAIM"] == ""
