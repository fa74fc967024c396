"""The ``$connect`` authorizer: identity sources, and the policy it returns.

API Gateway answers 401 without invoking a REQUEST authorizer when an identity source is
missing or empty; an ``Unauthorized`` error is 401, a policy that denies (or does not
cover) the method is 403, and anything else that goes wrong is 500. See
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["AuthorizerDecision", "authorizer_decision", "missing_identity_source"]

_HEADER = "route.request.header."
_QUERY = "route.request.querystring."


def missing_identity_source(
    sources: Sequence[str], headers: Sequence[tuple[str, str]], query: Sequence[tuple[str, str]]
) -> str | None:
    """The first identity source absent or empty in the request, else None."""
    header_values = {k.lower(): v for k, v in headers}
    query_values = dict(query)
    for source in sources:
        if source.startswith(_HEADER):
            value = header_values.get(source.removeprefix(_HEADER).lower())
        elif source.startswith(_QUERY):
            value = query_values.get(source.removeprefix(_QUERY))
        else:
            continue  # context and stage variables are always present
        if not value:
            return source
    return None


@dataclass(frozen=True)
class AuthorizerDecision:
    """200 to continue the handshake (with the identity), else the handshake's status."""

    status: int
    principal_id: str | None = None
    context: Mapping[str, Any] | None = None


def authorizer_decision(
    result: Any, error: Mapping[str, Any] | None, method_arn: str
) -> AuthorizerDecision:
    """Read an authorizer's outcome as API Gateway does."""
    if error is not None:
        return AuthorizerDecision(401 if error.get("errorMessage") == "Unauthorized" else 500)
    if not isinstance(result, Mapping) or "policyDocument" not in result:
        return AuthorizerDecision(500)
    statements = result["policyDocument"].get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed = False
    for statement in statements:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        covers = any(fnmatch.fnmatchcase(method_arn, str(r)) for r in resources)
        if covers and statement.get("Effect") == "Deny":
            return AuthorizerDecision(403)  # an explicit Deny wins over any Allow
        if covers and statement.get("Effect") == "Allow":
            allowed = True
    if not allowed:
        return AuthorizerDecision(403)
    context = dict(result.get("context") or {})
    return AuthorizerDecision(200, str(result.get("principalId", "")), context)
