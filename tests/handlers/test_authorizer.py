"""The $connect authorizer: every carrier, every refusal, pinned algorithms, JWKS on loopback."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from moto import mock_aws

from realtime_socket.contract import DEFAULT_CARRIERS, MAX_TOKEN_BYTES, Env
from realtime_socket.handlers import authorizer, clients, tokens
from tests.support.helpers import AUDIENCE, ISSUER, SECRET, load_event, mint

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


# -- success and carriers ----------------------------------------------------------------


def test_valid_token_in_query_is_allowed_with_context():
    answer = authorize(event_with({"token": mint(name="Alice", role=["x"])}))
    assert answer["principalId"] == "alice"
    statement = answer["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/live/$connect",
    }
    # configured scalar claims only; API Gateway refuses non-scalar context values
    assert answer["context"] == {"sub": "alice", "name": "Alice"}


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


def test_without_carriers_configured_only_the_contracts_default_is_read():
    """The fallback is the component's default (query only), never a wider set."""
    assert authorizer.carriers({}) == DEFAULT_CARRIERS == ("query",)
    assert authorize(event_with({"token": mint()}), env={})["principalId"] == "alice"
    assert_unauthorized(event_with(headers={"Authorization": f"Bearer {mint()}"}), env={})


def test_missing_token_is_refused():
    assert_unauthorized(event_with())


def test_authorization_header_without_bearer_scheme_is_refused():
    assert_unauthorized(
        event_with(headers={"Authorization": mint()}), env={Env.JWT_CARRIERS: "header"}
    )


# -- refusals ------------------------------------------------------------------------------


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


@pytest.mark.parametrize("kid", ["../../etc/passwd", "a;rm -rf /", "k\u0000", "x" * 300])
def test_malicious_kid_is_refused(kid):
    assert_unauthorized(event_with({"token": mint(headers={"kid": kid})}))


def test_oversized_token_is_refused_before_parsing(lambda_log):
    """Over the contract's limit is refused for its size, before PyJWT sees it."""
    assert_unauthorized(event_with({"token": mint(pad="x" * MAX_TOKEN_BYTES)}))
    assert lambda_log.events()[-1]["reason"] == f"token longer than {MAX_TOKEN_BYTES} bytes"


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "!!!.@@@.###", "e30.e30."])
def test_garbage_is_refused(garbage):
    assert_unauthorized(event_with({"token": garbage}))


def test_overlong_sub_is_denied_with_403_policy():
    answer = authorize(event_with({"token": mint(sub="u" * 300)}))
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in answer


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
