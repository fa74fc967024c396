"""Development tokens the local runtime's authorizers accept.

Reads the issuer, audience and algorithm an authorizer is configured with and signs with
the secret the local runtime gives it (the stack's secret when readable, else the
development stand-in). Stacks that verify with a JWKS URL need tokens from their IdP.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import jwt

from realtime_socket.contract import DEFAULT_ALGORITHMS, Env
from realtime_socket.handlers import rooms as room_grants
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
    rooms: Sequence[str] | None = None,
) -> str:
    """A token for ``namespace`` signed like the stack expects.

    ``rooms`` (room ids and ``prefix*`` patterns) go in the claim the namespace's
    ``jwt.rooms_claim`` names, as a list; a namespace without one has open rooms, so asking
    for rooms there is an error rather than a token that silently restricts nothing. The
    default namespace is the first one, or with ``rooms`` the first that checks rooms.
    """
    if not model.apis:
        raise TokenError("the program declares no WebSocket API")
    restricted = _restricted(model)
    if namespace is None and rooms is not None:
        if not restricted:
            raise TokenError("no namespace sets jwt.rooms_claim (rooms are open): drop --rooms")
        namespace = restricted[0]
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
    if rooms is not None:
        claim = env.get(Env.JWT_ROOMS_CLAIM)
        if not claim:
            hint = f"; namespaces that do: {', '.join(restricted)}" if restricted else ""
            raise TokenError(
                f"namespace {name!r} has no jwt.rooms_claim, so any token joins any room: "
                f"drop --rooms{hint}"
            )
        payload[claim] = _grants(rooms)
    return jwt.encode(payload, secret, algorithm=algorithm)


def _restricted(model: LocalModel) -> list[str]:
    """The namespaces whose authorizer reads a rooms claim, in declaration order."""
    return [
        ns
        for ns, api in model.apis.items()
        if api.connect_authorizer
        and api.connect_authorizer.function.environment.get(Env.JWT_ROOMS_CLAIM)
    ]


def _grants(rooms: Sequence[str]) -> list[str]:
    """The rooms as the claim lists them, checked as the authorizer will check them."""
    bad = [room for room in rooms if not room_grants.is_grant(room)]
    if bad:
        raise TokenError(
            f"not a room id or a room id prefix followed by *: {', '.join(map(repr, bad))}"
        )
    return list(dict.fromkeys(rooms))
