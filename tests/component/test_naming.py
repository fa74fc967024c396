"""Every name Pulumi derives from a socket's names fits AWS's limits, at the limits too."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from realtime_socket import RealtimeSocket
from realtime_socket.component import naming
from realtime_socket.tools.recording import Recording, evaluate
from tests.support.helpers import jwt_args

NAMESPACE = "n" * naming.MAX_NAMESPACE
LONG_KEYS = ("k" * 128, "k" * 127 + "j", "a.b" + "c" * 125)
HANDLER = "realtime_socket.handlers.ping.handler"
#: AWS's limit on the physical name of each auto-named type (docs/aws-limits.md).
LIMITS = {
    "aws:iam/role:Role": 64,
    "aws:lambda/function:Function": 64,
    "aws:lambda/permission:Permission": 100,  # the statement id
    "aws:iam/rolePolicy:RolePolicy": 128,
}


@pytest.fixture(scope="module")
def longest() -> Recording:
    """A 24-character namespace with three 128-character route keys and a publish grant."""

    def program() -> None:
        routes = {key: {"handler": HANDLER, "reply": True} for key in LONG_KEYS}
        socket = RealtimeSocket(NAMESPACE, {"jwt": jwt_args(), "routes": routes})  # type: ignore[typeddict-item]
        backend = aws.iam.Role("b" * 200, assume_role_policy=json.dumps({"Statement": []}))
        socket.grant_publish(backend)
        pulumi.export("ok", True)

    return evaluate(program, project="realtime-socket", stack="test")


def test_every_auto_named_physical_name_fits_at_the_limits(longest):
    """Role, function, statement id and inline policy names fit with Pulumi's suffix."""
    checked = 0
    for resource in longest.resources:
        limit = LIMITS.get(resource.type)
        if limit is None or resource.name == "b" * 200:
            continue
        assert "name" not in resource.inputs  # auto-named: logical name + "-" + 7 hex
        physical = resource.outputs.get("name", f"{resource.name}-xxxxxxx")
        assert len(physical) == len(resource.name) + naming.AUTONAME_SUFFIX
        assert len(physical) <= limit, (resource.type, physical)
        checked += 1
    # 14 functions (10 built-in, 3 extra, the authorizer) with role, policy and permission,
    # the fan-out worker (no permission: only sendmessage invokes it), the publish grant
    assert checked == 14 * 4 + 3 + 1


def test_long_route_keys_keep_distinct_names(longest):
    """Keys cut to the same prefix still name distinct resources, by their hash."""
    routes = longest.of_type("aws:apigatewayv2/route:Route")
    names = {r.inputs["routeKey"]: r.name for r in routes}
    assert len({names[key] for key in LONG_KEYS}) == len(LONG_KEYS)
    for key in LONG_KEYS:
        fragment = naming.route_fragment(key)
        assert len(fragment) == naming.MAX_FRAGMENT
        assert names[key] == f"{NAMESPACE}-{fragment}-route"


def test_fragment_budget_is_derived_from_the_tightest_limit():
    """The IAM role (64) binds: 64 - 8 suffix - 24 namespace - len("--role") = 26."""
    assert naming.MAX_FRAGMENT == 26


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("$connect", "connect"),
        ("$default", "default"),
        ("sendmessage", "sendmessage"),
        ("orders.get", "orders-get"),
        ("Presence:List_All", "presence-list-all"),
        ("x" * 26, "x" * 26),
    ],
)
def test_short_keys_keep_their_readable_names(key, fragment):
    """Names within the budget are unchanged: no hash, nothing cut."""
    assert naming.route_fragment(key) == fragment


def test_one_character_over_the_budget_is_cut_and_hashed():
    """A 27-character fragment becomes 19 characters, a hyphen and 6 hex digits."""
    fragment = naming.route_fragment("x" * 27)
    assert len(fragment) == 26
    assert fragment.startswith("x" * 19 + "-")
    assert fragment != naming.route_fragment("x" * 28)
