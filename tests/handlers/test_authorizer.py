"""The $connect authorizer: the policy it answers, its default carriers, its log, its secret,
the room grants it hands to $connect."""

from __future__ import annotations

import json
import time

import boto3
import jwt
import pytest
from moto import mock_aws

from realtime_socket.contract import (
    DEFAULT_CARRIERS,
    MAX_ROOM_GRANTS_BYTES,
    ROOM_GRANTS_CONTEXT_KEY,
    TOKEN_EXPIRES_CONTEXT_KEY,
    Env,
)
from realtime_socket.handlers import authorizer, clients
from tests.handlers.auth_harness import assert_unauthorized, authorize, event_with, hmac_verifier
from tests.support.helpers import AUDIENCE, ISSUER, SECRET, mint

# -- policy and carriers ------------------------------------------------------------------


def test_valid_token_in_query_is_allowed_with_context():
    """Allowed, with sub, the configured scalar claims and the token's exp in the context."""
    token = mint(name="Alice", role=["x"])
    answer = authorize(event_with({"token": token}))
    assert answer["principalId"] == "alice"
    statement = answer["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/live/$connect",
    }
    # configured scalar claims only (API Gateway refuses non-scalar context values), and exp,
    # which every later event carries so an expired connection can be refused
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert answer["context"] == {"sub": "alice", "name": "Alice", TOKEN_EXPIRES_CONTEXT_KEY: exp}


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


# -- room grants (jwt.rooms_claim) ----------------------------------------------------------


def _rooms_context(verifier=None, **claims) -> dict:
    """The authorizer context for a token with ``claims``, rooms read from ``rooms``."""
    answer = authorize(event_with({"token": mint(**claims)}), verifier or _rooms_verifier())
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    return answer["context"]


def _rooms_verifier(**overrides):
    return hmac_verifier(rooms_claim="rooms", **overrides)


@pytest.mark.parametrize(
    ("claim", "encoded"),
    [
        (["lobby", "team-7*"], '["lobby","team-7*"]'),
        ("lobby team-7*", '["lobby","team-7*"]'),
        (["*"], '["*"]'),
        ([], "[]"),
    ],
)
def test_the_rooms_claim_reaches_the_context_as_a_json_string(claim, encoded):
    """API Gateway takes only scalars: the grants travel as one compact JSON string."""
    context = _rooms_context(rooms=claim)
    assert context[ROOM_GRANTS_CONTEXT_KEY] == encoded
    assert all(isinstance(v, str | int | bool) for v in context.values())


@pytest.mark.parametrize(
    ("claim", "problem"),
    [
        (None, "token has no rooms claim"),
        (42, "rooms claim is a int, not a list or a string"),
        ({"lobby": True}, "rooms claim is a dict, not a list or a string"),
        (["lobby", 7], "rooms claim holds a value that is not a string"),
        (["lobby", "secret room"], "rooms claim holds 1 invalid grant(s)"),
    ],
)
def test_a_missing_or_malformed_rooms_claim_grants_no_room_and_logs_why(lambda_log, claim, problem):
    """The token is still verified (no 401), its grants are empty, the log says why without
    the claim's value or the token."""
    token = mint(rooms=claim)
    answer = authorize(event_with({"token": token}), _rooms_verifier())
    assert answer["context"][ROOM_GRANTS_CONTEXT_KEY] == "[]"
    record = lambda_log.events()[-1]
    assert (record["outcome"], record["roomGrants"], record["roomsProblem"]) == (
        "allowed",
        0,
        problem,
    )
    assert "secret room" not in lambda_log.text
    assert token not in lambda_log.text


def test_granted_rooms_are_counted_in_the_log_but_never_listed(lambda_log):
    """The log line carries how many grants, not which rooms."""
    _rooms_context(rooms=["hidden-room-a", "hidden-b*"])
    record = lambda_log.events()[-1]
    assert record["roomGrants"] == 2
    assert "roomsProblem" not in record
    assert "hidden" not in lambda_log.text


def test_without_rooms_claim_configured_no_grants_are_added():
    """Open rooms: the context stays as before, whatever the token carries."""
    answer = authorize(event_with({"token": mint(rooms=["lobby"])}))
    assert ROOM_GRANTS_CONTEXT_KEY not in answer["context"]


def test_a_context_claim_cannot_forge_the_grants():
    """A token claim named like the grants' context key never overrides the real grants."""
    verifier = _rooms_verifier(context_claims=("name", ROOM_GRANTS_CONTEXT_KEY))
    context = _rooms_context(verifier, rooms=["lobby"], **{ROOM_GRANTS_CONTEXT_KEY: '["*"]'})
    assert context[ROOM_GRANTS_CONTEXT_KEY] == '["lobby"]'
    open_rooms = hmac_verifier(context_claims=(ROOM_GRANTS_CONTEXT_KEY,))
    context = _rooms_context(open_rooms, **{ROOM_GRANTS_CONTEXT_KEY: '["*"]'})
    assert ROOM_GRANTS_CONTEXT_KEY not in context


def test_an_answer_with_the_largest_grants_fits_api_gateways_8_kb():
    """Longest sub, a long context claim and grants at their bound: under 8 KB in all."""
    grants = [f"r{i:04d}" for i in range((MAX_ROOM_GRANTS_BYTES - 1) // 8)]
    answer = authorize(
        event_with({"token": mint(sub="u" * 256, name="n" * 1024, rooms=grants)}),
        _rooms_verifier(),
    )
    assert len(answer["context"][ROOM_GRANTS_CONTEXT_KEY]) <= MAX_ROOM_GRANTS_BYTES
    assert len(json.dumps(answer).encode()) < 8192
    over = authorize(event_with({"token": mint(rooms=[*grants, *"abcdefgh"])}), _rooms_verifier())
    assert over["context"][ROOM_GRANTS_CONTEXT_KEY] == "[]"


def test_load_verifier_reads_the_rooms_claim_from_the_environment():
    """JWT_ROOMS_CLAIM set: the verifier reads that claim; empty: rooms are open."""
    env = {
        Env.JWT_ALGORITHMS: "HS256",
        Env.JWT_ISSUER: ISSUER,
        Env.JWT_AUDIENCE: AUDIENCE,
        Env.JWT_SECRET_PARAMETER: "/rs/test/jwt-secret",
    }
    assert authorizer.load_verifier({**env, Env.JWT_ROOMS_CLAIM: "rooms"}).config.rooms_claim == (
        "rooms"
    )
    assert authorizer.load_verifier({**env, Env.JWT_ROOMS_CLAIM: ""}).config.rooms_claim is None
    assert authorizer.load_verifier(env).config.rooms_claim is None
