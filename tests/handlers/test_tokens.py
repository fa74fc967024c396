"""tokens.py: every carrier, every refusal, pinned algorithms, JWKS on loopback.

The matrix goes through the authorizer's entry point (tests/handlers/auth_harness.py), so
each refusal is the ``Unauthorized`` API Gateway answers with 401; the last tests call the
verifier directly.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from realtime_socket.contract import MAX_TOKEN_BYTES, Env
from realtime_socket.handlers import tokens
from realtime_socket.handlers.errors import AuthError
from tests.handlers.auth_harness import assert_unauthorized, authorize, event_with, hmac_verifier
from tests.support.helpers import AUDIENCE, ISSUER, SECRET, mint

# -- carriers -----------------------------------------------------------------------------


def test_bearer_header_carrier():
    answer = authorize(event_with(headers={"authorization": f"Bearer {mint()}"}))
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_subprotocol_carrier():
    answer = authorize(event_with(headers={"Sec-WebSocket-Protocol": f"realtime-socket, {mint()}"}))
    assert answer["principalId"] == "alice"


@pytest.mark.parametrize(
    ("carriers", "query", "headers"),
    [
        ("header", {"token": "T"}, {}),
        ("query", {}, {"Authorization": "Bearer T"}),
        ("query", {}, {"Sec-WebSocket-Protocol": "realtime-socket, T"}),
        ("protocol", {"token": "T"}, {}),
    ],
)
def test_token_in_a_carrier_that_is_not_configured_is_refused(carriers, query, headers):
    token = mint()
    query = {k: token for k in query}
    headers = {k: v.replace("T", token) for k, v in headers.items()}
    assert_unauthorized(event_with(query, headers), env={Env.JWT_CARRIERS: carriers})


def test_missing_token_is_refused():
    assert_unauthorized(event_with())


def test_authorization_header_without_bearer_scheme_is_refused():
    assert_unauthorized(
        event_with(headers={"Authorization": mint()}), env={Env.JWT_CARRIERS: "header"}
    )


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 60},
        {"iss": "https://evil.example.com/"},
        {"aud": "someone-else"},
        {"aud": None},
        {"sub": None},
        {"exp": None},
        {"iss": None},
        {"nbf": int(time.time()) + 600},
        {"iat": int(time.time()) + 600},
    ],
    ids=["expired", "wrong-iss", "wrong-aud", "no-aud", "no-sub", "no-exp", "no-iss", "nbf", "iat"],
)
def test_invalid_claims_are_refused(claims):
    assert_unauthorized(event_with({"token": mint(**claims)}))


def test_expiry_within_leeway_is_accepted_but_not_beyond():
    verifier = hmac_verifier(leeway_seconds=5)
    authorize(event_with({"token": mint(exp=int(time.time()) - 2)}), verifier)
    assert_unauthorized(event_with({"token": mint(exp=int(time.time()) - 30)}), verifier)


def test_bad_signature_is_refused():
    assert_unauthorized(event_with({"token": mint(key="another-secret-" * 4)}))


def test_tampered_payload_is_refused():
    header, payload, signature = mint().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_unauthorized(event_with({"token": f"{header}.{forged}.{signature}"}))


def test_alg_none_is_refused():
    unsigned = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "exp": int(time.time()) + 60},
        None,
        algorithm="none",
    )
    assert_unauthorized(event_with({"token": unsigned}))


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk"])
def test_key_location_headers_are_refused_without_fetching(header):
    token = mint(headers={header: "https://evil.example.com/keys"})
    assert_unauthorized(event_with({"token": token}))


@pytest.mark.parametrize("kid", ["../../etc/passwd", "a;rm -rf /", "k\u0000", "x" * 300, "rsa-1\n"])
def test_malicious_kid_is_refused(kid):
    assert_unauthorized(event_with({"token": mint(headers={"kid": kid})}))


def test_oversized_token_is_refused_before_parsing(lambda_log):
    """Over the contract's limit is refused for its size, before PyJWT sees it."""
    assert_unauthorized(event_with({"token": mint(pad="x" * MAX_TOKEN_BYTES)}))
    assert lambda_log.events()[-1]["reason"] == f"token longer than {MAX_TOKEN_BYTES} bytes"


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "!!!.@@@.###", "e30.e30."])
def test_garbage_is_refused(garbage):
    assert_unauthorized(event_with({"token": garbage}))


# -- configuration rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithms", "jwks"),
    [
        (("none",), None),
        ((), None),
        (("HS256", "RS256"), "https://x/jwks"),
        (("HS256",), "https://x/jwks"),
        (("RS256",), None),
    ],
)
def test_unsafe_verifier_configurations_are_rejected(algorithms, jwks):
    with pytest.raises(ValueError):
        tokens.VerifierConfig(
            algorithms=algorithms, issuer=ISSUER, audience=(AUDIENCE,), jwks_url=jwks
        )


def test_leeway_is_capped():
    with pytest.raises(ValueError, match="leeway"):
        tokens.VerifierConfig(
            algorithms=("HS256",), issuer=ISSUER, audience=(AUDIENCE,), leeway_seconds=300
        )


# -- RSA / EC through a JWKS endpoint on loopback -----------------------------------------


class _Jwks:
    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        self.keys = [
            {**rsa_jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"},
            {**ec_jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"},
        ]
        self.fetches = 0

    def public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture
def jwks() -> Iterator[tuple[_Jwks, str]]:
    state = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


def jwks_verifier(url: str, algorithms=("RS256", "ES256")) -> tokens.Verifier:
    return tokens.Verifier(
        tokens.VerifierConfig(
            algorithms=algorithms, issuer=ISSUER, audience=(AUDIENCE,), jwks_url=url
        )
    )


def test_rs256_and_es256_tokens_verify_against_jwks_with_caching(jwks):
    state, url = jwks
    verifier = jwks_verifier(url)
    rs = mint(key=state.rsa, algorithm="RS256", headers={"kid": "rsa-1"})
    es = mint(key=state.ec, algorithm="ES256", headers={"kid": "ec-1"})
    for token in (rs, es, rs):
        assert authorize(event_with({"token": token}), verifier)["principalId"] == "alice"
    assert state.fetches == 1


def test_hs256_signed_with_the_rsa_public_key_is_refused(jwks):
    state, url = jwks
    forged = jwt.api_jws.PyJWS(algorithms=["HS256"]).encode(  # PyJWT refuses PEM keys for HS256
        json.dumps(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "admin", "exp": int(time.time()) + 60}
        ).encode(),
        key=b"placeholder",
        algorithm="HS256",
        headers={"kid": "rsa-1"},
    )
    # Re-sign by hand with the public PEM as the HMAC secret: the classic key-confusion attack.
    import hashlib
    import hmac

    signing_input = forged.rsplit(".", 1)[0].encode()
    mac = hmac.new(state.public_pem(), signing_input, hashlib.sha256).digest()
    forged = f"{signing_input.decode()}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert_unauthorized(event_with({"token": forged}), jwks_verifier(url))


def test_unknown_kid_is_refused(jwks):
    state, url = jwks
    token = mint(key=state.rsa, algorithm="RS256", headers={"kid": "rotated-away"})
    assert_unauthorized(event_with({"token": token}), jwks_verifier(url))


def test_unreachable_jwks_is_refused_quickly():
    verifier = tokens.Verifier(
        tokens.VerifierConfig(
            algorithms=("RS256",),
            issuer=ISSUER,
            audience=(AUDIENCE,),
            jwks_url="http://127.0.0.1:9/jwks.json",
            jwks_timeout_seconds=0.5,
        )
    )
    started = time.monotonic()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = mint(key=key, algorithm="RS256", headers={"kid": "k"})
    assert_unauthorized(event_with({"token": token}), verifier)
    assert time.monotonic() - started < 5


# -- the verifier and extract_token, called directly ---------------------------------------


def test_the_first_configured_carrier_that_holds_a_token_wins():
    """With a token in two carriers, the configured order decides which one is read."""
    event = event_with({"token": "from-query"}, {"Authorization": "Bearer from-header"})
    assert tokens.extract_token(event, ("header", "query")) == "from-header"
    assert tokens.extract_token(event, ("query", "header")) == "from-query"


def test_context_keeps_only_the_configured_claims_that_are_scalars():
    """API Gateway refuses lists and objects in a context: configured or not, they are left out."""
    verifier = hmac_verifier(
        context_claims=("name", "roles", "age", "admin", "profile", "tokenExpires")
    )
    claims = {
        "sub": "alice",
        "exp": 2_000_000_000,
        "name": "Alice",
        "roles": ["x"],
        "age": 30,
        "admin": False,
        "profile": {"a": 1},
        "email": "alice@example.com",
        "tokenExpires": 9_999_999_999,  # a claim cannot stretch the connection's life
    }
    assert verifier.context(claims) == {
        "sub": "alice",
        "name": "Alice",
        "age": 30,
        "admin": False,
        "tokenExpires": 2_000_000_000,
    }


def test_an_hmac_verifier_without_a_secret_loader_is_refused():
    """An HMAC configuration with no way to read its secret fails at construction."""
    config = tokens.VerifierConfig(algorithms=("HS256",), issuer=ISSUER, audience=(AUDIENCE,))
    with pytest.raises(ValueError, match="secret loader"):
        tokens.Verifier(config)


def test_a_rotated_secret_is_picked_up_once_the_cache_expires(monkeypatch):
    """The secret is cached for its lifetime, then read again, so a rotation needs no redeploy."""
    clock = [1000.0]
    monkeypatch.setattr(tokens, "time", SimpleNamespace(monotonic=lambda: clock[0], time=time.time))
    secrets = [SECRET]
    config = tokens.VerifierConfig(algorithms=("HS256",), issuer=ISSUER, audience=(AUDIENCE,))
    verifier = tokens.Verifier(config, secret_loader=lambda: secrets[0], secret_cache_seconds=300)
    assert verifier.verify(mint())["sub"] == "alice"
    rotated = "rotated-secret-" * 4
    secrets[0] = rotated
    with pytest.raises(AuthError, match="InvalidSignatureError"):
        verifier.verify(mint(key=rotated))  # still the cached secret
    clock[0] += 301
    assert verifier.verify(mint(key=rotated))["sub"] == "alice"
