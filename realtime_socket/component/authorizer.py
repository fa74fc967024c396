"""The ``$connect`` authorizer: a REQUEST Lambda authorizer that verifies the JWT.

An HMAC secret given as a value is stored in SSM as a SecureString and read by the function
at cold start; it never travels in an environment variable.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from realtime_socket.component import packaging, policies
from realtime_socket.component.args import ResolvedArgs, ResolvedJwt
from realtime_socket.component.function import (
    Function,
    FunctionSpec,
    PolicyTargets,
    allow_api_gateway,
    concat_known,
)
from realtime_socket.component.scope import Scope
from realtime_socket.contract import Env

__all__ = ["HANDLER", "build_authorizer", "identity_sources"]

HANDLER = "realtime_socket.handlers.authorizer.handler"


def identity_sources(carriers: tuple[str, ...], query_parameter: str) -> list[str]:
    """The authorizer's identity sources for the configured token carriers.

    API Gateway answers 401 without invoking the authorizer when *any* identity source is
    missing, so several carriers cannot all be listed: then the ``Host`` header (present
    on every handshake) is the source and the authorizer itself refuses a missing token.
    """
    source = {
        "header": "route.request.header.Authorization",
        "query": f"route.request.querystring.{query_parameter}",
        "protocol": "route.request.header.Sec-WebSocket-Protocol",
    }
    if len(carriers) == 1:
        return [source[carriers[0]]]
    return ["route.request.header.Host"]


def _environment(jwt: ResolvedJwt) -> dict[str, pulumi.Input[str]]:
    """How to verify a token, as the authorizer reads it (key source excepted)."""
    return {
        Env.JWT_ALGORITHMS: ",".join(jwt.algorithms),
        Env.JWT_ISSUER: jwt.issuer,
        Env.JWT_AUDIENCE: ",".join(jwt.audience),
        Env.JWT_CARRIERS: ",".join(jwt.carriers),
        Env.JWT_QUERY_PARAMETER: jwt.query_parameter,
        Env.JWT_CONTEXT_CLAIMS: ",".join(jwt.context_claims),
        Env.JWT_ROOMS_CLAIM: jwt.rooms_claim or "",
        Env.JWT_LEEWAY_SECONDS: str(jwt.leeway_seconds),
    }


def _key_source(
    scope: Scope, jwt: ResolvedJwt
) -> tuple[dict[str, pulumi.Input[str]], pulumi.Output[str] | None]:
    """Where the verification key comes from: its environment and the SSM ARN to grant."""
    if jwt.jwks_url:
        return {Env.JWT_JWKS_URL: jwt.jwks_url}, None
    if jwt.secret is not None:
        parameter = aws.ssm.Parameter(
            f"{scope.name}-jwt-secret",
            name=scope.path("jwt-secret"),
            type="SecureString",
            value=pulumi.Output.secret(jwt.secret),
            description=f"HS256 secret of the realtime-socket {scope.name} authorizer",
            tags=scope.tags,
            opts=scope.opts(),
        )
        return {Env.JWT_SECRET_PARAMETER: parameter.name}, parameter.arn
    assert jwt.secret_parameter_name
    invoke = scope.invoke_opts()
    arn = concat_known(
        "arn:", aws.get_partition_output(opts=invoke).partition,
        ":ssm:", aws.get_region_output(opts=invoke).region,
        ":", aws.get_caller_identity_output(opts=invoke).account_id,
        ":parameter", jwt.secret_parameter_name,
    )  # fmt: skip
    return {Env.JWT_SECRET_PARAMETER: jwt.secret_parameter_name}, arn


def build_authorizer(
    scope: Scope, cfg: ResolvedArgs, api: aws.apigatewayv2.Api, targets: PolicyTargets
) -> aws.apigatewayv2.Authorizer:
    """The authorizer function (PyJWT, and cryptography for JWKS), the authorizer and the
    permission that lets this API, and only it, invoke the function."""
    jwt = cfg.jwt
    key_environment, parameter_arn = _key_source(scope, jwt)
    requirements = packaging.HMAC_REQUIREMENTS if jwt.is_hmac else packaging.JWKS_REQUIREMENTS
    code = packaging.code_archive(
        packaging.handler_files(),
        packaging.dependency_dir(requirements, cfg.functions.architecture, cfg.functions.runtime),
    )
    spec = FunctionSpec(
        fragment="authorizer",
        handler=HANDLER,
        code=code,
        grants=policies.PARAMETER_GRANTS if parameter_arn is not None else policies.Grants(),
        environment={**_environment(jwt), **key_environment},
        ssm_parameter_arn=parameter_arn,
    )
    function = Function(scope, spec, cfg.functions, targets)
    authorizer = aws.apigatewayv2.Authorizer(
        f"{scope.name}-authorizer",
        api_id=api.id,
        authorizer_type="REQUEST",
        authorizer_uri=function.invoke_arn,
        identity_sources=identity_sources(jwt.carriers, jwt.query_parameter),
        name=f"{scope.name}-jwt",
        opts=scope.opts(),
    )
    allow_api_gateway(
        scope,
        f"{scope.name}-authorizer-permission",
        function,
        concat_known(api.execution_arn, "/authorizers/", authorizer.id),
    )
    return authorizer
