"""Calls of the ``$connect`` authorizer, shared by the authorizer and token tests.

Every call goes through ``authorizer.handle``, so a refusal is the ``Unauthorized`` that
API Gateway answers with 401.
"""

from __future__ import annotations

import pytest

from realtime_socket.contract import Env
from realtime_socket.handlers import authorizer, tokens
from tests.support.helpers import AUDIENCE, ISSUER, SECRET, load_event

__all__ = ["ENV", "assert_unauthorized", "authorize", "event_with", "hmac_verifier"]

ENV = {Env.JWT_CARRIERS: "header,query,protocol", Env.JWT_QUERY_PARAMETER: "token"}


def hmac_verifier(**overrides) -> tokens.Verifier:
    config = tokens.VerifierConfig(
        algorithms=("HS256",), issuer=ISSUER, audience=(AUDIENCE,), context_claims=("name",)
    )
    for key, value in overrides.items():
        config = tokens.VerifierConfig(**{**config.__dict__, key: value})
    return tokens.Verifier(config, secret_loader=lambda: SECRET)


def event_with(query: dict | None = None, headers: dict | None = None) -> dict:
    event = load_event("authorizer")
    event["queryStringParameters"] = {"room_id": "lobby", **(query or {})}
    event["headers"].update(headers or {})
    return event


def authorize(event, verifier=None, env=ENV):
    return authorizer.handle(event, verifier or hmac_verifier(), env)


def assert_unauthorized(event, verifier=None, env=ENV):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(event, verifier, env)
