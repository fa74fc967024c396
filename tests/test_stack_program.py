"""The real __main__.py, run offline with the dev stack's config."""

from __future__ import annotations

import json

import pulumi
import pytest

from realtime_socket.tools.recording import Recording
from tests.support.stack_project import copy_project, run_stack


@pytest.fixture(scope="module")
def dev() -> Recording:
    return run_stack()


def test_dev_stack_has_two_isolated_namespaces(dev):
    sockets = {r.name for r in dev.of_type("realtime-socket:index:RealtimeSocket")}
    assert sockets == {"chat", "telemetry"}
    for kind in (
        "aws:apigatewayv2/api:Api",
        "aws:apigatewayv2/stage:Stage",
        "aws:apigatewayv2/authorizer:Authorizer",
    ):
        assert len(dev.of_type(kind)) == 2
    assert len(dev.of_type("aws:dynamodb/table:Table")) == 2 * 2  # connections, history
    # 12 functions per namespace (10 routes, the authorizer, the fan-out worker) + the
    # account logging role
    assert len(dev.of_type("aws:iam/role:Role")) == 2 * 12 + 1
    names = [r.name for r in dev.resources]
    assert len(names) == len(set(names))


def test_each_namespace_only_touches_its_own_table_and_api(dev):
    for ns, other in (("chat", "telemetry"), ("telemetry", "chat")):
        own_table = dev.named(f"{ns}-connections-table").outputs["arn"]
        other_table = dev.named(f"{other}-connections-table").outputs["arn"]
        other_api = dev.named(f"{other}-api").outputs["executionArn"]
        for policy in dev.of_type("aws:iam/rolePolicy:RolePolicy"):
            if not policy.name.startswith(f"{ns}-"):
                continue
            text = policy.inputs["policy"]
            assert other_table not in text and other_api not in text
            if "dynamodb" in text:
                assert own_table in text


def test_exports_per_namespace(dev):
    assert set(dev.exports) == {"chat", "telemetry"}
    chat = dev.exports["chat"]
    api = dev.named("chat-api")
    assert chat["url"] == f"wss://{api.id}.execute-api.us-east-1.amazonaws.com/live"
    assert chat["management_endpoint"].startswith("https://")
    assert chat["table_name"] == dev.named("chat-connections-table").outputs["name"]
    assert chat["custom_url"] is None


def test_namespace_overrides_and_defaults_from_config(dev):
    chat = dev.named("chat-stage").inputs["defaultRouteSettings"]
    telemetry = dev.named("telemetry-stage").inputs["defaultRouteSettings"]
    assert (chat["throttlingBurstLimit"], chat["throttlingRateLimit"]) == (200, 500)
    assert (telemetry["throttlingBurstLimit"], telemetry["loggingLevel"]) == (1000, "INFO")
    assert dev.named("telemetry-sendmessage-fn").inputs["memorySize"] == 512
    assert dev.named("chat-sendmessage-fn").inputs["memorySize"] == 256
    env = dev.named("chat-authorizer-fn").inputs["environment"]["variables"]
    assert env["JWT_ISSUER"] == "https://auth.example.com/"
    assert env["JWT_CONTEXT_CLAIMS"] == "name"


def test_account_logging_role_is_made_once_and_sockets_wait_for_it(dev):
    (account,) = dev.of_type("aws:apigateway/account:Account")
    role = dev.named("apigateway-account-logging-role")
    assert account.inputs["cloudwatchRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "apigateway.amazonaws.com"}
    policy = json.loads(dev.named("apigateway-account-logging-policy").inputs["policy"])
    for resource in policy["Statement"][0]["Resource"]:
        assert "API-Gateway-Execution-Logs_" in resource
    for socket in dev.of_type("realtime-socket:index:RealtimeSocket"):
        # depending on a component means depending on each of its children
        assert account.urn in socket.dependencies


def test_account_logging_can_be_left_to_someone_else(tmp_path):
    project = copy_project(tmp_path, **{"realtime-socket:manageAccountLogging": False})
    rec = run_stack(project)
    assert not rec.of_type("aws:apigateway/account:Account")


def test_many_namespaces_scale_without_collisions(tmp_path):
    project = copy_project(tmp_path, [{"name": f"ns{i}"} for i in range(8)])
    rec = run_stack(project)
    assert len(rec.of_type("aws:apigatewayv2/api:Api")) == 8
    names = [r.name for r in rec.resources]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("namespaces", "message"),
    [
        ([], "namespaces"),
        ([{"name": "chat"}, {"name": "chat"}], "duplicate namespace"),
        ([{"nome": "chat"}], "must be an object with a name"),
        ([{"name": "Chat"}], "namespaces[0].name"),
    ],
)
def test_bad_namespace_lists_are_refused(tmp_path, namespaces, message):
    project = copy_project(tmp_path, namespaces)
    with pytest.raises(pulumi.InputPropertiesError, match=message.replace("[", r"\[")):
        run_stack(project)


def test_a_bad_namespace_setting_names_the_namespace(tmp_path):
    project = copy_project(tmp_path, [{"name": "chat", "stage_name": "bad stage"}])
    with pytest.raises(pulumi.InputPropertiesError, match=r"'chat'.*\n.*stage_name"):
        run_stack(project)
