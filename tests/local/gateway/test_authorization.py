"""The $connect authorizer's identity sources and policy decisions."""

from __future__ import annotations

import pytest

from realtime_socket.local.gateway.authorization import (
    authorizer_decision,
    missing_identity_source,
)

ARN = "arn:aws:execute-api:us-east-1:1:api/live/$connect"


@pytest.mark.parametrize(
    ("sources", "headers", "query", "missing"),
    [
        (
            ["route.request.querystring.token"],
            [],
            [("token", "")],
            "route.request.querystring.token",
        ),
        (["route.request.querystring.token"], [], [("token", "t")], None),
        (
            ["route.request.querystring.token"],
            [],
            [("Token", "t")],
            "route.request.querystring.token",
        ),
        (["route.request.header.Authorization"], [("authorization", "x")], [], None),
        (["route.request.header.Authorization"], [], [], "route.request.header.Authorization"),
        (["route.request.header.Host", "context.routeKey"], [("Host", "h")], [], None),
        (
            ["route.request.header.A", "route.request.querystring.b"],
            [("A", "1")],
            [],
            "route.request.querystring.b",
        ),
    ],
)
def test_identity_sources(sources, headers, query, missing):
    """Headers match in any case, query names exactly; empty counts as missing."""
    assert missing_identity_source(sources, headers, query) == missing


def _policy(*statements, **extra):
    return {"principalId": "u", "policyDocument": {"Statement": list(statements)}, **extra}


def _allow(resource=ARN):
    return {"Effect": "Allow", "Resource": resource}


def _deny(resource=ARN):
    return {"Effect": "Deny", "Resource": resource}


@pytest.mark.parametrize(
    ("result", "error", "status"),
    [
        (_policy(_allow()), None, 200),
        (_policy(_allow("arn:aws:execute-api:us-east-1:1:api/*")), None, 200),
        (_policy(_allow([ARN])), None, 200),
        (_policy(_deny()), None, 403),
        (_policy(_allow(), _deny("arn:aws:execute-api:us-east-1:1:*")), None, 403),
        (_policy(_allow("arn:aws:execute-api:us-east-1:1:other/*")), None, 403),
        (_policy(), None, 403),
        (None, {"errorMessage": "Unauthorized"}, 401),
        (None, {"errorMessage": "boom"}, 500),
        ({"no": "policy"}, None, 500),
        ("not a mapping", None, 500),
    ],
    ids=[
        "allow",
        "allow-wildcard",
        "allow-list",
        "deny",
        "deny-wins",
        "not-covered",
        "no-statement",
        "unauthorized",
        "error",
        "no-policy",
        "not-a-mapping",
    ],
)
def test_authorizer_decisions(result, error, status):
    """Unauthorized is 401, a Deny or an uncovered method 403, anything broken 500."""
    assert authorizer_decision(result, error, ARN).status == status


def test_a_single_statement_mapping_is_read_like_a_list():
    """IAM allows Statement to be one object rather than a list."""
    result = {"principalId": "u", "policyDocument": {"Statement": _allow()}}
    assert authorizer_decision(result, None, ARN).status == 200


def test_allow_carries_the_principal_and_context():
    """The identity that later events see as requestContext.authorizer."""
    decision = authorizer_decision(_policy(_allow(), context={"sub": "u", "n": 1}), None, ARN)
    assert (decision.principal_id, dict(decision.context or {})) == ("u", {"sub": "u", "n": 1})
