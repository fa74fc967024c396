"""A user's own unit tests: the component evaluates under the generic mocks of Pulumi's guide.

https://www.pulumi.com/docs/using-pulumi/testing/unit/ teaches mocks that echo inputs and
answer every invoke with nothing, so no ARN, endpoint or account id ever resolves. Every
resource must still be declared, and every policy still built, with the same statements
and actions as with AWS-shaped answers; only the resources the mocks never named are absent.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from realtime_socket import AccountLogging, RealtimeSocket
from realtime_socket.component.args import BUILTIN_ROUTES
from realtime_socket.tools.recording import evaluate
from tests.support.helpers import jwt_args, socket_program
from tests.support.recorded_socket import ROUTES


class MyMocks(pulumi.runtime.Mocks):
    """Verbatim from Pulumi's unit-testing guide."""

    def new_resource(self, args):
        return [args.name + "_id", args.inputs]

    def call(self, args):
        return {}


#: The dev stack's shape (Pulumi.dev.yaml): shared defaults, two namespaces; telemetry reads
#: its secret from an existing SSM parameter (the invokes) and both sit on one domain.
DEFAULTS: dict[str, Any] = {
    "stage_name": "live",
    "functions": {"architecture": "arm64", "memory_mb": 256, "timeout_seconds": 10},
}
CHAT: dict[str, Any] = {
    **DEFAULTS,
    "jwt": jwt_args(context_claims=["name"]),
    "throttling": {"burst_limit": 200, "rate_limit": 500},
    "domain": {"name": "ws.example.com", "hosted_zone_id": "Z0123456789", "mapping_key": "chat"},
}
TELEMETRY: dict[str, Any] = {
    **DEFAULTS,
    "jwt": {
        **{k: v for k, v in jwt_args(rooms_claim="rooms").items() if k != "secret"},
        "secret_parameter_name": "/shared/telemetry/jwt-secret",
    },
    "logging_level": "INFO",
    "presence": {"events": False},
    "mapping": {"domain_name": "ws.example.com", "mapping_key": "telemetry"},
}


def _evaluate(namespaces: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Run a stack program (as ``__main__.py`` does) under MyMocks, as Pulumi's guide does:
    ``set_mocks`` then a ``@pulumi.runtime.test`` function. Returns the mock monitor's
    registrations by URN (what MyMocks answered for each resource)."""
    monitor = MockMonitor(MyMocks())
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="shop", stack="test", monitor=monitor)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        logging = AccountLogging("apigateway-account-logging")
        urls = []
        for name, args in namespaces.items():
            options = pulumi.ResourceOptions(depends_on=[logging])
            urls.append(RealtimeSocket(name, args, options).url)  # type: ignore[arg-type]
        return pulumi.Output.all(*urls)

    program()
    return dict(monitor.resources)


def _type(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def _name(urn: str) -> str:
    return urn.split("::")[3]


@pytest.fixture(scope="module")
def one() -> dict[str, Any]:
    return _evaluate({"chat": CHAT})


@pytest.fixture(scope="module")
def two() -> dict[str, Any]:
    return _evaluate({"chat": CHAT, "telemetry": TELEMETRY})


def _counts(resources: dict[str, Any], namespace: str) -> Counter[str]:
    return Counter(_type(urn) for urn in resources if _name(urn).startswith(f"{namespace}-"))


#: What one namespace declares: a function, role, policy and log group per route, for the
#: authorizer and for the fan-out worker, an integration, route and permission per route, ...
PER_NAMESPACE = {
    "aws:apigatewayv2/api:Api": 1,
    "aws:apigatewayv2/route:Route": len(BUILTIN_ROUTES),
    "aws:apigatewayv2/integration:Integration": len(BUILTIN_ROUTES),
    "aws:lambda/function:Function": len(BUILTIN_ROUTES) + 2,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 1,
    "aws:iam/role:Role": len(BUILTIN_ROUTES) + 2,
    "aws:iam/rolePolicy:RolePolicy": len(BUILTIN_ROUTES) + 2,
    "aws:lambda/permission:Permission": len(BUILTIN_ROUTES) + 1,
    "aws:cloudwatch/logGroup:LogGroup": len(BUILTIN_ROUTES) + 3,
    "aws:apigatewayv2/authorizer:Authorizer": 1,
    "aws:apigatewayv2/deployment:Deployment": 1,
    "aws:apigatewayv2/stage:Stage": 1,
    "aws:dynamodb/table:Table": 2,
    "aws:apigatewayv2/apiMapping:ApiMapping": 1,
    "aws:cloudwatch/dashboard:Dashboard": 1,  # on by default; alarms are not
}


def test_one_namespace_declares_every_resource(one):
    """GIVEN MyMocks WHEN a stack declares chat THEN every part of it is declared, the
    domain's certificate and records included."""
    counts = _counts(one, "chat")
    assert {t: counts[t] for t in PER_NAMESPACE} == PER_NAMESPACE
    assert counts["aws:ssm/parameter:Parameter"] == 1
    for domain_part in ("certificate:Certificate", "record:Record", "domainName:DomainName"):
        assert any(t.endswith(domain_part) for t in counts), domain_part


def test_two_namespaces_each_get_a_route_per_route_key(two):
    """Each namespace has its own route for every route key, on its own API."""
    for namespace in ("chat", "telemetry"):
        keys = [
            registration.state["routeKey"]
            for urn, registration in two.items()
            if _type(urn) == "aws:apigatewayv2/route:Route" and _name(urn).startswith(namespace)
        ]
        assert sorted(keys) == sorted(BUILTIN_ROUTES)
        counts = _counts(two, namespace)
        assert {t: counts[t] for t in PER_NAMESPACE} == PER_NAMESPACE
    # telemetry's secret is an existing parameter: nothing created for it.
    assert _counts(two, "telemetry")["aws:ssm/parameter:Parameter"] == 0


def _policies(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every IAM policy document MyMocks was given, parsed, by logical name."""
    return {
        _name(urn): json.loads(r.state["policy"])
        for urn, r in resources.items()
        if _type(urn) == "aws:iam/rolePolicy:RolePolicy"
    }


def _actions(document: dict[str, Any]) -> list[list[str]]:
    return [statement["Action"] for statement in document["Statement"]]


def test_policies_have_the_same_statements_and_actions_as_with_aws_answers(two):
    """Each document is JSON with exactly the statements and actions it has when AWS answers
    (the project's own mocks); a statement whose ARN never resolved names no resource, never
    a ``None...`` ARN or a wildcard."""
    generic = _policies(two)
    real = evaluate(socket_program("chat", **{k: v for k, v in CHAT.items() if k != "jwt"}),
                    project="shop", stack="test")  # fmt: skip
    assert {f"chat-{fragment}-policy" for fragment in ROUTES.values()} <= set(generic)
    for name, document in generic.items():
        resources = [r for s in document["Statement"] for r in s["Resource"]]
        assert resources == [], name
        if name.startswith("chat-"):
            expected = json.loads(real.named(name).inputs["policy"])
            assert _actions(document) == _actions(expected), name
    assert ["ssm:GetParameter"] in _actions(generic["chat-authorizer-policy"])
    assert ["ssm:GetParameter"] in _actions(generic["telemetry-authorizer-policy"])
    assert ["execute-api:ManageConnections"] in _actions(generic["telemetry-sendmessage-policy"])
    assert "logs:CreateLogGroup" in _actions(generic["apigateway-account-logging-policy"])[0]


def test_outputs_that_aws_always_gives_resolve_to_none_not_to_a_broken_string(two):
    """The url and the permissions' source ARNs are built from outputs MyMocks never gives:
    they stay unset rather than read ``None/live``."""
    permissions = [r.state for urn, r in two.items() if _type(urn).endswith("Permission")]
    assert permissions
    assert all("sourceArn" not in state for state in permissions)
    assert not any("None" in json.dumps(r.state, default=str) for r in two.values())
