"""Find the bearer token in a ``$connect`` request and verify it with PyJWT.

Follows RFC 8725 (JWT best current practices): algorithms come from configuration and never
from the token, ``none`` is never accepted, one verifier holds either an HMAC secret or an
RSA/EC key set and never both, ``exp``/``iss``/``aud``/``sub`` are required, leeway is a few
seconds, and ``jku``/``x5u``/embedded ``jwk`` headers are refused without being followed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from realtime_socket.contract import (
    ASYMMETRIC_ALGORITHMS,
    DEFAULT_LEEWAY_SECONDS,
    DEFAULT_QUERY_PARAMETER,
    HMAC_ALGORITHMS,
    MAX_LEEWAY_SECONDS,
    MAX_TOKEN_BYTES,
    ROOM_GRANTS_CONTEXT_KEY,
    SUBPROTOCOL,
    TOKEN_EXPIRES_CONTEXT_KEY,
)
from realtime_socket.handlers import events, rooms
from realtime_socket.handlers.errors import AuthError

__all__ = ["Verifier", "VerifierConfig", "extract_token"]

#: Key ids only select a key from the JWKS we fetched; still, refuse anything that is not a
#: plain base64/url-safe identifier (Cognito kids contain + / =).
_KID = re.compile(r"^[A-Za-z0-9_.\-:=+/]{1,256}$")
_FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")
#: Context keys the authorizer sets itself: a token claim may never overwrite them.
_RESERVED_CONTEXT_KEYS = frozenset({"sub", ROOM_GRANTS_CONTEXT_KEY, TOKEN_EXPIRES_CONTEXT_KEY})


def extract_token(
    event: events.Event,
    carriers: Sequence[str],
    query_parameter: str = DEFAULT_QUERY_PARAMETER,
    subprotocol: str = SUBPROTOCOL,
) -> str:
    """Return the token from the first configured carrier that holds one.

    Carriers: ``header`` (``Authorization: Bearer <jwt>``), ``query`` (``?token=<jwt>``,
    for browsers, which cannot set headers on a WebSocket) and ``protocol``
    (``Sec-WebSocket-Protocol: realtime-socket, <jwt>``).
    """
    for carrier in carriers:
        token: str | None = None
        if carrier == "header":
            value = events.header(event, "Authorization")
            if value and value[:7].lower() == "bearer ":
                token = value[7:].strip()
        elif carrier == "query":
            token = events.query_param(event, query_parameter)
        elif carrier == "protocol":
            value = events.header(event, "Sec-WebSocket-Protocol")
            if value:
                offered = [p.strip() for p in value.split(",")]
                token = next((p for p in offered if p and p != subprotocol), None)
        if token:
            if len(token.encode()) > MAX_TOKEN_BYTES:
                raise AuthError(f"token longer than {MAX_TOKEN_BYTES} bytes")
            return token
    raise AuthError("no token in any configured carrier")


@dataclass(frozen=True)
class VerifierConfig:
    algorithms: tuple[str, ...]
    issuer: str
    audience: tuple[str, ...]
    leeway_seconds: int = DEFAULT_LEEWAY_SECONDS
    jwks_url: str | None = None
    jwks_timeout_seconds: float = 3.0
    jwks_cache_seconds: int = 300
    context_claims: tuple[str, ...] = field(default_factory=tuple)
    #: The claim listing the rooms the token may join (``jwt.rooms_claim``); None: open rooms.
    rooms_claim: str | None = None

    def __post_init__(self) -> None:
        algs = set(self.algorithms)
        if not algs or "none" in {a.lower() for a in algs}:
            raise ValueError("algorithms must be pinned and never include 'none'")
        if algs <= HMAC_ALGORITHMS:
            if self.jwks_url:
                raise ValueError("HMAC algorithms take a shared secret, not a JWKS URL")
        elif algs <= ASYMMETRIC_ALGORITHMS:
            if not self.jwks_url:
                raise ValueError("RSA/EC algorithms need a JWKS URL")
        else:
            raise ValueError("algorithms must all be HMAC or all RSA/EC, never mixed")
        if not 0 <= self.leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway must be 0-{MAX_LEEWAY_SECONDS} seconds")

    @property
    def is_hmac(self) -> bool:
        return set(self.algorithms) <= HMAC_ALGORITHMS


class Verifier:
    """Verifies tokens against one key source; safe to keep for the container's lifetime.

    ``secret_loader`` returns the HMAC secret (read from SSM Parameter Store and cached for
    ``secret_cache_seconds`` so that a rotation is picked up without a redeploy).
    """

    def __init__(
        self,
        config: VerifierConfig,
        secret_loader: Callable[[], str] | None = None,
        secret_cache_seconds: float = 300.0,
    ) -> None:
        self.config = config
        self._secret_loader = secret_loader
        self._secret_cache_seconds = secret_cache_seconds
        self._secret: tuple[float, str] | None = None
        self._jwks: jwt.PyJWKClient | None = None
        if config.is_hmac and secret_loader is None:
            raise ValueError("HMAC verification needs a secret loader")

    def _hmac_key(self) -> str:
        now = time.monotonic()
        if self._secret is None or now - self._secret[0] > self._secret_cache_seconds:
            assert self._secret_loader is not None
            self._secret = (now, self._secret_loader())
        return self._secret[1]

    def _jwks_key(self, token: str) -> Any:
        if self._jwks is None:
            assert self.config.jwks_url is not None
            # PyJWT's default fetch timeout (30 s) outlives API Gateway's 29 s integration
            # limit; keep it short and cache the key set.
            self._jwks = jwt.PyJWKClient(
                self.config.jwks_url,
                cache_keys=True,
                lifespan=self.config.jwks_cache_seconds,
                timeout=self.config.jwks_timeout_seconds,
            )
        try:
            return self._jwks.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as exc:
            raise AuthError(f"signing key not found: {type(exc).__name__}") from exc

    def verify(self, token: str) -> dict[str, Any]:
        """Return the verified claims or raise :class:`AuthError` with a log-safe reason."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"malformed token: {type(exc).__name__}") from exc
        for name in _FORBIDDEN_HEADERS:
            if name in header:
                raise AuthError(f"token header {name!r} is not accepted")
        if header.get("alg") not in self.config.algorithms:
            raise AuthError("token algorithm is not one of the configured algorithms")
        kid = header.get("kid")
        if kid is not None and (not isinstance(kid, str) or not _KID.fullmatch(kid) or ".." in kid):
            raise AuthError("token kid has invalid characters")
        key = self._hmac_key() if self.config.is_hmac else self._jwks_key(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.config.algorithms),
                audience=list(self.config.audience),
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {type(exc).__name__}") from exc
        iat = claims.get("iat")
        if isinstance(iat, int | float) and iat > time.time() + self.config.leeway_seconds:
            raise AuthError("invalid token: ImmatureSignatureError (iat in the future)")
        return claims

    def context(self, claims: Mapping[str, Any]) -> dict[str, str | int | bool]:
        """The authorizer context: ``sub`` plus configured claims that are scalars, the
        token's ``exp`` (:data:`TOKEN_EXPIRES_CONTEXT_KEY`), plus the room grants when
        ``rooms_claim`` is configured.

        API Gateway accepts only string, number and boolean context values, so the grants
        travel as one JSON string (:func:`rooms.encode`), bounded in size; a missing or
        malformed rooms claim is an empty list: the token may join no room.
        """
        ctx: dict[str, str | int | bool] = {"sub": str(claims["sub"])}
        for name in self.config.context_claims:
            value = claims.get(name)
            if isinstance(value, str | int | bool) and name not in _RESERVED_CONTEXT_KEYS:
                ctx[name] = value
        ctx[TOKEN_EXPIRES_CONTEXT_KEY] = int(claims["exp"])  # verify() requires exp
        if self.config.rooms_claim:
            ctx[ROOM_GRANTS_CONTEXT_KEY] = rooms.encode(self.room_grants(claims)[0])
        return ctx

    def room_grants(self, claims: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None]:
        """The rooms claim's grants, and why it grants nothing when it is missing or
        malformed (a log-safe reason that holds no claim value)."""
        if not self.config.rooms_claim:
            return (), "rooms_claim is not configured"
        try:
            return rooms.parse_claim(claims.get(self.config.rooms_claim)), None
        except ValueError as exc:
            return (), str(exc)
