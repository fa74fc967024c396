"""Development tokens: signed with the secret the local runtime gives the authorizer."""

from __future__ import annotations

import copy

import jwt
import pytest

from realtime_socket.contract import Env
from realtime_socket.local import devtokens
from realtime_socket.local.model import LocalModel, build
from realtime_socket.tools.stack_files import DEV_JWT_SECRET
from tests.support.helpers import AUDIENCE, ISSUER, SECRET


@pytest.fixture
def model(chat_recording) -> LocalModel:
    return copy.deepcopy(build(chat_recording))


def _authorizer_env(model: LocalModel) -> dict[str, str]:
    authorizer = model.apis["chat"].connect_authorizer
    assert authorizer is not None
    return authorizer.function.environment


def test_a_declared_secret_parameter_signs_the_token(model):
    """The program's own secret, with its issuer, audience and the claims asked for."""
    token = devtokens.mint(model, "chat", sub="ann", claims={"name": "Ann"})
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)
    assert (claims["sub"], claims["name"]) == ("ann", "Ann")
    assert claims["exp"] - claims["iat"] == 3600


def test_a_parameter_the_program_does_not_create_gets_the_stand_in(model):
    """Like the runtime's seeded parameter, the token uses the development secret."""
    _authorizer_env(model)[Env.JWT_SECRET_PARAMETER] = "/existing/on/aws"
    token = devtokens.mint(model, "chat")
    jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"], audience=AUDIENCE)


def test_jwks_stacks_need_their_identity_providers_tokens(model):
    """No local signing key exists for a JWKS URL."""
    _authorizer_env(model)[Env.JWT_JWKS_URL] = "https://idp.example.com/jwks.json"
    with pytest.raises(devtokens.TokenError, match=r"idp\.example\.com"):
        devtokens.mint(model, "chat")


def test_unknown_namespace_and_no_authorizer_are_explained(model):
    """The error names what exists, or says to connect without a token."""
    with pytest.raises(devtokens.TokenError, match="namespaces: chat"):
        devtokens.mint(model, "nope")
    model.apis["chat"].routes["$connect"].authorizer = None
    with pytest.raises(devtokens.TokenError, match="has no authorizer"):
        devtokens.mint(model)
