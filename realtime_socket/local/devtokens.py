"""Development tokens the local runtime's authorizers accept.

Reads the issuer, audience and algorithm an authorizer is configured with and signs with
the secret the local runtime gives it (the stack's secret when readable, else the
development stand-in). Stacks that verify with a JWKS URL need tokens from their IdP.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from realtime_socket.contract import DEFAULT_ALGORITHMS, Env
from realtime_socket.local.model import LocalModel, declared_parameters
from realtime_socket.tools.stack_files import local_jwt_secret

__all__ = ["TokenError", "mint"]


class TokenError(ValueError):
    """No development token can be made for this namespace."""


def mint(
    model: LocalModel,
    namespace: str | None = None,
    *,
    sub: str = "developer",
    ttl_seconds: int = 3600,
    claims: dict[str, Any] | None = None,
) -> str:
    """A token for ``namespace`` (default: the first one) signed like the stack expects."""
    if not model.apis:
        raise TokenError("the program declares no WebSocket API")
    name = namespace or next(iter(model.apis))
    api = model.apis.get(name)
    if api is None:
        raise TokenError(f"no namespace {name!r}; namespaces: {', '.join(model.apis)}")
    authorizer = api.connect_authorizer
    if authorizer is None:
        raise TokenError(f"namespace {name!r} has no authorizer: connect without a token")
    env = authorizer.function.environment
    if env.get(Env.JWT_JWKS_URL):
        raise TokenError(
            f"namespace {name!r} verifies tokens with {env[Env.JWT_JWKS_URL]}: "
            "use a token from that identity provider"
        )
    algorithm = env.get(Env.JWT_ALGORITHMS, DEFAULT_ALGORITHMS[0]).split(",")[0]
    parameter = env.get(Env.JWT_SECRET_PARAMETER, "")
    secret = local_jwt_secret(declared_parameters(model).get(parameter))
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": env.get(Env.JWT_ISSUER, ""),
        "aud": env.get(Env.JWT_AUDIENCE, "").split(",")[0],
        "sub": sub,
        "iat": now,
        "exp": now + ttl_seconds,
        **(claims or {}),
    }
    return jwt.encode(payload, secret, algorithm=algorithm)
