"""This stack's unit tests: Pulumi mocks, no Pulumi CLI and no AWS account."""

import runpy
from pathlib import Path

import pulumi
import pytest

from realtime_socket.testing import Mocks


@pytest.fixture(scope="module")
def mocks() -> Mocks:
    """Run __main__.py once under realtime-socket's mocks."""
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="user-stack", stack="test", preview=False)
    pulumi.runtime.set_all_config({"user-stack:jwtSecret": "a-test-secret-of-32-characters!!"})

    @pulumi.runtime.test
    def run_program() -> None:
        runpy.run_path(str(Path(__file__).with_name("__main__.py")))

    run_program()
    return mocks


def test_chat_has_a_sendmessage_route(mocks: Mocks) -> None:
    assert "sendmessage" in mocks.routes("chat")


def test_chat_functions_run_on_arm64(mocks: Mocks) -> None:
    functions = mocks.functions("chat")
    assert functions
    assert all(f.inputs["architectures"] == ["arm64"] for f in functions.values())


def test_sendmessage_posts_only_to_its_own_api(mocks: Mocks) -> None:
    policy = mocks.policies("chat")["chat-sendmessage-policy"]
    api = mocks.named("chat-api").outputs["executionArn"]
    posts = [s for s in policy["Statement"] if s["Action"] == ["execute-api:ManageConnections"]]
    arns = [arn for statement in posts for arn in statement["Resource"]]
    assert arns
    assert all(arn.startswith(f"{api}/") for arn in arns)
