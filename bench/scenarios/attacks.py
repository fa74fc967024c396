"""Hostile tokens, refused by the authorizer: the end-to-end attack matrix in the tests and
bench/authorizer.py use them.

Apart from its one flaw each is minted like ``bench.scenarios.tokens.mint`` (same secret,
issuer and audience), so a verifier configured with those refuses it for that flaw alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.scenarios.tokens import AUDIENCE, ISSUER, mint

_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**extra: object) -> dict[str, object]:
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "mallory",
        "exp": int(time.time()) + 300,
        **extra,
    }


def hs256_with_rsa_public_key() -> str:
    """The key-confusion attack: HMAC-sign with the (public) RSA key as the secret."""
    pem = _RSA.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}." + _b64(
        json.dumps(_claims()).encode()
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def tampered() -> str:
    header, _, signature = mint().split(".")
    return f"{header}.{_b64(json.dumps(_claims(sub='admin')).encode())}.{signature}"


def attack_tokens(elsewhere: str) -> dict[str, str]:
    """Every token here must be refused with 401; ``elsewhere`` is a URL that must never
    be fetched (a jku/x5u target)."""
    now = int(time.time())
    return {
        "alg-none": jwt.encode(_claims(), None, algorithm="none"),
        "hs256-signed-with-rsa-public-key": hs256_with_rsa_public_key(),
        "tampered-payload": tampered(),
        "expired": mint(exp=now - 60),
        "nbf-in-future": mint(nbf=now + 600),
        "iat-in-future": mint(iat=now + 600),
        "wrong-iss": mint(iss="https://evil.example.com/"),
        "wrong-aud": mint(aud="someone-else"),
        "missing-aud": mint(aud=None),
        "missing-sub": mint(sub=None),
        "missing-exp": mint(exp=None),
        "kid-path-traversal": mint(headers={"kid": "../../../../etc/passwd"}),
        "kid-injection": mint(headers={"kid": "x' OR '1'='1"}),
        "jku-elsewhere": mint(headers={"jku": elsewhere}),
        "x5u-elsewhere": mint(headers={"x5u": elsewhere}),
        "embedded-jwk": mint(headers={"jwk": {"kty": "oct", "k": _b64(b"attacker-key" * 4)}}),
        "over-8-kb": mint(padding="x" * 9000),
        "garbage-base64": "!!!.@@@.###",
        "two-segments": "eyJhbGciOiJIUzI1NiJ9.e30",
        "empty-signature": mint().rsplit(".", 1)[0] + ".",
        "rs256-with-unknown-key": jwt.encode(_claims(), _RSA, algorithm="RS256"),
    }
