"""The $connect authorizer: the policy it answers, its default carriers, its log, its secret."""

from __future__ import annotations

import time

import boto3
from moto import mock_aws

from realtime_socket.contract import DEFAULT_CARRIERS, Env
from realtime_socket.handlers import authorizer, clients
from tests.handlers.auth_harness import assert_unauthorized, authorize, event_with
from tests.support.helpers import AUDIENCE, ISSUER, SECRET, mint

# -- policy and carriers ------------------------------------------------------------------


def test_valid_token_in_query_is_allowed_with_context():
    answer = authorize(event_with({"token": mint(name="Alice", role=["x"])}))
    assert answer["principalId"] == "alice"
    statement = answer["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/live/$connect",
    }
    # configured scalar claims only; API Gateway refuses non-scalar context values
    assert answer["context"] == {"sub": "alice", "name": "Alice"}


def test_without_carriers_configured_only_the_contracts_default_is_read():
    """The fallback is the component's default (query only), never a wider set."""
    assert authorizer.carriers({}) == DEFAULT_CARRIERS == ("query",)
    assert authorize(event_with({"token": mint()}), env={})["principalId"] == "alice"
    assert_unauthorized(event_with(headers={"Authorization": f"Bearer {mint()}"}), env={})


def test_overlong_sub_is_denied_with_403_policy():
    answer = authorize(event_with({"token": mint(sub="u" * 300)}))
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in answer


# -- logging and configuration ------------------------------------------------------------


def test_refusals_log_a_reason_but_never_the_token(lambda_log):
    """Every line logged at any level, as Lambda writes it, has the reason and no token."""
    token = mint(exp=int(time.time()) - 60)
    assert_unauthorized(event_with({"token": token}))
    record = lambda_log.events()[-1]
    assert (record["outcome"], record["level"]) == ("unauthorized", "INFO")
    assert "ExpiredSignatureError" in record["reason"]
    assert record["requestId"] == "00000000-0000-0000-0000-000000000000"
    assert token not in lambda_log.text
    assert token.split(".")[2] not in lambda_log.text


def test_allowed_connections_log_the_subject_but_never_the_token(lambda_log):
    """The allow path logs who connected; neither the token nor its signature appear."""
    token = mint()
    authorize(event_with({"token": token}))
    record = lambda_log.events()[-1]
    assert (record["outcome"], record["sub"], record["route"]) == ("allowed", "alice", "$connect")
    assert token not in lambda_log.text
    assert token.split(".")[2] not in lambda_log.text


def test_secret_comes_from_ssm_securestring_and_is_cached(lambda_log):
    """One GetParameter for three tokens; the secret is in no log line, even at DEBUG."""
    env = {
        Env.JWT_ALGORITHMS: "HS256",
        Env.JWT_ISSUER: ISSUER,
        Env.JWT_AUDIENCE: AUDIENCE,
        Env.JWT_SECRET_PARAMETER: "/rs/test/jwt-secret",
        Env.JWT_CARRIERS: "query",
    }
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/rs/test/jwt-secret", Value=SECRET, Type="SecureString")
        calls = []
        ssm.meta.events.register("before-call.ssm.GetParameter", lambda **kw: calls.append(1))
        clients.set_clients(ssm=ssm)
        verifier = authorizer.load_verifier(env)
        for _ in range(3):
            assert authorizer.handle(event_with({"token": mint()}), verifier, env)["principalId"]
    assert len(calls) == 1
    assert [r["outcome"] for r in lambda_log.events()] == ["allowed"] * 3
    assert SECRET not in lambda_log.text
