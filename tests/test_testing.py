"""``realtime_socket.testing``: the mocks a user's own stack tests run under."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pulumi
import pytest

from realtime_socket import RealtimeSocket
from realtime_socket.component.args import BUILTIN_ROUTES
from realtime_socket.testing import Mocks
from tests.support.helpers import ROOT, jwt_args

REGION, ACCOUNT = "eu-west-1", "111122223333"
#: Two sockets whose names share a prefix, so that attributing by name alone would mix
#: them; chat-eu reads its secret from an existing parameter (the invokes).
CHAT_EU_JWT = {
    **{k: v for k, v in jwt_args().items() if k != "secret"},
    "secret_parameter_name": "/shared/jwt",
}


@pytest.fixture(scope="module")
def mocks() -> Mocks:
    """Two sockets evaluated as a user's test does: ``set_mocks``, ``@pulumi.runtime.test``."""
    mocks = Mocks(region=REGION, account=ACCOUNT)
    # Pulumi's set_mocks needs the thread's current loop; an asyncio.run earlier in this
    # process (another test module) leaves none, as it would in a user's own test run.
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="shop", stack="test", preview=False)

    @pulumi.runtime.test
    def program() -> None:
        RealtimeSocket("chat", {"jwt": jwt_args()})
        RealtimeSocket("chat-eu", {"jwt": CHAT_EU_JWT, "presence": {"events": False}})  # type: ignore[typeddict-item]

    program()
    return mocks


def _one(mocks: Mocks, name: str) -> dict[str, Any]:
    return mocks.named(name).outputs


def test_each_type_gets_an_arn_of_the_shape_aws_gives_it(mocks):
    """Tables, functions, the API, roles, the SSM parameter and log groups, in the mocks'
    Region and account."""
    where = f"{REGION}:{ACCOUNT}"
    table = _one(mocks, "chat-connections-table")
    assert table["arn"] == f"arn:aws:dynamodb:{where}:table/{table['name']}"
    function = _one(mocks, "chat-sendmessage-fn")
    assert function["arn"] == f"arn:aws:lambda:{where}:function:{function['name']}"
    assert function["invokeArn"] == (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function['arn']}"
        "/invocations"
    )
    api = mocks.named("chat-api")
    assert re.fullmatch(r"[0-9a-f]{10}", str(api.id))
    assert api.outputs["apiEndpoint"] == f"wss://{api.id}.execute-api.{REGION}.amazonaws.com"
    assert api.outputs["executionArn"] == f"arn:aws:execute-api:{where}:{api.id}"
    role = _one(mocks, "chat-sendmessage-role")
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT}:role/{role['name']}"
    parameter = _one(mocks, "chat-jwt-secret")
    assert parameter["arn"] == f"arn:aws:ssm:{where}:parameter{parameter['name']}"
    assert parameter["name"].startswith("/realtime-socket/shop/test/chat/")
    logs = _one(mocks, "chat-sendmessage-logs")
    assert logs["arn"] == f"arn:aws:logs:{where}:log-group:{logs['name']}"


def test_the_helpers_keep_two_namespaces_apart(mocks):
    """Every resource belongs to exactly one of the two sockets, and each socket's routes,
    functions and policies name its own resources only."""
    chat, chat_eu = mocks.resources_of("chat"), mocks.resources_of("chat-eu")
    assert len(chat) == len(chat_eu) + 1  # chat's SSM parameter
    assert {r.name for r in chat} | {r.name for r in chat_eu} == {r.name for r in mocks.resources}
    assert all(r.name == "chat-eu" or r.name.startswith("chat-eu-") for r in chat_eu)
    assert not any(r.name.startswith("chat-eu") for r in chat)
    for namespace in ("chat", "chat-eu"):
        assert mocks.routes(namespace) == set(BUILTIN_ROUTES)
        functions = mocks.functions(namespace)
        assert len(functions) == len(BUILTIN_ROUTES) + 2  # the authorizer, the fan-out worker
        assert all(f.type == "aws:lambda/function:Function" for f in functions.values())
        own = tuple(
            t.outputs["arn"] for t in mocks.resources_of(namespace, "aws:dynamodb/table:Table")
        )
        assert len(own) == 2
        policy = mocks.policies(namespace)[f"{namespace}-sendmessage-policy"]
        tables = [
            arn
            for statement in policy["Statement"]
            for arn in statement["Resource"]
            if ":table/" in arn
        ]
        assert tables
        assert all(arn.startswith(own) for arn in tables)
    assert mocks.resources_of("telemetry") == []


def test_the_invokes_are_answered_and_used(mocks):
    """A secret in an existing parameter is granted by an ARN built from the partition,
    Region and account the mocks answer."""
    assert {
        "aws:index/getPartition:getPartition",
        "aws:index/getRegion:getRegion",
        "aws:index/getCallerIdentity:getCallerIdentity",
    } <= set(mocks.calls)
    policy = mocks.policies("chat-eu")["chat-eu-authorizer-policy"]
    (ssm,) = [s for s in policy["Statement"] if s["Action"] == ["ssm:GetParameter"]]
    assert ssm["Resource"] == [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/shared/jwt"]


def test_named_refuses_an_ambiguous_or_missing_name(mocks):
    with pytest.raises(KeyError, match="0 resources"):
        mocks.named("no-such-resource")


def test_the_readme_example_is_the_example_projects_test_file():
    """README "Testing your stack" shows examples/user-stack/test_stack.py, which CI runs
    against the installed wheel (make user-test): the shown code is code that passes."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Testing your stack\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert block == (ROOT / "examples" / "user-stack" / "test_stack.py").read_text()
