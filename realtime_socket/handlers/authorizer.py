"""The REQUEST Lambda authorizer on ``$connect``.

Answers: an IAM Allow policy for the ``methodArn`` with context ``{sub, ...claims}``;
``Unauthorized`` (API Gateway answers 401) for a missing or invalid token; a Deny policy
(403) for a verified token whose subject cannot identify a user. Authorizers cannot set
response headers, so the subprotocol is echoed by ``$connect`` instead.
See https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from realtime_socket.contract import (
    DEFAULT_CARRIERS,
    DEFAULT_LEEWAY_SECONDS,
    DEFAULT_QUERY_PARAMETER,
    Env,
)
from realtime_socket.handlers import clients, events, metrics, tokens
from realtime_socket.handlers.errors import AuthError
from realtime_socket.handlers.observability import event_log

__all__ = ["carriers", "handle", "handler", "load_verifier", "policy", "refusal_code"]

_MAX_SUB_LENGTH = 256
_ROUTE = "authorizer"
#: The ``Reason`` of a refused token's metric, by how its log-safe reason begins (the texts
#: of ``tokens.py``): a handful of fixed codes, so the dimension stays a few metrics.
_REFUSAL_CODES = (
    ("no token", "missing_token"),
    ("token longer than", "token_too_large"),
    ("malformed token", "malformed"),
    ("invalid token: ExpiredSignatureError", "expired"),
    ("invalid token: ImmatureSignatureError", "not_yet_valid"),
    ("signing key not found", "unknown_key"),
    (Env.JWT_SECRET_PARAMETER, "misconfigured"),
)
_verifier: tokens.Verifier | None = None


def policy(
    principal: str, effect: str, method_arn: str, context: Mapping[str, Any] | None
) -> dict[str, Any]:
    """An authorizer response; its size counts against API Gateway's 8 KB limit."""
    result: dict[str, Any] = {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": method_arn}
            ],
        },
    }
    if context:
        result["context"] = dict(context)
    return result


def refusal_code(reason: str) -> str:
    """The metric's reason code for an :class:`AuthError`'s reason; ``invalid`` for every
    other verification failure (signature, claims, algorithm, headers)."""
    for start, code in _REFUSAL_CODES:
        if reason.startswith(start):
            return code
    return "invalid"


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def carriers(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Where to look for the token: ``JWT_CARRIERS``, else the component's own default."""
    return _csv(environ.get(Env.JWT_CARRIERS)) or DEFAULT_CARRIERS


def load_verifier(environ: Mapping[str, str] | None = None) -> tokens.Verifier:
    """Build the verifier from the environment the component sets."""
    env = os.environ if environ is None else environ
    config = tokens.VerifierConfig(
        # No fallback: an unset list fails closed (VerifierConfig refuses unpinned algorithms).
        algorithms=_csv(env.get(Env.JWT_ALGORITHMS)),
        issuer=env.get(Env.JWT_ISSUER, ""),
        audience=_csv(env.get(Env.JWT_AUDIENCE)),
        leeway_seconds=int(env.get(Env.JWT_LEEWAY_SECONDS, DEFAULT_LEEWAY_SECONDS)),
        jwks_url=env.get(Env.JWT_JWKS_URL) or None,
        context_claims=_csv(env.get(Env.JWT_CONTEXT_CLAIMS)),
        rooms_claim=env.get(Env.JWT_ROOMS_CLAIM) or None,
    )
    parameter = env.get(Env.JWT_SECRET_PARAMETER)

    def load_secret() -> str:
        if not parameter:
            raise AuthError(f"{Env.JWT_SECRET_PARAMETER} is not configured")
        answer = clients.ssm().get_parameter(Name=parameter, WithDecryption=True)
        return str(answer["Parameter"]["Value"])

    return tokens.Verifier(config, secret_loader=load_secret if config.is_hmac else None)


def handle(
    event: events.Event, verifier: tokens.Verifier, environ: Mapping[str, str]
) -> dict[str, Any]:
    method_arn = str(event.get("methodArn", ""))
    with event_log(event) as log:
        try:
            token = tokens.extract_token(
                event,
                carriers(environ),
                environ.get(Env.JWT_QUERY_PARAMETER) or DEFAULT_QUERY_PARAMETER,
            )
            claims = verifier.verify(token)
        except AuthError as exc:
            log.set(outcome="unauthorized", reason=exc.reason)
            metrics.refused(_ROUTE, refusal_code(exc.reason))
            raise Exception("Unauthorized") from None  # API Gateway: "Unauthorized" -> 401
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > _MAX_SUB_LENGTH:
            log.set(outcome="denied", reason="unusable sub claim")
            metrics.refused(_ROUTE, "unusable_sub")
            return policy("anonymous", "Deny", method_arn, None)
        log.set(outcome="allowed", sub=sub)
        if verifier.config.rooms_claim:
            # How many rooms (never which, nor the claim's value), and why none if so.
            grants, problem = verifier.room_grants(claims)
            log.set(roomGrants=len(grants))
            if problem:
                log.set(roomsProblem=problem)
        return policy(sub, "Allow", method_arn, verifier.context(claims))


def handler(event: events.Event, context: object) -> dict[str, Any]:
    global _verifier
    if _verifier is None:
        _verifier = load_verifier()
    return handle(event, _verifier, os.environ)
