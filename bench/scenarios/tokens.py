"""Development tokens for the benchmarks and tests: a valid HS256 token, claims overridable.

Signed with :data:`SECRET` for :data:`ISSUER` and :data:`AUDIENCE` (the dev stack's issuer and
audience); a verifier under test must be configured with the same three values.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import jwt

__all__ = ["AUDIENCE", "ISSUER", "SECRET", "mint"]

ISSUER = "https://auth.example.com/"
AUDIENCE = "realtime-socket"
SECRET = "s" * 48


def mint(
    key: Any = SECRET,
    algorithm: str = "HS256",
    headers: Mapping[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A valid token (iss, aud, sub, exp in 5 minutes); ``claims`` override, ``None`` drops."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "exp": now + 300,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers=dict(headers or {}))
