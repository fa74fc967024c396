"""Arguments are validated before any resource exists, with every problem in one error."""

from __future__ import annotations

import pulumi
import pytest

from realtime_socket import contract
from realtime_socket.component.args import resolve
from tests.support.helpers import evaluate_socket, jwt_args


def problems(name: str = "chat", **args) -> dict[str, str]:
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        resolve(name, {"jwt": jwt_args(), **args})
    errors = caught.value.errors or []
    assert str(len(errors)) in caught.value.message
    for error in errors:
        assert error["property_path"] in caught.value.message
    return {e["property_path"]: e["reason"] for e in errors}


def test_defaults_are_valid():
    resolved = resolve("chat", {"jwt": jwt_args()})
    assert resolved.stage_name == "live"
    assert [r.key for r in resolved.routes] == [
        "$connect",
        "$disconnect",
        "$default",
        "sendmessage",
        "history",  # replay after a reconnect: one-way, frames by POST
        "members",  # who is in a room: a reply route
        "subscribe",  # several rooms per connection: two built-in reply routes
        "unsubscribe",
        "reply",  # a device's answer to a server request: one-way, errors by POST
        "ping",
    ]
    assert resolved.jwt.carriers == contract.DEFAULT_CARRIERS
    assert resolved.jwt.algorithms == contract.DEFAULT_ALGORITHMS
    assert (resolved.throttling.burst_limit, resolved.throttling.rate_limit) == (500, 1000)
    assert resolved.limits.messages_per_second == contract.DEFAULT_MESSAGES_PER_SECOND
    assert resolved.limits.message_burst == contract.DEFAULT_MESSAGE_BURST
    assert resolved.functions.fanout_concurrency == contract.DEFAULT_FANOUT_CONCURRENCY
    assert resolved.table.point_in_time_recovery is True


def test_every_problem_is_reported_at_once():
    found = problems(
        "Bad Name!",
        stage_name="no spaces",
        throttling={"burst_limit": -1, "rate_limit": 20000},
        logging_level="DEBUG",
        functions={"architecture": "sparc", "memory_mb": 64, "timeout_seconds": 30},
    )
    assert set(found) == {
        "name",
        "stage_name",
        "throttling.burst_limit",
        "throttling.rate_limit",
        "logging_level",
        "functions.architecture",
        "functions.memory_mb",
        "functions.timeout_seconds",
    }


def test_invalid_args_create_no_resources():
    with pytest.raises(pulumi.InputPropertiesError):
        evaluate_socket("chat", stage_name="bad stage")


@pytest.mark.parametrize(
    ("jwt", "path"),
    [
        ({"algorithms": ["none"]}, "jwt.algorithms"),
        ({"algorithms": ["HS256", "RS256"]}, "jwt.algorithms"),
        ({"algorithms": ["XS999"]}, "jwt.algorithms"),
        ({"algorithms": ["RS256"]}, "jwt.jwks_url"),
        ({"jwks_url": "https://idp/jwks"}, "jwt.jwks_url"),
        ({"algorithms": ["RS256"], "jwks_url": "http://idp/jwks", "secret": None}, "jwt.jwks_url"),
        ({"secret": None}, "jwt.secret"),
        ({"secret": "short"}, "jwt.secret"),
        ({"secret_parameter_name": "no-slash"}, "jwt.secret_parameter_name"),
        ({"issuer": ""}, "jwt.issuer"),
        ({"audience": []}, "jwt.audience"),
        ({"carriers": ["cookie"]}, "jwt.carriers"),
        ({"carriers": ["query", "query"]}, "jwt.carriers"),
        ({"carriers": []}, "jwt.carriers"),
        ({"leeway_seconds": 120}, "jwt.leeway_seconds"),
        ({"context_claims": ["sub"]}, "jwt.context_claims"),
        ({"query_parameter": "a b"}, "jwt.query_parameter"),
        ({"colour": "blue"}, "jwt.colour"),
    ],
)
def test_jwt_settings(jwt, path):
    args = jwt_args(**jwt)
    args = {k: v for k, v in args.items() if v is not None}
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        resolve("chat", {"jwt": args})
    assert path in {e["property_path"] for e in caught.value.errors or []}


@pytest.mark.parametrize(
    "claim", ["", "sub", "aud", "exp", "a b", "rooms,teams", "x" * 129, 7, ["rooms"], True]
)
def test_rooms_claim_must_name_one_unregistered_claim(claim):
    """jwt.rooms_claim is one claim name: not empty, not a registered claim, not a list."""
    found = problems(jwt=jwt_args(rooms_claim=claim))
    assert set(found) == {"jwt.rooms_claim"}
    assert "claim name" in found["jwt.rooms_claim"]


@pytest.mark.parametrize("claim", ["rooms", "https://example.com/rooms", "custom:rooms", "x" * 128])
def test_rooms_claim_accepts_plain_and_namespaced_claim_names(claim):
    """Identity providers namespace custom claims (Auth0 URLs, Cognito custom:): accepted."""
    assert resolve("chat", {"jwt": jwt_args(rooms_claim=claim)}).jwt.rooms_claim == claim


def test_rooms_are_open_by_default():
    """Unset rooms_claim resolves to None: no room check, as before."""
    assert resolve("chat", {"jwt": jwt_args()}).jwt.rooms_claim is None


def test_context_claims_cannot_take_the_room_grants_key():
    """A copied claim may not shadow the grants the authorizer puts in the context."""
    found = problems(jwt=jwt_args(context_claims=["name", contract.ROOM_GRANTS_CONTEXT_KEY]))
    assert set(found) == {"jwt.context_claims"}


def test_context_claims_cannot_take_the_token_expiry_key():
    """Nor the token's exp, which decides when the connection is refused and closed."""
    found = problems(jwt=jwt_args(context_claims=[contract.TOKEN_EXPIRES_CONTEXT_KEY]))
    assert set(found) == {"jwt.context_claims"}
    allowed = resolve("chat", {"jwt": jwt_args(context_claims=["tokenExpiresSoon"])})
    assert allowed.jwt.context_claims == ("tokenExpiresSoon",)


def test_two_key_sources_are_refused():
    with pytest.raises(pulumi.InputPropertiesError, match="exactly one key source"):
        resolve("chat", {"jwt": jwt_args(secret_parameter_name="/x")})


def test_missing_jwt_is_refused():
    with pytest.raises(pulumi.InputPropertiesError, match="jwt"):
        resolve("chat", {})


@pytest.mark.parametrize(
    ("routes", "path"),
    [
        ({"$connect": {"handler": "realtime_socket.handlers.ping.handler"}}, "routes.$connect"),
        ({"$custom": {"handler": "a.b"}}, "routes.$custom"),
        ({"sendmessage": {"handler": "a.b"}}, "routes.sendmessage"),
        ({"bad key!": {"handler": "a.b"}}, "routes.bad key!"),
        ({"x": {"handler": "nodot"}}, "routes.x.handler"),
        ({"x": {"handler": "a.b", "permissions": ["admin"]}}, "routes.x.permissions"),
        ({"x": {"handler": "a.b", "environment": {"1BAD": "v"}}}, "routes.x.environment.1BAD"),
        ({"x": {"handler": "a.b", "reply": "yes"}}, "routes.x.reply"),
        ({"a.b": {"handler": "a.b"}, "a-b": {"handler": "a.b"}}, "routes.a-b"),
        ({"x": "realtime_socket.handlers.ping.handler"}, "routes.x"),
    ],
)
def test_route_settings(routes, path):
    assert path in problems(routes=routes)


def test_route_quota_is_enforced():
    routes = {f"r{i}": {"handler": "realtime_socket.handlers.ping.handler"} for i in range(296)}
    assert "routes" in problems(routes=routes)


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ({"domain": {"name": "ws.example.com"}}, "domain"),
        ({"domain": {"name": "Not A Host", "certificate_arn": "arn:aws:acm:x"}}, "domain.name"),
        (
            {"domain": {"name": "ws.example.com", "certificate_arn": "nope"}},
            "domain.certificate_arn",
        ),
        (
            {
                "domain": {
                    "name": "ws.example.com",
                    "certificate_arn": "arn:aws:x",
                    "mapping_key": "a/b",
                }
            },
            "domain.mapping_key",
        ),
        ({"mapping": {"domain_name": "ws.example.com"}}, "mapping.mapping_key"),
        ({"mapping": {"mapping_key": "chat"}}, "mapping.domain_name"),
        (
            {
                "domain": {"name": "ws.example.com", "certificate_arn": "arn:aws:x"},
                "mapping": {"domain_name": "ws.example.com", "mapping_key": "chat"},
            },
            "domain",
        ),
    ],
)
def test_domain_settings(args, path):
    assert path in problems(**args)


@pytest.mark.parametrize(
    ("args", "path"),
    [
        ({"access_log_retention_days": 2}, "access_log_retention_days"),
        ({"functions": {"log_retention_days": 8}}, "functions.log_retention_days"),
        ({"functions": {"runtime": "python3.9"}}, "functions.runtime"),
        ({"functions": {"fanout_concurrency": 0}}, "functions.fanout_concurrency"),
        ({"table": {"point_in_time_recovery": "yes"}}, "table.point_in_time_recovery"),
        ({"data_trace": "no"}, "data_trace"),
        ({"route_selection_expression": "action"}, "route_selection_expression"),
        ({"tags": {"a": 1}}, "tags.a"),
        ({"tags": ["a"]}, "tags"),
        ({"unknown_arg": 1}, "unknown_arg"),
        ({"throttling": {"burst_limit": True}}, "throttling.burst_limit"),
        ({"limits": {"messages_per_second": -1}}, "limits.messages_per_second"),
        ({"limits": {"message_burst": 0}}, "limits.message_burst"),
        ({"limits": {"max_connections_per_user": -1}}, "limits.max_connections_per_user"),
        ({"limits": {"max_rooms_per_connection": 0}}, "limits.max_rooms_per_connection"),
        ({"limits": {"max_rooms_per_connection": 101}}, "limits.max_rooms_per_connection"),
        ({"limits": {"allowed_origins": ["https://x.com/path"]}}, "limits.allowed_origins"),
        ({"limits": {"allowed_origins": ["*"]}}, "limits.allowed_origins"),
        ({"limits": {"burst": 1}}, "limits.burst"),
    ],
)
def test_other_settings(args, path):
    assert path in problems(**args)


@pytest.mark.parametrize("name", ["", "Chat", "1chat", "chat_room", "x" * 25, "chat\n"])
def test_namespace_names(name):
    assert "name" in problems(name)


@pytest.mark.parametrize(
    "section", ["table", "functions", "throttling", "limits", "domain", "mapping", "jwt"]
)
@pytest.mark.parametrize("value", ["yes", 3, ["a"]])
def test_a_section_that_is_not_an_object_is_a_problem(section, value):
    """A non-mapping section is reported by path, never an AttributeError."""
    args = {"jwt": jwt_args(), section: value}
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        resolve("chat", args)
    assert section in {e["property_path"] for e in caught.value.errors or []}


def test_outputs_and_secrets_pass_through_untouched():
    """Values known only at deploy time are never checked, copied or unwrapped."""
    secret = pulumi.Output.secret("short")  # a plain "short" would be refused
    certificate = pulumi.Output.from_input("not-an-arn")
    domain_name = pulumi.Output.from_input("Not A Host")
    resolved = resolve("chat", {"jwt": jwt_args(secret=secret), "domain": {
        "name": "ws.example.com", "certificate_arn": certificate}})  # fmt: skip
    assert resolved.jwt.secret is secret
    assert resolved.domain is not None and resolved.domain["certificate_arn"] is certificate
    shared = resolve("chat", {"jwt": jwt_args(), "mapping": {
        "domain_name": domain_name, "mapping_key": "chat"}})  # fmt: skip
    assert shared.mapping is not None and shared.mapping["domain_name"] is domain_name


def test_an_output_where_a_plain_value_is_needed_is_a_problem():
    """Fields that shape resource names or counts must be known before deployment."""
    assert "stage_name" in problems(stage_name=pulumi.Output.from_input("live"))


def test_resolved_args_mirror_the_nested_structure():
    """Stage throttling and per-connection limits live under their own sections."""
    resolved = resolve("chat", {
        "jwt": jwt_args(),
        "throttling": {"burst_limit": 7, "rate_limit": 3},
        "limits": {"messages_per_second": 2.5, "message_burst": 4},
        "functions": {"memory_mb": 512},
        "table": {"deletion_protection": True},
    })  # fmt: skip
    assert (resolved.throttling.burst_limit, resolved.throttling.rate_limit) == (7, 3.0)
    assert (resolved.limits.messages_per_second, resolved.limits.message_burst) == (2.5, 4)
    assert resolved.functions.memory_mb == 512
    assert resolved.table.deletion_protection is True


def test_route_name_fragments():
    """Extra routes get a resource-name fragment from their key."""
    resolved = resolve("chat", {"jwt": jwt_args(), "routes": {
        "orders.get": {"handler": "a.b", "permissions": ["read", "read"]}}})  # fmt: skip
    route = resolved.routes[-1]
    assert (route.key, route.name_fragment, route.permissions) == (
        "orders.get",
        "orders-get",
        ("read",),
    )
